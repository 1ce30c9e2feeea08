//! Documents written from the registry, compared with the seed documents' own rows: the
//! subprocessor lists of Peero (Latvian and English) and Capturi (Norwegian).

use purposed::proto::{
    DocumentFormat, DocumentKind, GetRevisionRequest, RenderDocumentRequest, RenderDocumentResponse,
};
use serde_json::Value;
use tonic::Code;

use crate::{
    seeds::{folded, seed_text},
    support::{TestApp, spawn_demo},
};

async fn render(
    app: &TestApp,
    organisation: &str,
    kind: DocumentKind,
    language: &str,
    format: DocumentFormat,
) -> RenderDocumentResponse {
    app.documents()
        .render_document(RenderDocumentRequest {
            organisation: organisation.into(),
            kind: kind.into(),
            language: language.into(),
            format: format.into(),
            ..Default::default()
        })
        .await
        .expect("render")
        .into_inner()
}

/// The rows of the JSON rendering's table: its columns and each row's cells.
fn table(rendered: &RenderDocumentResponse) -> (Vec<String>, Vec<Vec<String>>) {
    let document: Value = serde_json::from_slice(&rendered.content).expect("JSON");
    let table = document["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|section| section["blocks"].as_array().cloned().unwrap_or_default())
        .find(|block| block["type"] == "table")
        .expect("a table");
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .expect("an array")
            .iter()
            .map(|cell| cell.as_str().expect("text").to_owned())
            .collect()
    };
    let columns = strings(&table["columns"]);
    let rows = table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| strings(&row["cells"]))
        .collect();
    (columns, rows)
}

/// The tab-separated table of one language's part of seed 000: its header and rows. The
/// part starts at the last use of its heading (the table of contents may use it first).
fn peero_seed_table(heading: &str, end: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let seed = seed_text("000");
    let start = seed.rfind(heading).expect("the part");
    let part = &seed[start..];
    let part = &part[..part.find(end).expect("the part's end")];
    let mut lines = part
        .lines()
        .filter(|line| line.matches('\t').count() == 3)
        .map(|line| line.split('\t').map(str::to_owned).collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    (header, lines.collect())
}

#[tokio::test]
async fn peeros_list_is_written_in_its_own_layout_in_latvian_and_english() {
    let app = spawn_demo().await;
    for (language, heading, end) in [
        // The contents line spells it "APAKŠAPSTRĀDĀJI"; the part's own heading does not.
        ("lv", "PEERO DATU APAKŠAPSTRĀDĀTĀJI (LV)", "Pēdējo reizi"),
        ("en", "PEERO DATA SUBPROCESSORS (EN)", "Latest updates"),
    ] {
        let (seed_columns, seed_rows) = peero_seed_table(heading, end);
        assert_eq!(seed_rows.len(), 6, "{language}: the seed's six rows");
        let rendered = render(
            &app,
            "peero",
            DocumentKind::SubprocessorList,
            language,
            DocumentFormat::Json,
        )
        .await;
        let (columns, rows) = table(&rendered);
        assert_eq!(
            columns, seed_columns,
            "{language}: the columns as the list prints them"
        );
        assert_eq!(
            rows.len(),
            seed_rows.len(),
            "{language}: one row per subprocessor"
        );
        for (row, seed) in rows.iter().zip(&seed_rows) {
            // Name and data text as printed, in the list's order.
            assert_eq!(row[1], seed[1], "{language}: the name");
            assert_eq!(row[3], seed[3], "{language}: the data of {}", seed[1]);
            // The basis as the manifest quotes it, from the row's own text.
            assert!(
                folded(&seed[2]).contains(&folded(&row[2])),
                "{language}: {:?} is not in {:?}",
                row[2],
                seed[2]
            );
        }
    }
}

#[tokio::test]
async fn capturis_list_is_written_in_norwegian_in_its_order() {
    let app = spawn_demo().await;
    let rendered = render(
        &app,
        "capturi",
        DocumentKind::SubprocessorList,
        "",
        DocumentFormat::Json,
    )
    .await;
    let (columns, rows) = table(&rendered);
    assert_eq!(
        columns,
        [
            "Navn",
            "Selskapets reg.nr.",
            "Adresse",
            "Beskrivelse av behandling"
        ]
    );
    let seed = folded(&seed_text("004"));
    let mut at = 0;
    for row in &rows {
        // Each row where the list has it, after the one before: name, number and address in
        // one run, the description as the list words it.
        let run = folded(&format!("{} {} {}", row[0], row[1], row[2]));
        let position = seed[at..]
            .find(&run)
            .or_else(|| {
                // The list prints AWS's short name after its legal name.
                let name = folded(&row[0]);
                seed[at..]
                    .find(&name)
                    .filter(|_| seed.contains(&folded(&row[2])))
            })
            .unwrap_or_else(|| panic!("{run:?} is not in seed 004 after position {at}"));
        at += position + 1;
        assert!(
            seed.contains(&folded(&row[3])),
            "{:?} is not in seed 004",
            row[3]
        );
    }
    assert_eq!(rows.len(), 3);
}

#[tokio::test]
async fn every_rendering_names_the_revision_it_was_written_from() {
    let app = spawn_demo().await;
    let manifest_sha256 = app
        .registry()
        .get_revision(GetRevisionRequest {
            organisation: "peero".into(),
            revision: None,
        })
        .await
        .expect("revision")
        .into_inner()
        .revision
        .expect("a revision")
        .manifest_sha256;
    let markdown = render(
        &app,
        "peero",
        DocumentKind::SubprocessorList,
        "en",
        DocumentFormat::Markdown,
    )
    .await;
    assert_eq!(markdown.media_type, "text/markdown; charset=utf-8");
    let text = String::from_utf8(markdown.content).expect("UTF-8");
    assert!(text.starts_with("# PEERO DATA SUBPROCESSORS\n"), "{text}");
    assert!(text.contains(&manifest_sha256), "{text}");
    assert!(text.contains("registry revision 1"), "{text}");
    assert!(
        text.contains("| 4. | Onesignal | Notification service"),
        "{text}"
    );

    // The CSV reads back row for row, each with its source.
    let csv = render(
        &app,
        "peero",
        DocumentKind::SubprocessorList,
        "lv",
        DocumentFormat::Csv,
    )
    .await;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.content.as_slice());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|record| record.expect("a CSV record"))
        .collect();
    assert_eq!(&records[0][0], "PEERO DATU APAKŠAPSTRĀDĀTĀJI");
    assert!(records[0][1].contains(&manifest_sha256));
    assert_eq!(
        records[1].iter().collect::<Vec<_>>(),
        [
            "Nr.",
            "Nosaukums / Platforma",
            "Pamatojums",
            "Apstrādājamie dati",
            "source"
        ]
    );
    assert_eq!(records.len(), 2 + 6);
    assert_eq!(&records[2][1], "Microsoft Azure Services");
    assert!(records[2][4].starts_with("000"), "{:?}", &records[2][4]);
}

#[tokio::test]
async fn a_document_request_is_refused_with_its_field_named() {
    let app = spawn_demo().await;
    let mut client = app.documents();
    let refused = client
        .render_document(RenderDocumentRequest {
            organisation: "peero".into(),
            ..Default::default()
        })
        .await
        .expect_err("no kind, no format");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("kind: must be set"),
        "{}",
        refused.message()
    );
    let fields: Vec<String> = tonic_types::StatusExt::get_details_bad_request(&refused)
        .expect("a BadRequest detail")
        .field_violations
        .into_iter()
        .map(|violation| violation.field)
        .collect();
    assert_eq!(fields, ["kind", "format"]);
    for (organisation, revision) in [("nobody", None), ("peero", Some(99))] {
        let missing = client
            .render_document(RenderDocumentRequest {
                organisation: organisation.into(),
                kind: DocumentKind::SubprocessorList.into(),
                format: DocumentFormat::Json.into(),
                revision,
                ..Default::default()
            })
            .await
            .expect_err("nothing to write from");
        assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    }
}

async fn record(app: &TestApp, organisation: &str, language: &str) -> Value {
    let rendered = render(
        app,
        organisation,
        DocumentKind::ProcessingRecord,
        language,
        DocumentFormat::Json,
    )
    .await;
    serde_json::from_slice(&rendered.content).expect("JSON")
}

/// The paragraphs of a document's section whose heading starts with `heading`.
fn paragraphs(document: &Value, heading: &str) -> Vec<String> {
    document["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .filter(|section| {
            section["heading"]
                .as_str()
                .is_some_and(|found| found.starts_with(heading))
        })
        .flat_map(|section| section["blocks"].as_array().cloned().unwrap_or_default())
        .filter(|block| block["type"] == "paragraph")
        .map(|block| block["text"].as_str().expect("text").to_owned())
        .collect()
}

/// The record's rows by purpose id (the Reference column).
fn activities(document: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    let section = document["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|section| section["heading"] == "processing activities")
        .expect("the activities");
    section["blocks"][0]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let cells: Vec<String> = row["cells"]
                .as_array()
                .expect("cells")
                .iter()
                .map(|cell| cell.as_str().expect("text").to_owned())
                .collect();
            (cells[1].clone(), cells)
        })
        .collect()
}

#[tokio::test]
async fn each_seeds_record_of_processing_holds_what_its_documents_say() {
    let app = spawn_demo().await;
    for (organisation, article) in [
        ("apollo", "Art. 30(1)"),
        ("capturi", "Art. 30(2)"),
        ("peero", "Art. 30(2)"),
        ("pro-balances", "Art. 30(1)"),
        ("sendberry", "Art. 30(1)"),
    ] {
        let document = record(&app, organisation, "").await;
        let title = document["title"].as_str().expect("a title");
        assert!(title.contains(article), "{organisation}: {title}");
        // One row per purpose of the manifest, by its id.
        let purposes: Vec<String> = purposed::manifest::parse(
            crate::support::example(organisation),
            purposed::manifest::DEFAULT_MAX_BYTES,
        )
        .expect("the example")
        .registry
        .purposes
        .iter()
        .map(|purpose| purpose.id.clone())
        .collect();
        let rows = activities(&document);
        assert_eq!(
            rows.keys().cloned().collect::<Vec<_>>(),
            purposes,
            "{organisation}: the activities"
        );
        assert!(
            rows.values().all(|cells| cells.len() == 10),
            "{organisation}: every row fills the ten columns"
        );
    }

    // Capturi's Intercom transfer rests on the invalidated Privacy Shield alone (004).
    let capturi = activities(&record(&app, "capturi", "").await);
    assert!(
        capturi["user-communication"][8]
            .contains("intercom in US: no adequacy decision and no safeguard"),
        "{:?}",
        capturi["user-communication"][8]
    );
    // Hosting stays in EU-WEST (Ireland): no transfer to record.
    assert_eq!(capturi["platform-hosting"][8], "none");
    // Peero acts for its clients (000), named in the language asked for.
    let peero = record(&app, "peero", "en").await;
    assert!(
        paragraphs(&peero, "Art. 30(2)(a)")
            .iter()
            .any(|line| line.starts_with("acts as processor for: Peero's clients")),
        "{:?}",
        paragraphs(&peero, "Art. 30(2)(a)")
    );
    // Apollo's legitimate interests record no balancing test (001), and its Club marketing
    // needs consent where necessary.
    let apollo = activities(&record(&app, "apollo", "").await);
    assert!(apollo["marketing"][3].contains("no balancing test recorded"));
    assert!(apollo["club-marketing"][3].contains("the subject's consent unless"));
    // PRO BALANCES' lead authority is Estonia's, from the built-in table; its §10 measures.
    let pro_balances = record(&app, "pro-balances", "").await;
    assert!(
        paragraphs(&pro_balances, "Art. 30(1)(a)")
            .iter()
            .any(|line| line.starts_with("lead supervisory authority: Andmekaitse Inspektsioon"))
    );
    assert_eq!(paragraphs(&pro_balances, "Art. 30(1)(g)").len(), 3);
}

/// Every element named `name` under `node`, depth first.
fn elements(
    node: &markup5ever_rcdom::Handle,
    name: &str,
    found: &mut Vec<markup5ever_rcdom::Handle>,
) {
    if let markup5ever_rcdom::NodeData::Element { name: element, .. } = &node.data
        && &*element.local == name
    {
        found.push(node.clone());
    }
    for child in node.children.borrow().iter() {
        elements(child, name, found);
    }
}

#[tokio::test]
async fn the_html_parses_as_a_browser_would_with_no_error() {
    use html5ever::tendril::TendrilSink;
    let app = spawn_demo().await;
    for (organisation, kind, rows) in [
        ("peero", DocumentKind::SubprocessorList, 6),
        ("capturi", DocumentKind::SubprocessorList, 3),
        ("apollo", DocumentKind::ProcessingRecord, 24),
    ] {
        let rendered = render(&app, organisation, kind, "en", DocumentFormat::Html).await;
        assert_eq!(rendered.media_type, "text/html; charset=utf-8");
        let dom = html5ever::parse_document(
            markup5ever_rcdom::RcDom::default(),
            html5ever::ParseOpts::default(),
        )
        .from_utf8()
        .read_from(&mut rendered.content.as_slice())
        .expect("read the HTML");
        assert!(
            dom.errors.borrow().is_empty(),
            "{organisation}: {:?}",
            dom.errors.borrow()
        );
        let mut body_rows = Vec::new();
        let mut bodies = Vec::new();
        elements(&dom.document, "tbody", &mut bodies);
        for body in &bodies {
            elements(body, "tr", &mut body_rows);
        }
        assert_eq!(body_rows.len(), rows, "{organisation}: the table's rows");
        let mut scripts = Vec::new();
        elements(&dom.document, "script", &mut scripts);
        assert!(scripts.is_empty(), "{organisation}: no script");
    }
}

#[tokio::test]
async fn the_record_is_linked_data_in_dpvs_and_the_gdprs_terms() {
    let app = spawn_demo().await;
    let linked_data = |organisation| {
        render(
            &app,
            organisation,
            DocumentKind::ProcessingRecord,
            "",
            DocumentFormat::JsonLd,
        )
    };
    let rendered = linked_data("capturi").await;
    assert_eq!(rendered.media_type, "application/ld+json");
    let record: Value = serde_json::from_slice(&rendered.content).expect("JSON");
    assert_eq!(
        record["@context"]["eu-gdpr"],
        "https://w3id.org/dpv/legal/eu/gdpr#"
    );
    let activities = record["dct:hasPart"].as_array().expect("activities");
    let communication = activities
        .iter()
        .find(|activity| {
            activity["@id"]
                .as_str()
                .is_some_and(|id| id.ends_with("#user-communication"))
        })
        .expect("user-communication");
    assert_eq!(communication["@type"], "dpv:PersonalDataHandling");
    assert_eq!(communication["dpv:hasLegalBasis"]["@id"], "eu-gdpr:A28-3-a");
    let data: Vec<&str> = communication["dpv:hasPersonalData"]
        .as_array()
        .expect("personal data")
        .iter()
        .map(|term| term["@id"].as_str().expect("an IRI"))
        .collect();
    assert!(data.contains(&"pd:EmailAddress"), "{data:?}");
    // Intercom in the US: a transfer with no mechanism, as the list gives none that holds.
    let transfers = communication["dpv:hasDataTransfer"]
        .as_array()
        .expect("transfers");
    let us = transfers
        .iter()
        .find(|transfer| transfer["dpv:hasCountry"]["@id"] == "loc:US")
        .expect("the US transfer");
    assert_eq!(us["dpv:hasLegalBasis"].as_array().expect("bases").len(), 0);
    // PRO BALANCES' Mailchimp rests on SCC and DPF.
    let rendered = linked_data("pro-balances").await;
    let text = String::from_utf8(rendered.content).expect("UTF-8");
    assert!(text.contains("eu-gdpr:A46-2-c"), "no SCC in {text}");
    assert!(text.contains("eu-gdpr:A6-1-a"), "no consent in {text}");

    // Linked data is the record's only.
    let refused = app
        .documents()
        .render_document(RenderDocumentRequest {
            organisation: "capturi".into(),
            kind: DocumentKind::SubprocessorList.into(),
            format: DocumentFormat::JsonLd.into(),
            ..Default::default()
        })
        .await
        .expect_err("JSON-LD of a list");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("format:"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_review_over_grpc_lists_the_revisions_real_gaps() {
    let app = spawn_demo().await;
    let review = app
        .documents()
        .review_registry(purposed::proto::ReviewRegistryRequest {
            organisation: "capturi".into(),
            today: "2026-06-01".into(),
            ..Default::default()
        })
        .await
        .expect("review")
        .into_inner();
    assert_eq!(review.revision, 1);
    let errors: Vec<(&str, &str)> = review
        .findings
        .iter()
        .filter(|finding| finding.severity() == purposed::proto::FindingSeverity::Error)
        .map(|finding| (finding.code.as_str(), finding.subject.as_str()))
        .collect();
    assert_eq!(
        errors,
        [("TRANSFER_WITHOUT_SAFEGUARD", "user-communication")]
    );
    let first_warning = review
        .findings
        .iter()
        .position(|finding| finding.severity() != purposed::proto::FindingSeverity::Error)
        .expect("warnings too");
    assert_eq!(first_warning, errors.len(), "errors first");

    let refused = app
        .documents()
        .review_registry(purposed::proto::ReviewRegistryRequest {
            organisation: "capturi".into(),
            today: "1 June".into(),
            ..Default::default()
        })
        .await
        .expect_err("a malformed day");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("today:"),
        "{}",
        refused.message()
    );
}
