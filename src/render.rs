//! Documents as bytes: Markdown, self-contained print-ready HTML, CSV and JSON. A rendering adds nothing to what the domain's
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
    Html,
    Csv,
    Json,
    /// Linked data with W3C DPV and eu-gdpr terms: the record of processing only, written
    /// from the registry itself (`domain::document::record_linked_data`).
    JsonLd,
}

spelled!(Format {
    Markdown => "markdown",
    Html => "html",
    Csv => "csv",
    Json => "json",
    JsonLd => "json_ld",
});

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::JsonLd => "application/ld+json",
        }
    }
}

pub fn render(document: &Document, format: Format) -> Vec<u8> {
    match format {
        Format::Markdown => markdown(document).into_bytes(),
        Format::Html => html(document).into_bytes(),
        Format::Csv => csv(document),
        // The linked data is written from the registry, not from a document.
        Format::Json | Format::JsonLd => serde_json::to_vec_pretty(document).unwrap_or_default(),
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

/// Text in Markdown: its HTML escaped, since Markdown passes HTML through to the page.
fn markdown_text(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// A table cell in Markdown: one line, its HTML and pipes escaped.
fn markdown_cell(text: &str) -> String {
    markdown_text(&text.split_whitespace().collect::<Vec<_>>().join(" ")).replace('|', "\\|")
}

fn markdown(document: &Document) -> String {
    let mut out = format!(
        "# {}\n\n_{}_\n",
        markdown_text(&document.title),
        markdown_text(&stamp_line(document))
    );
    for section in &document.sections {
        if let Some(heading) = &section.heading {
            out.push_str(&format!("\n## {}\n", markdown_text(heading)));
        }
        for block in &section.blocks {
            out.push('\n');
            match block {
                Block::Paragraph(line) => {
                    out.push_str(&format!("{}\n", markdown_text(&line.text)));
                }
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

/// Print styles: A4, the tables whole on the page where they fit, each row's source small
/// under it. No script, no external resource: the file is the document.
const PRINT_STYLE: &str = "\
@page { size: A4; margin: 18mm 15mm; }
body { font: 10pt/1.4 system-ui, sans-serif; color: #111; max-width: 60rem; margin: 2rem auto; }
h1 { font-size: 16pt; margin: 0 0 .3rem; }
h2 { font-size: 12pt; margin: 1.4rem 0 .4rem; }
.stamp { font-size: 8pt; color: #555; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: .3rem .4rem; vertical-align: top; text-align: left; }
th { background: #eee; }
tr { break-inside: avoid; }
.source { display: block; font-size: 7pt; color: #666; margin-top: .2rem; }
@media print { body { margin: 0; max-width: none; } }";

fn html(document: &Document) -> String {
    use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};
    let language = document
        .language
        .map(|language| language.to_string())
        .unwrap_or_else(|| "und".to_owned());
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{PRINT_STYLE}\n</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<p class=\"stamp\">{}</p>\n</header>\n",
        attribute(&language),
        text(&document.title),
        text(&document.title),
        text(&stamp_line(document))
    );
    for section in &document.sections {
        out.push_str("<section>\n");
        if let Some(heading) = &section.heading {
            out.push_str(&format!("<h2>{}</h2>\n", text(heading)));
        }
        for block in &section.blocks {
            match block {
                Block::Paragraph(line) => out.push_str(&format!(
                    "<p data-source=\"{}\">{}</p>\n",
                    attribute(&line.source),
                    text(&line.text)
                )),
                Block::Table(table) => {
                    out.push_str("<table>\n<thead>\n<tr>");
                    for column in &table.columns {
                        out.push_str(&format!("<th scope=\"col\">{}</th>", text(column)));
                    }
                    out.push_str("</tr>\n</thead>\n<tbody>\n");
                    for row in &table.rows {
                        out.push_str(&format!("<tr data-source=\"{}\">", attribute(&row.source)));
                        let last = row.cells.len().saturating_sub(1);
                        for (index, cell) in row.cells.iter().enumerate() {
                            // The row's source, printed small in its last cell.
                            let source = if index == last {
                                format!("<span class=\"source\">{}</span>", text(&row.source))
                            } else {
                                String::new()
                            };
                            out.push_str(&format!("<td>{}{source}</td>", text(cell)));
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::document::{Line, Row, Section, Stamp};

    #[test]
    fn html_escapes_every_text_it_writes() {
        let hostile = "<script>alert(1)</script> & \"quoted\"";
        let document = Document {
            kind: "subprocessor_list",
            title: hostile.to_owned(),
            language: None,
            stamp: Stamp {
                organisation: "shop".into(),
                legal_name: hostile.to_owned(),
                revision: 1,
                applied_at: jiff::Timestamp::UNIX_EPOCH,
                effective_from: jiff::Timestamp::UNIX_EPOCH,
                manifest_sha256: "0".repeat(64),
            },
            sections: vec![Section {
                heading: Some(hostile.to_owned()),
                blocks: vec![
                    Block::Paragraph(Line {
                        text: hostile.to_owned(),
                        source: hostile.to_owned(),
                    }),
                    Block::Table(Table {
                        columns: vec![hostile.to_owned()],
                        rows: vec![Row {
                            cells: vec![hostile.to_owned()],
                            source: hostile.to_owned(),
                        }],
                    }),
                ],
            }],
        };
        let html = String::from_utf8(render(&document, Format::Html)).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"),
            "{html}"
        );
        assert!(html.contains("data-source=\"&lt;script&gt;"), "{html}");
        // Markdown passes HTML through: it is escaped there too, and a cell stays one cell.
        let markdown = String::from_utf8(render(&document, Format::Markdown)).unwrap();
        assert!(!markdown.contains("<script>"), "{markdown}");
        assert!(
            markdown.contains("| &lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quoted\" |"),
            "{markdown}"
        );
    }
}
