//! The requests of a run, and a million subjects written straight into the database: through
//! the API each would be its own durable transaction, and seeding would take hours.

use std::time::{Duration, Instant};

use purposed::{
    domain::pseudonym::SubjectKey,
    proto::CheckRequest,
    store::{Store, StoreOptions, entity::subject_consent},
};
use purposed_bench::rules::{Rng, Zipf};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, EntityTrait, TransactionTrait};

/// The questions of tests/seed_questions.yaml, about the five example organisations.
#[derive(serde::Deserialize)]
struct Question {
    organisation: String,
    purpose: String,
    category: String,
    recipient: String,
}

fn questions() -> Result<Vec<Question>, String> {
    serde_saphyr::from_str(include_str!("../../../../tests/seed_questions.yaml"))
        .map_err(|error| format!("tests/seed_questions.yaml: {error}"))
}

pub fn subject_id(organisation: usize, rank: usize) -> String {
    format!("load-subject-{organisation}-{rank}")
}

/// `count` requests over the seed questions, Zipf-skewed (a few questions are asked most),
/// the way a service's hot path repeats itself. With `subjects_per_organisation`, each names
/// a subject of its organisation, again Zipf-skewed.
pub fn requests(
    count: usize,
    subjects_per_organisation: Option<usize>,
    seed: u64,
) -> Result<Vec<CheckRequest>, String> {
    let questions = questions()?;
    let organisations = organisations(&questions);
    let mut rng = Rng::new(seed);
    let asked = Zipf::new(questions.len(), 1.0, &mut rng);
    let subjects = subjects_per_organisation.map(|n| Zipf::new(n, 1.0, &mut rng));
    Ok((0..count)
        .map(|_| {
            let question = &questions[asked.sample(&mut rng) as usize];
            let subject = subjects.as_ref().map(|zipf| {
                let organisation = organisations
                    .iter()
                    .position(|(id, _)| *id == question.organisation)
                    .unwrap_or(0);
                subject_id(organisation, zipf.sample(&mut rng) as usize)
            });
            CheckRequest {
                organisation: question.organisation.clone(),
                purpose: question.purpose.clone(),
                category: question.category.clone(),
                recipient: question.recipient.clone(),
                subject,
                ..CheckRequest::default()
            }
        })
        .collect())
}

/// Each organisation of the questions with the purposes asked about.
fn organisations(questions: &[Question]) -> Vec<(String, Vec<String>)> {
    let mut organisations: Vec<(String, Vec<String>)> = Vec::new();
    for question in questions {
        let index = match organisations
            .iter()
            .position(|(id, _)| *id == question.organisation)
        {
            Some(index) => index,
            None => {
                organisations.push((question.organisation.clone(), Vec::new()));
                organisations.len() - 1
            }
        };
        let purposes = &mut organisations[index].1;
        if !purposes.contains(&question.purpose) {
            purposes.push(question.purpose.clone());
        }
    }
    organisations
}

/// Writes `total` subjects, spread evenly over the organisations, each with a consent to one
/// purpose asked about. The organisations must exist (start the server once with `--demo`).
/// Returns how many were written per organisation and how long it took.
pub async fn subjects(database_url: &str, total: usize) -> Result<(usize, Duration), String> {
    let began = Instant::now();
    let organisations = organisations(&questions()?);
    let per_organisation = total / organisations.len();
    let key = SubjectKey::from_hex(crate::server::SUBJECT_KEY)?;
    let store = Store::connect(database_url, &StoreOptions::default())
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let db = store.connection();
    let at = jiff::Timestamp::from_second(1_767_225_600).map_err(|error| error.to_string())?;
    let micros = at.as_microsecond();
    let mut rng = Rng::new(7);
    const BATCH: usize = 2_000;
    for (index, (organisation, purposes)) in organisations.iter().enumerate() {
        for start in (0..per_organisation).step_by(BATCH) {
            let rows: Vec<subject_consent::ActiveModel> = (start
                ..(start + BATCH).min(per_organisation))
                .map(|rank| subject_consent::ActiveModel {
                    id: NotSet,
                    organisation_id: Set(organisation.clone()),
                    subject: Set(key
                        .pseudonymise(
                            organisation,
                            &subject_id(index, rank).parse().expect("a valid subject id"),
                        )
                        .to_hex()),
                    purpose: Set(purposes[rng.below(purposes.len())].clone()),
                    action: Set("grant".to_owned()),
                    at: Set(micros),
                    notice_version: Set(None),
                    source: Set(None),
                    parental: Set(false),
                    recorded_at: Set(micros),
                })
                .collect();
            let txn = db.begin().await.map_err(|error| error.to_string())?;
            subject_consent::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(|error| format!("insert subjects: {error}"))?;
            txn.commit().await.map_err(|error| error.to_string())?;
        }
    }
    Ok((per_organisation, began.elapsed()))
}
