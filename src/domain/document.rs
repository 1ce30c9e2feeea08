//! The organisation's accountability documents as the registry writes them: a document is
//! sections of paragraphs and tables, built from one compiled revision in one language, and
//! every line carries the `source` clause it came from. Rendering it as Markdown, CSV or
//! JSON is the renderers' (`crate::render`); what a document says is decided here.

use jiff::Timestamp;
use serde::Serialize;

use super::{
    Spelling,
    decision::TransferMechanism,
    engine::{CompiledPolicy, RevisionInfo},
    geo,
    policy::{
        ColumnField, DocumentKind, DocumentLayout, LegalBasis, Mechanism, OrganisationRole,
        Purpose, Recipient, RecipientKind, Registry, RowPart, SpecialCondition,
    },
    taxonomy::Sensitivity,
    text::{Language, Localised},
};

/// Which document to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The processors and subprocessors, in the organisation's own layout (Art. 28(2),(4)).
    SubprocessorList,
    /// The record of processing activities: Art. 30(1) for a controller, 30(2) for a
    /// processor, one row per processing activity in the order of the CNIL's model register.
    ProcessingRecord,
}

spelled!(Kind {
    SubprocessorList => "subprocessor_list",
    ProcessingRecord => "processing_record",
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

/// Writes `kind` from a compiled revision, in `language` (each text falling back to the
/// organisation's default).
pub fn write(kind: Kind, policy: &CompiledPolicy, language: Option<Language>) -> Document {
    match kind {
        Kind::SubprocessorList => subprocessor_list(policy.registry(), policy.info(), language),
        Kind::ProcessingRecord => processing_record(policy, language),
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
            .map(|safeguard| mechanism(safeguard.mechanism))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn paragraph(text: String, source: &str) -> Block {
    Block::Paragraph(Line {
        text,
        source: source.to_owned(),
    })
}

/// The record of processing activities. The organisation's part first (Art. 30(1)(a) or
/// 30(2)(a)): who it is, its DPO, its joint controllers or the controllers it acts for, its
/// lead supervisory authority; then one row per purpose in the columns of the CNIL's model
/// register (activity, purpose, basis, subjects, data, special categories, recipients,
/// transfers, retention); then the security measures (Art. 30(1)(g), 30(2)(d)).
fn processing_record(policy: &CompiledPolicy, language: Option<Language>) -> Document {
    let (registry, info) = (policy.registry(), policy.info());
    let shown = |text: &Localised| text.in_language(language).to_owned();
    let organisation = &registry.organisation;
    let processor = organisation.role == OrganisationRole::Processor;
    let article = if processor {
        "Art. 30(2)"
    } else {
        "Art. 30(1)"
    };
    let role = if processor { "processor" } else { "controller" };

    let registration = organisation
        .registration_number
        .as_ref()
        .map(|number| format!(", registration number {number}"))
        .unwrap_or_default();
    let address = organisation
        .accountability
        .address
        .as_ref()
        .map(|address| format!(", {address}"))
        .unwrap_or_default();
    let mut identity = vec![paragraph(
        format!("{role}: {}{registration}{address}", organisation.legal_name),
        &organisation.source,
    )];
    if let Some(dpo) = &organisation.dpo {
        let contact: Vec<&str> = [&dpo.name, &dpo.email, &dpo.phone, &dpo.address]
            .into_iter()
            .filter_map(|part| part.as_deref())
            .collect();
        identity.push(paragraph(
            format!("data protection officer: {}", contact.join(", ")),
            &organisation.source,
        ));
    }
    for joint in registry
        .recipients
        .iter()
        .filter(|recipient| recipient.kind == RecipientKind::JointController)
    {
        let essence = joint
            .arrangement
            .as_ref()
            .map(|arrangement| format!(" ({})", shown(&arrangement.essence)))
            .unwrap_or_default();
        identity.push(paragraph(
            format!("joint controller: {}{essence}", shown(&joint.name)),
            &joint.source,
        ));
    }
    for served in &organisation.accountability.controllers {
        let who = served
            .name
            .clone()
            .or_else(|| served.category.as_ref().map(&shown))
            .unwrap_or_default();
        let agreement = served
            .agreement
            .as_ref()
            .map(|agreement| format!("; agreement: {agreement}"))
            .unwrap_or_default();
        identity.push(paragraph(
            format!("acts as processor for: {who}{agreement}"),
            &served.source,
        ));
    }
    match (
        &organisation.accountability.supervisory_authority,
        geo::supervisory_authority(organisation.country),
    ) {
        (Some(named), _) => identity.push(paragraph(
            format!("lead supervisory authority: {}", named.name),
            &named.source,
        )),
        (None, Some(built_in)) => identity.push(paragraph(
            format!(
                "lead supervisory authority: {} ({})",
                built_in.name, built_in.website
            ),
            "purposed's table of the EEA's supervisory authorities",
        )),
        (None, None) => {}
    }

    let day = info
        .effective_from
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let rows = registry
        .purposes
        .iter()
        .map(|purpose| Row {
            cells: vec![
                shown(&purpose.name),
                purpose.id.clone(),
                purpose.description.as_ref().map(&shown).unwrap_or_default(),
                basis(purpose, &shown),
                purpose.data_subjects.join(", "),
                categories(policy, purpose, false, &shown),
                categories(policy, purpose, true, &shown),
                recipients(registry, purpose, &shown),
                transfers(policy, purpose, day),
                retention(purpose, &shown),
            ],
            source: purpose.source.clone(),
        })
        .collect();

    let measures: Vec<Block> = organisation
        .accountability
        .security_measures
        .iter()
        .map(|measure| paragraph(shown(&measure.text), &measure.source))
        .collect();
    let mut sections = vec![
        Section {
            heading: Some(format!("{article}(a): the {role}")),
            blocks: identity,
        },
        Section {
            heading: Some("processing activities".to_owned()),
            blocks: vec![Block::Table(Table {
                columns: RECORD_COLUMNS.map(str::to_owned).to_vec(),
                rows,
            })],
        },
        Section {
            heading: Some(format!(
                "{article}({}): security measures (Art. 32)",
                if processor { "d" } else { "g" }
            )),
            blocks: if measures.is_empty() {
                vec![paragraph(
                    "no technical or organisational measure is stated".to_owned(),
                    &organisation.source,
                )]
            } else {
                measures
            },
        },
    ];
    if let Some(reviewed) = organisation.accountability.reviewed_on {
        sections.push(Section {
            heading: None,
            blocks: vec![paragraph(
                format!("Last reviewed: {reviewed}"),
                &organisation.source,
            )],
        });
    }
    Document {
        kind: Kind::ProcessingRecord.as_str(),
        title: format!(
            "Record of processing activities ({article}) of {}",
            organisation.legal_name
        ),
        language: language.filter(|_| organisation.language.is_some()),
        stamp: stamp(registry, info),
        sections,
    }
}

/// The columns of the record, in the order of the CNIL's model register.
const RECORD_COLUMNS: [&str; 10] = [
    "Processing activity",
    "Reference",
    "Purpose",
    "Legal basis",
    "Categories of data subjects",
    "Categories of personal data",
    "Special categories (Art. 9, 10)",
    "Recipients",
    "Transfers outside the EEA and their safeguards",
    "Erasure time limits",
];

fn basis(purpose: &Purpose, shown: &impl Fn(&Localised) -> String) -> String {
    let Some(basis) = purpose.legal_basis else {
        return "none stated".to_owned();
    };
    let mut text = format!("{} ({})", basis.describe(), basis.article());
    if let Some(qualifier) = &purpose.legal_basis_qualifier {
        text.push_str(&format!("; \"{}\"", shown(qualifier)));
    }
    if let Some(interest) = &purpose.legitimate_interest {
        text.push_str(&format!("; interest pursued: {interest}"));
    }
    if basis == LegalBasis::LegitimateInterests {
        text.push_str(&match &purpose.balancing_test {
            Some(test) => format!("; balancing test: {test}"),
            None => "; no balancing test recorded".to_owned(),
        });
    }
    if let Some(unless) = &purpose.consent_unless {
        text.push_str(&format!(
            "; the subject's consent unless {}",
            unless.condition.description
        ));
    }
    text
}

/// The purpose's categories by name: the ordinary ones, or the special and criminal ones
/// with what lifts the prohibition. Sensitivity is the compiled one, which a category
/// inherits from its ancestors.
fn categories(
    policy: &CompiledPolicy,
    purpose: &Purpose,
    special: bool,
    shown: &impl Fn(&Localised) -> String,
) -> String {
    let mut named = Vec::new();
    for key in &purpose.categories {
        let Some(node) = policy.category(key) else {
            continue;
        };
        if (node.sensitivity != Sensitivity::Ordinary) != special {
            continue;
        }
        // The organisation's own categories have names by language; the taxonomy's, one.
        let own = policy
            .registry()
            .categories
            .iter()
            .find(|own| own.key == *key);
        named.push(own.map_or_else(|| node.name.to_string(), |own| shown(&own.name)));
    }
    if !special || named.is_empty() {
        return named.join(", ");
    }
    let condition = match (
        &purpose.special_condition,
        &purpose.criminal_data_authorisation,
    ) {
        (Some(condition), _) => format!(" (Art. {})", condition.point()),
        (None, Some(law)) => format!(" ({law})"),
        (None, None) => " (no condition stated)".to_owned(),
    };
    format!("{}{condition}", named.join(", "))
}

fn recipients(
    registry: &Registry,
    purpose: &Purpose,
    shown: &impl Fn(&Localised) -> String,
) -> String {
    purpose
        .engagements
        .iter()
        .filter_map(|engagement| registry.recipient(&engagement.recipient))
        .map(|recipient| {
            format!(
                "{} ({})",
                shown(&recipient.name),
                recipient.kind.as_str().replace('_', " ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each location outside the EEA the purpose's recipients reach, with what covers it on the
/// revision's first day, as Check judges it.
fn transfers(policy: &CompiledPolicy, purpose: &Purpose, day: jiff::civil::Date) -> String {
    let found: Vec<String> = purpose
        .engagements
        .iter()
        .flat_map(|engagement| policy.transfers_outside_eea(&engagement.recipient, day))
        .map(|transfer| {
            format!(
                "{} in {}: {}",
                transfer.recipient,
                transfer.territory,
                transfer.mechanism.detail()
            )
        })
        .collect();
    if found.is_empty() {
        "none".to_owned()
    } else {
        found.join("; ")
    }
}

fn retention(purpose: &Purpose, shown: &impl Fn(&Localised) -> String) -> String {
    if purpose.retention.is_empty() {
        return "not stated".to_owned();
    }
    purpose
        .retention
        .iter()
        .map(|rule| {
            let period = if rule.period.is_zero() {
                format!("upon {}", rule.from.describe())
            } else {
                format!("{} from {}", rule.period, rule.from.describe())
            };
            match &rule.description {
                Some(description) => format!("{period} ({})", shown(description)),
                None => period,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn mechanism(mechanism: Mechanism) -> String {
    match mechanism {
        Mechanism::Scc { module } => format!("SCC module {module}"),
        Mechanism::Bcr => "BCR".to_owned(),
        Mechanism::CodeOfConduct => "code of conduct".to_owned(),
        Mechanism::Certification => "certification".to_owned(),
        Mechanism::Dpf => "EU-US Data Privacy Framework".to_owned(),
    }
}

/// The record of processing activities as linked data: each purpose a
/// `dpv:PersonalDataHandling` with its purpose, legal basis (`eu-gdpr:A6-1-b` ...), Art. 9(2)
/// condition, personal data (the taxonomy's DPV terms), data subjects, recipients, and each
/// transfer outside the EEA with its mechanism (`eu-gdpr:A45-3`, `eu-gdpr:A46-2-c` ...).
pub fn record_linked_data(policy: &CompiledPolicy) -> serde_json::Value {
    use serde_json::json;
    let (registry, info) = (policy.registry(), policy.info());
    let organisation = &registry.organisation;
    let base = format!("urn:purposed:{}:revision:{}", organisation.id, info.number);
    let term = |key: &str| -> String {
        policy
            .category(key)
            .and_then(|node| node.dpv.as_deref())
            .unwrap_or("dpv:PersonalData")
            .to_owned()
    };
    let day = info
        .effective_from
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let activities: Vec<serde_json::Value> = registry
        .purposes
        .iter()
        .map(|purpose| {
            let mut node = json!({
                "@id": format!("{base}#{}", purpose.id),
                "@type": "dpv:PersonalDataHandling",
                "dct:title": purpose.name.text(),
                "dct:source": purpose.source,
                "dpv:hasPurpose": {
                    "@type": "dpv:Purpose",
                    "dct:description": purpose
                        .description
                        .as_ref()
                        .map_or(purpose.name.text(), Localised::text),
                },
                "dpv:hasPersonalData": purpose
                    .categories
                    .iter()
                    .map(|key| json!({"@id": term(key), "dct:identifier": key}))
                    .collect::<Vec<_>>(),
                "dpv:hasDataSubject": purpose
                    .data_subjects
                    .iter()
                    .map(|subject| json!({"@type": "dpv:DataSubject", "dct:title": subject}))
                    .collect::<Vec<_>>(),
                "dpv:hasRecipient": purpose
                    .engagements
                    .iter()
                    .filter_map(|engagement| registry.recipient(&engagement.recipient))
                    .map(|recipient| json!({
                        "@id": format!("{base}#recipient-{}", recipient.id),
                        "@type": if recipient.kind.is_processor() { "dpv:DataProcessor" } else { "dpv:DataController" },
                        "dct:title": recipient.name.text(),
                    }))
                    .collect::<Vec<_>>(),
            });
            if let Some(basis) = purpose.legal_basis {
                node["dpv:hasLegalBasis"] = json!({ "@id": basis_iri(basis) });
            }
            if let Some(condition) = purpose.special_condition {
                node["dpv:hasSpecialCategoryCondition"] = json!({
                    "@id": match condition {
                        SpecialCondition::Controller => "dpv:LegalBasis".to_owned(),
                        other => format!("eu-gdpr:A{}", other.point().replace(['(', ')'], "-").replace("--", "-").trim_end_matches('-')),
                    }
                });
            }
            let transfers: Vec<serde_json::Value> = purpose
                .engagements
                .iter()
                .flat_map(|engagement| policy.transfers_outside_eea(&engagement.recipient, day))
                .map(|transfer| {
                    let bases: Vec<serde_json::Value> = transfer_iri(&transfer.mechanism)
                        .map(|iri| json!({ "@id": iri }))
                        .into_iter()
                        .collect();
                    json!({
                        "@type": "dpv:DataTransfer",
                        "dpv:hasRecipient": { "@id": format!("{base}#recipient-{}", transfer.recipient) },
                        "dpv:hasCountry": { "@id": format!("loc:{}", transfer.territory) },
                        "dpv:hasLegalBasis": bases,
                    })
                })
                .collect();
            if !transfers.is_empty() {
                node["dpv:hasDataTransfer"] = json!(transfers);
            }
            node
        })
        .collect();
    json!({
        "@context": {
            "dpv": "https://w3id.org/dpv#",
            "pd": "https://w3id.org/dpv/pd#",
            "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
            "loc": "https://w3id.org/dpv/loc#",
            "dct": "http://purl.org/dc/terms/",
        },
        "@id": base,
        // DPV has no class for a record of processing (its dpv:Record is the operation of
        // recording): the record is a collection of the activities.
        "@type": "dct:Collection",
        "dct:title": format!("Record of processing activities of {}", organisation.legal_name),
        "dct:creator": organisation.legal_name,
        "dct:valid": info.effective_from.to_string(),
        "dct:issued": info.applied_at.to_string(),
        "dct:identifier": info.manifest_sha256,
        "dct:hasPart": activities,
    })
}

fn basis_iri(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Consent => "eu-gdpr:A6-1-a",
        LegalBasis::Contract => "eu-gdpr:A6-1-b",
        LegalBasis::LegalObligation => "eu-gdpr:A6-1-c",
        LegalBasis::VitalInterests => "eu-gdpr:A6-1-d",
        LegalBasis::PublicTask => "eu-gdpr:A6-1-e",
        LegalBasis::LegitimateInterests => "eu-gdpr:A6-1-f",
        LegalBasis::ControllerInstructions => "eu-gdpr:A28-3-a",
    }
}

/// The article a transfer rests on, as an eu-gdpr term; `None` when nothing covers it.
fn transfer_iri(mechanism: &TransferMechanism) -> Option<&'static str> {
    match mechanism {
        // The DPF's certification counts under the US adequacy decision.
        TransferMechanism::Adequacy(_) | TransferMechanism::Dpf => Some("eu-gdpr:A45-3"),
        TransferMechanism::Scc { .. } => Some("eu-gdpr:A46-2-c"),
        TransferMechanism::Bcr { .. } => Some("eu-gdpr:A46-2-b"),
        TransferMechanism::CodeOfConduct { .. } => Some("eu-gdpr:A46-2-e"),
        TransferMechanism::Certification { .. } => Some("eu-gdpr:A46-2-f"),
        TransferMechanism::WithinEea | TransferMechanism::None => None,
    }
}
