//! Documents as bytes: Markdown, CSV and JSON. A rendering adds nothing to what the domain's
//! document says (`domain::document`); each names the organisation, the revision, its valid
//! time and the digest of its manifest, so that a copy can be matched to what Check enforced.

use crate::domain::{
    document::{Block, Document, Table},
    spelled,
};

/// The formats a document renders in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
    Json,
}

spelled!(Format {
    Markdown => "markdown",
    Csv => "csv",
    Json => "json",
});

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

pub fn render(document: &Document, format: Format) -> Vec<u8> {
    match format {
        Format::Markdown => markdown(document).into_bytes(),
        Format::Csv => csv(document),
        Format::Json => serde_json::to_vec_pretty(document).unwrap_or_default(),
    }
}

fn stamp_line(document: &Document) -> String {
    let stamp = &document.stamp;
    format!(
        "{} ({}), registry revision {}, in force from {}, applied {}, manifest SHA-256 {}",
        stamp.legal_name,
        stamp.organisation,
        stamp.revision,
        stamp.effective_from,
        stamp.applied_at,
        stamp.manifest_sha256
    )
}

/// A table cell in Markdown: one line, its pipes escaped.
fn markdown_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn markdown(document: &Document) -> String {
    let mut out = format!("# {}\n\n_{}_\n", document.title, stamp_line(document));
    for section in &document.sections {
        if let Some(heading) = &section.heading {
            out.push_str(&format!("\n## {heading}\n"));
        }
        for block in &section.blocks {
            out.push('\n');
            match block {
                Block::Paragraph(line) => out.push_str(&format!("{}\n", line.text)),
                Block::Table(table) => markdown_table(&mut out, table),
            }
        }
    }
    out
}

fn markdown_table(out: &mut String, table: &Table) {
    let header: Vec<String> = table.columns.iter().map(|c| markdown_cell(c)).collect();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in &table.rows {
        let cells: Vec<String> = row.cells.iter().map(|c| markdown_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
}

/// Every table of the document, one after the other, each row with the clause it came from;
/// the first record names the document.
fn csv(document: &Document) -> Vec<u8> {
    let mut writer = ::csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    // Writing into memory fails only if a record cannot be encoded, which text cannot.
    let _ = writer.write_record([document.title.as_str(), stamp_line(document).as_str()]);
    for section in &document.sections {
        for block in &section.blocks {
            if let Block::Table(table) = block {
                let _ =
                    writer.write_record(table.columns.iter().chain(["source".to_owned()].iter()));
                for row in &table.rows {
                    let _ =
                        writer.write_record(row.cells.iter().chain([row.source.clone()].iter()));
                }
            }
        }
    }
    writer.into_inner().unwrap_or_default()
}
