//! The organisation's accountability documents as the registry writes them: a document is
//! sections of paragraphs and tables, built from one compiled revision in one language, and
//! every line carries the `source` clause it came from. Rendering it as Markdown, CSV or
//! JSON is the renderers' (`crate::render`); what a document says is decided here.

use jiff::Timestamp;
use serde::Serialize;

use super::{
    Spelling,
    engine::RevisionInfo,
    policy::{ColumnField, DocumentKind, DocumentLayout, Mechanism, Recipient, Registry, RowPart},
    text::{Language, Localised},
};

/// Which document to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The processors and subprocessors, in the organisation's own layout (Art. 28(2),(4)).
    SubprocessorList,
}

spelled!(Kind {
    SubprocessorList => "subprocessor_list",
});

/// A written document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Document {
    pub kind: &'static str,
    pub title: String,
    /// The language its texts are in; `None` where the registry states no language.
    pub language: Option<Language>,
    pub stamp: Stamp,
    pub sections: Vec<Section>,
}

/// What a copy of the document is matched to Check with: the organisation, the revision,
/// its two times and the digest of its manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stamp {
    pub organisation: String,
    pub legal_name: String,
    pub revision: u64,
    pub applied_at: Timestamp,
    pub effective_from: Timestamp,
    pub manifest_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    pub heading: Option<String>,
    pub blocks: Vec<Block>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Paragraph(Line),
    Table(Table),
}

/// A line of text and the clause it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub text: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

/// A table row: its cells in the columns' order, and the clause it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub cells: Vec<String>,
    pub source: String,
}

/// Writes `kind` from a revision's registry, in `language` (each text falling back to the
/// organisation's default).
pub fn write(
    kind: Kind,
    registry: &Registry,
    info: &RevisionInfo,
    language: Option<Language>,
) -> Document {
    match kind {
        Kind::SubprocessorList => subprocessor_list(registry, info, language),
    }
}

fn stamp(registry: &Registry, info: &RevisionInfo) -> Stamp {
    Stamp {
        organisation: registry.organisation.id.clone(),
        legal_name: registry.organisation.legal_name.clone(),
        revision: info.number,
        applied_at: info.applied_at,
        effective_from: info.effective_from,
        manifest_sha256: info.manifest_sha256.clone(),
    }
}

/// The columns a list without a layout of its own shows.
const DEFAULT_COLUMNS: [(ColumnField, &str); 6] = [
    (ColumnField::Number, "No."),
    (ColumnField::Name, "Name"),
    (ColumnField::Description, "Description of processing"),
    (ColumnField::DataProcessed, "Data processed"),
    (ColumnField::Locations, "Locations"),
    (ColumnField::Safeguards, "Safeguards"),
];

fn subprocessor_list(
    registry: &Registry,
    info: &RevisionInfo,
    language: Option<Language>,
) -> Document {
    let shown = |text: &Localised| text.in_language(language).to_owned();
    let layout: Option<&DocumentLayout> = registry
        .documents
        .iter()
        .find(|layout| layout.kind == DocumentKind::SubprocessorList);
    let columns: Vec<(ColumnField, String)> = match layout {
        Some(layout) if !layout.columns.is_empty() => layout
            .columns
            .iter()
            .map(|column| (column.field, shown(&column.heading)))
            .collect(),
        _ => DEFAULT_COLUMNS
            .iter()
            .map(|(field, heading)| (*field, (*heading).to_owned()))
            .collect(),
    };
    let is_listed = |recipient: &&Recipient| recipient.kind.is_processor();

    // The rows in the layout's order; without a layout, every processor by id.
    let mut text = Vec::new();
    let mut listed: Vec<(String, &Recipient)> = Vec::new();
    match layout {
        Some(layout) => {
            for row in &layout.rows {
                let recipient = row
                    .recipients
                    .iter()
                    .filter_map(|id| registry.recipient(id))
                    .find(is_listed);
                match (row.part, recipient) {
                    (RowPart::Table, Some(recipient)) => {
                        listed.push((row.label.clone(), recipient));
                    }
                    _ => {
                        let heading = row.heading.as_ref().map(&shown).unwrap_or_default();
                        text.push(Block::Paragraph(Line {
                            text: format!("{} {heading}", row.label).trim().to_owned(),
                            source: layout.source.clone(),
                        }));
                    }
                }
            }
        }
        None => {
            for (number, recipient) in registry.recipients.iter().filter(is_listed).enumerate() {
                listed.push(((number + 1).to_string(), recipient));
            }
        }
    }

    let rows = listed
        .iter()
        .map(|(label, recipient)| Row {
            cells: columns
                .iter()
                .map(|(field, _)| cell(*field, label, recipient, &shown))
                .collect(),
            source: recipient.source.clone(),
        })
        .collect();
    let mut sections = Vec::new();
    if !text.is_empty() {
        sections.push(Section {
            heading: None,
            blocks: text,
        });
    }
    sections.push(Section {
        heading: None,
        blocks: vec![Block::Table(Table {
            columns: columns.into_iter().map(|(_, heading)| heading).collect(),
            rows,
        })],
    });
    if let Some(reviewed) = registry.organisation.accountability.reviewed_on {
        sections.push(Section {
            heading: None,
            blocks: vec![Block::Paragraph(Line {
                text: format!("Last reviewed: {reviewed}"),
                source: registry.organisation.source.clone(),
            })],
        });
    }
    Document {
        kind: Kind::SubprocessorList.as_str(),
        title: layout.map_or_else(
            || format!("Subprocessors of {}", registry.organisation.legal_name),
            |layout| shown(&layout.title),
        ),
        language: language.filter(|_| registry.organisation.language.is_some()),
        stamp: stamp(registry, info),
        sections,
    }
}

fn cell(
    field: ColumnField,
    label: &str,
    recipient: &Recipient,
    shown: &impl Fn(&Localised) -> String,
) -> String {
    let optional = |text: &Option<Localised>| text.as_ref().map(shown).unwrap_or_default();
    match field {
        ColumnField::Number => label.to_owned(),
        ColumnField::Name => shown(&recipient.name),
        ColumnField::RegistrationNumber => {
            recipient.registration_number.clone().unwrap_or_default()
        }
        ColumnField::Address => recipient.address.clone().unwrap_or_default(),
        ColumnField::Description => optional(&recipient.description),
        ColumnField::DataProcessed => optional(&recipient.data_processed),
        ColumnField::Locations => recipient
            .locations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        ColumnField::Safeguards => recipient
            .safeguards
            .iter()
            .map(|safeguard| match safeguard.mechanism {
                Mechanism::Scc { module } => format!("SCC module {module}"),
                Mechanism::Bcr => "BCR".to_owned(),
                Mechanism::CodeOfConduct => "code of conduct".to_owned(),
                Mechanism::Certification => "certification".to_owned(),
                Mechanism::Dpf => "EU-US Data Privacy Framework".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}
