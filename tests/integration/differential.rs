//! Differential test: random registries, subjects and questions, decided by the engine and by a
//! deliberately naive reference evaluator written here from the DESIGN.md decision table, with
//! nothing of the engine's code: no index, no taxonomy helpers, its own EEA and adequacy table.
//! Both must agree on the decision and on every deny and condition code. Invariants are checked
//! on the way: deny overrides, default deny, order independence, and withdrawing consent or
//! objecting never grants anything.
//!
//! `PURPOSED_DIFF_SEED` repeats a run; `PURPOSED_DIFF_CASES` sets its length (default 10,000).

use std::{collections::BTreeSet, sync::Arc};

use jiff::{SignedDuration, Timestamp, ToSpan, civil::Date, tz::TimeZone};
use purposed::domain::{
    decision::{Decision, Effect, ReasonCode},
    engine::{CompiledPolicy, Question, RevisionInfo},
    geo::Territory,
    policy::{
        Agreement, ConsentUnless, CustomCategory, Engagement, EngagementCondition, LegalBasis,
        Mechanism, MinimumAge, Organisation, OrganisationRole, Period, Purpose, Recipient,
        RecipientKind, RecipientStatus, Registry, RetentionEvent, RetentionRule, Safeguard,
        SpecialCondition, UntestedInterests,
    },
    subject::{
        Birth, ConsentAction, ConsentEvent, Erasure, Objection, ObjectionScope, Restriction,
        SubjectState,
    },
    taxonomy::Sensitivity,
};

/// xorshift64*: enough randomness for test data, and reproducible from its seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn some<T>(&mut self, percent: u64, value: impl FnOnce(&mut Random) -> T) -> Option<T> {
        if self.chance(percent) {
            Some(value(self))
        } else {
            None
        }
    }
}

// ---- the reference's own knowledge of the world, typed in from DESIGN.md ----------------

/// Built-in keys the reference knows, with their Art. 9/10 flags.
const KNOWN_BUILTINS: [(&str, Sensitivity); 12] = [
    ("user", Sensitivity::Ordinary),
    ("user.contact", Sensitivity::Ordinary),
    ("user.contact.email", Sensitivity::Ordinary),
    ("user.contact.phone", Sensitivity::Ordinary),
    ("user.identity", Sensitivity::Ordinary),
    ("user.identity.name", Sensitivity::Ordinary),
    ("user.online", Sensitivity::Ordinary),
    ("user.online.usage", Sensitivity::Ordinary),
    ("user.special", Sensitivity::Special),
    ("user.special.health", Sensitivity::Special),
    ("user.criminal", Sensitivity::Criminal),
    ("user.criminal.convictions", Sensitivity::Criminal),
];

const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

const LOCATIONS: [&str; 11] = [
    "LV", "DE", "IE", "GB", "US", "CH", "JP", "BR", "IN", "SG", "ZZ",
];

/// The adequacy decisions for the locations above: (country, first day, last day).
fn adequate(country: &str, day: Date, dpf_certified: bool) -> bool {
    let within = |from: Date, to: Option<Date>| day >= from && to.is_none_or(|to| day <= to);
    match country {
        "GB" => within(
            jiff::civil::date(2021, 6, 28),
            Some(jiff::civil::date(2031, 12, 27)),
        ),
        "US" => dpf_certified && within(jiff::civil::date(2023, 7, 10), None),
        "CH" => within(jiff::civil::date(2000, 7, 26), None),
        "JP" => within(jiff::civil::date(2019, 1, 23), None),
        "BR" => within(jiff::civil::date(2026, 1, 26), None),
        _ => false,
    }
}

/// Art. 8(1) ages of the organisation countries generated.
fn consent_age(country: &str) -> i16 {
    match country {
        "LV" => 13,
        "LT" => 14,
        "FR" => 15,
        _ => 16,
    }
}

fn territory(code: &str) -> Territory {
    Territory::parse(code).expect("a known code")
}

fn timestamp(random: &mut Random) -> Timestamp {
    // Between 2019-01-01 and 2030-12-31.
    let start: Timestamp = "2019-01-01T00:00:00Z".parse().expect("timestamp");
    start
        .checked_add(SignedDuration::from_hours(
            random.below(12 * 365 * 24) as i64
        ))
        .expect("in range")
}

fn date(random: &mut Random) -> Date {
    timestamp(random).to_zoned_datetime(TimeZone::UTC).date()
}

// ---- random registries ------------------------------------------------------------------

struct World {
    registry: Registry,
    /// Every category key a question may name (known to both), and some that resolve nowhere.
    keys: Vec<String>,
}

fn registry(random: &mut Random) -> World {
    let country = *random.pick(&["LV", "LT", "FR", "DE"]);
    let role = if random.chance(20) {
        OrganisationRole::Processor
    } else {
        OrganisationRole::Controller
    };
    let mut keys: Vec<String> = KNOWN_BUILTINS
        .iter()
        .map(|(key, _)| key.to_string())
        .collect();
    let mut categories = Vec::new();
    for index in 0..random.below(4) {
        let parent = random
            .pick(&["user", "user.contact", "user.special", "user.criminal"])
            .to_string();
        let key = format!("{parent}.own{index}");
        let sensitivity = *random.pick(&[
            Sensitivity::Ordinary,
            Sensitivity::Ordinary,
            Sensitivity::Special,
            Sensitivity::Criminal,
        ]);
        categories.push(CustomCategory {
            key: key.clone(),
            name: key.clone().into(),
            sensitivity,
            dpv: None,
            source: "generated".into(),
        });
        keys.push(key);
    }

    let mut recipients: Vec<Recipient> = Vec::new();
    for index in 0..1 + random.below(6) {
        let id = format!("r{index}");
        let processors: Vec<String> = recipients
            .iter()
            .filter(|recipient| recipient.kind.is_processor())
            .map(|recipient| recipient.id.clone())
            .collect();
        let kind = *random.pick(&[
            RecipientKind::Processor,
            RecipientKind::Processor,
            RecipientKind::Subprocessor,
            RecipientKind::IndependentController,
            RecipientKind::JointController,
        ]);
        let parent =
            if kind == RecipientKind::Subprocessor && !processors.is_empty() && random.chance(70) {
                Some(random.pick(&processors).clone())
            } else {
                None
            };
        // Mostly in the EEA, so that transfers do not decide everything.
        let mut locations: Vec<Territory> = (0..1 + random.below(2))
            .map(|_| {
                territory(if random.chance(60) {
                    random.pick::<&str>(&LOCATIONS[..3])
                } else {
                    random.pick::<&str>(&LOCATIONS)
                })
            })
            .collect();
        locations.sort();
        locations.dedup();
        let agreements = if !kind.is_processor() {
            Vec::new()
        } else if random.chance(75) {
            // Usually one agreement in force throughout.
            vec![Agreement {
                reference: "dpa".into(),
                effective_from: random.some(50, |_| jiff::civil::date(2018, 5, 25)),
                effective_to: None,
                source: "generated".into(),
            }]
        } else {
            (0..random.below(3))
                .map(|_| Agreement {
                    reference: "dpa".into(),
                    effective_from: random.some(70, date),
                    effective_to: random.some(30, date),
                    source: "generated".into(),
                })
                .collect()
        };
        let safeguards = (0..random.below(3))
            .map(|_| Safeguard {
                mechanism: *random.pick(&[
                    Mechanism::Scc { module: 2 },
                    Mechanism::Bcr,
                    Mechanism::CodeOfConduct,
                    Mechanism::Certification,
                    Mechanism::Dpf,
                ]),
                countries: if random.chance(50) {
                    Vec::new()
                } else {
                    vec![*random.pick(&locations)]
                },
                reference: None,
                source: "generated".into(),
            })
            .collect();
        let status = match random.below(20) {
            0 => RecipientStatus::Retired,
            1..=3 if kind == RecipientKind::Subprocessor => RecipientStatus::Proposed {
                objection_window_ends: date(random),
            },
            _ => RecipientStatus::Active,
        };
        recipients.push(Recipient {
            id,
            name: "generated".into(),
            kind,
            parent,
            locations,
            agreements,
            safeguards,
            status,
            description: None,
            data_processed: None,
            arrangement: None,
            registration_number: None,
            address: None,
            source: "generated".into(),
        });
    }

    // Now and then a chain of subprocessors deeper than any real one, hung under one of the
    // processors: every link must answer for what its root answers.
    let roots: Vec<String> = recipients
        .iter()
        .filter(|recipient| recipient.kind.is_processor())
        .map(|recipient| recipient.id.clone())
        .collect();
    if !roots.is_empty() && random.chance(15) {
        let mut parent = random.pick(&roots).clone();
        for level in 0..40 + random.below(90) {
            let id = format!("deep{level}");
            recipients.push(Recipient {
                id: id.clone(),
                name: "generated".into(),
                kind: RecipientKind::Subprocessor,
                parent: Some(parent),
                locations: vec![territory("LV")],
                agreements: vec![Agreement {
                    reference: "dpa".into(),
                    effective_from: None,
                    effective_to: None,
                    source: "generated".into(),
                }],
                safeguards: Vec::new(),
                status: RecipientStatus::Active,
                description: None,
                data_processed: None,
                arrangement: None,
                registration_number: None,
                address: None,
                source: "generated".into(),
            });
            parent = id;
        }
    }

    let recipient_ids: Vec<String> = recipients
        .iter()
        .map(|recipient| recipient.id.clone())
        .collect();
    let mut purposes = Vec::new();
    for index in 0..1 + random.below(5) {
        let basis = match random.below(14) {
            0 => None,
            1..=3 => Some(LegalBasis::Consent),
            4..=6 => Some(LegalBasis::Contract),
            7 | 8 => Some(LegalBasis::LegalObligation),
            9 => Some(LegalBasis::VitalInterests),
            10 => Some(LegalBasis::PublicTask),
            11 | 12 => Some(LegalBasis::LegitimateInterests),
            _ => Some(LegalBasis::ControllerInstructions),
        };
        // Mostly ordinary categories, so that Art. 9 and 10 do not decide everything.
        let ordinary: Vec<String> = keys
            .iter()
            .filter(|key| !key.contains("special") && !key.contains("criminal"))
            .cloned()
            .collect();
        let mut declared: Vec<String> = (0..1 + random.below(3))
            .map(|_| {
                if random.chance(80) {
                    random.pick(&ordinary).clone()
                } else {
                    random.pick(&keys).clone()
                }
            })
            .collect();
        declared.sort();
        declared.dedup();
        let mut engagements = Vec::new();
        let mut engaged = recipient_ids.clone();
        engaged.retain(|_| random.chance(60));
        for recipient in engaged {
            let limits = if random.chance(40) {
                // Limits inside what the purpose declares: the declared keys or their children.
                let chosen = random.pick(&declared).clone();
                let narrower: Vec<String> = keys
                    .iter()
                    .filter(|key| key.starts_with(&format!("{chosen}.")))
                    .cloned()
                    .collect();
                vec![if narrower.is_empty() || random.chance(50) {
                    chosen
                } else {
                    random.pick(&narrower).clone()
                }]
            } else {
                Vec::new()
            };
            engagements.push(Engagement {
                recipient,
                categories: limits,
                data_processed: None,
                condition: random.some(15, |_| EngagementCondition {
                    id: "switch".into(),
                    description: "a switch is on".into(),
                }),
                source: "generated".into(),
            });
        }
        let retention = (0..random.below(3))
            .map(|_| RetentionRule {
                period: Period::parse(random.pick::<&str>(&["P30D", "P1Y", "P2Y6M", "P0D"]))
                    .expect("period"),
                from: *random.pick(&[
                    RetentionEvent::Collection,
                    RetentionEvent::Collection,
                    RetentionEvent::ContractEnd,
                ]),
                categories: if random.chance(50) {
                    Vec::new()
                } else {
                    vec![random.pick(&declared).clone()]
                },
                description: None,
                source: "generated".into(),
            })
            .collect();
        purposes.push(Purpose {
            id: format!("p{index}"),
            name: "generated".into(),
            description: None,
            legal_basis: basis,
            // Prose for the documents: no answer reads it.
            legal_basis_qualifier: None,
            data_protection: None,
            conditional_categories: Vec::new(),
            dpia_criteria: Vec::new(),
            dpia: None,
            balancing_test: if basis == Some(LegalBasis::LegitimateInterests) && random.chance(85) {
                Some("LIA".into())
            } else {
                None
            },
            // Stated or not, the interest does not change an answer.
            legitimate_interest: (basis == Some(LegalBasis::LegitimateInterests)
                && random.chance(50))
            .then(|| "fraud prevention".into()),
            legal_basis_source: None,
            // Engines ignore it on a consent basis; the manifest refuses that.
            consent_unless: random.some(20, |_| ConsentUnless {
                condition: EngagementCondition {
                    id: "switch".into(),
                    description: "the subject is a member".into(),
                },
                source: "generated".into(),
            }),
            special_condition: random.some(25, |random| {
                *random.pick(&[
                    SpecialCondition::ExplicitConsent,
                    SpecialCondition::HealthOrSocialCare,
                    SpecialCondition::Controller,
                ])
            }),
            criminal_data_authorisation: random.some(25, |_| "Act §1".into()),
            direct_marketing: random.chance(25),
            storage_only: random.chance(15),
            data_subjects: Vec::new(),
            data_sources: Vec::new(),
            categories: declared,
            engagements,
            retention,
            source: "generated".into(),
        });
    }
    keys.push("user.zz999".into());
    World {
        registry: Registry {
            organisation: Organisation {
                id: "org".into(),
                legal_name: "Org".into(),
                registration_number: None,
                country: territory(country),
                role,
                dpo: None,
                clock_waits_for_identity: false,
                minimum_age: random.some(20, |random| MinimumAge {
                    years: 13 + random.below(9) as u8,
                    source: "generated".into(),
                }),
                untested_interests: if random.chance(30) {
                    UntestedInterests::AllowWithObligation
                } else {
                    UntestedInterests::Deny
                },
                language: None,
                accountability: Default::default(),
                source: "generated".into(),
            },
            categories,
            recipients,
            purposes,
            documents: Vec::new(),
            cookies: Vec::new(),
        },
        keys,
    }
}

fn subject(random: &mut Random, registry: &Registry) -> SubjectState {
    let purposes: Vec<String> = registry
        .purposes
        .iter()
        .map(|purpose| purpose.id.clone())
        .collect();
    SubjectState {
        consents: (0..random.below(5))
            .map(|_| ConsentEvent {
                purpose: random.pick(&purposes).as_str().into(),
                action: if random.chance(75) {
                    ConsentAction::Grant
                } else {
                    ConsentAction::Withdraw
                },
                at: timestamp(random),
                notice_version: None,
                parental: random.chance(20),
            })
            .collect(),
        objections: (0..if random.chance(50) {
            random.below(3)
        } else {
            0
        })
            .map(|_| Objection {
                scope: if random.chance(40) {
                    ObjectionScope::DirectMarketing
                } else {
                    ObjectionScope::Purpose(random.pick(&purposes).as_str().into())
                },
                at: timestamp(random),
                compelling_grounds: random.some(30, |_| "grounds".into()),
                withdrawn_at: random.some(20, timestamp),
            })
            .collect(),
        restrictions: (0..if random.chance(40) {
            random.below(2)
        } else {
            0
        })
            .map(|_| Restriction {
                from: timestamp(random),
                lifted_at: random.some(30, timestamp),
            })
            .collect(),
        erasure: random.some(8, |random| Erasure {
            verified_at: timestamp(random),
        }),
        birth: random.some(40, |random| {
            if random.chance(50) {
                Birth::Year(2005 + random.below(20) as i16)
            } else {
                Birth::Date(jiff::civil::date(
                    2005 + random.below(20) as i16,
                    1 + random.below(12) as i8,
                    1 + random.below(28) as i8,
                ))
            }
        }),
    }
}

fn event_instants(subject: &SubjectState) -> Vec<Timestamp> {
    let consents = subject.consents.iter().map(|consent| consent.at);
    let objections = subject
        .objections
        .iter()
        .flat_map(|objection| [Some(objection.at), objection.withdrawn_at])
        .flatten();
    let restrictions = subject
        .restrictions
        .iter()
        .flat_map(|restriction| [Some(restriction.from), restriction.lifted_at])
        .flatten();
    let erasure = subject.erasure.iter().map(|erasure| erasure.verified_at);
    consents
        .chain(objections)
        .chain(restrictions)
        .chain(erasure)
        .collect()
}

// ---- the reference evaluator -------------------------------------------------------------

fn covers(ancestor: &str, key: &str) -> bool {
    key == ancestor || key.starts_with(&format!("{ancestor}."))
}

fn segments(key: &str) -> usize {
    key.split('.').count()
}

/// The sensitivity of `key`: the strongest flag of the key and its ancestors.
fn sensitivity(registry: &Registry, key: &str) -> Option<Sensitivity> {
    let own = |candidate: &str| {
        KNOWN_BUILTINS
            .iter()
            .find(|(builtin, _)| *builtin == candidate)
            .map(|(_, sensitivity)| *sensitivity)
            .or_else(|| {
                registry
                    .categories
                    .iter()
                    .find(|category| category.key == candidate)
                    .map(|category| category.sensitivity)
            })
    };
    own(key)?;
    let mut strongest = Sensitivity::Ordinary;
    let parts: Vec<&str> = key.split('.').collect();
    for length in 1..=parts.len() {
        if let Some(found) = own(&parts[..length].join(".")) {
            strongest = strongest.max(found);
        }
    }
    Some(strongest)
}

struct Asked<'a> {
    purpose: &'a str,
    category: &'a str,
    recipient: &'a str,
    at: Timestamp,
    collected_at: Option<Timestamp>,
    switch_on: bool,
}

/// The reference: every row of the decision table, in the plainest code.
fn reference(
    registry: &Registry,
    asked: &Asked<'_>,
    subject: Option<&SubjectState>,
) -> (Decision, BTreeSet<ReasonCode>) {
    use ReasonCode as C;
    let mut denies = BTreeSet::new();
    let mut conditions = BTreeSet::new();
    let day = asked.at.to_zoned_datetime(TimeZone::UTC).date();
    let purpose = registry
        .purposes
        .iter()
        .find(|purpose| purpose.id == asked.purpose);
    let category_sensitivity = sensitivity(registry, asked.category);
    let in_house = asked.recipient == registry.organisation.id;
    let recipient = registry
        .recipients
        .iter()
        .find(|recipient| recipient.id == asked.recipient);
    if purpose.is_none() {
        denies.insert(C::UnknownPurpose);
    }
    if category_sensitivity.is_none() {
        denies.insert(C::UnknownCategory);
    }
    if recipient.is_none() && !in_house {
        denies.insert(C::UnknownRecipient);
    }

    if let Some(purpose) = purpose {
        // Where the purpose needs consent of this subject besides its basis, the answer rests
        // on consent; where the caller asserts the condition, on the purpose's basis.
        let consent_case = purpose.legal_basis.is_some()
            && purpose.legal_basis != Some(LegalBasis::Consent)
            && purpose.consent_unless.is_some()
            && !asked.switch_on;
        let basis = if consent_case {
            Some(LegalBasis::Consent)
        } else {
            purpose.legal_basis
        };
        let basis_ok = match basis {
            None => false,
            Some(LegalBasis::LegitimateInterests) => {
                purpose.balancing_test.is_some()
                    || registry.organisation.untested_interests
                        == UntestedInterests::AllowWithObligation
            }
            Some(LegalBasis::ControllerInstructions) => {
                registry.organisation.role == OrganisationRole::Processor
            }
            Some(_) => true,
        };
        if !basis_ok {
            denies.insert(C::NoLegalBasis);
        }
        if let Some(sensitivity) = category_sensitivity {
            if !purpose
                .categories
                .iter()
                .any(|declared| covers(declared, asked.category))
            {
                denies.insert(C::CategoryNotDeclared);
            }
            let lifted = match sensitivity {
                Sensitivity::Ordinary => true,
                Sensitivity::Special => purpose.special_condition.is_some_and(|condition| {
                    condition != SpecialCondition::Controller
                        || registry.organisation.role == OrganisationRole::Processor
                }),
                Sensitivity::Criminal => purpose.criminal_data_authorisation.is_some(),
            };
            if !lifted {
                denies.insert(C::SpecialCategoryWithoutCondition);
            }
            // The most specific retention rules apply; rules without categories are the least.
            let specificity = |rule: &RetentionRule| -> Option<usize> {
                if rule.categories.is_empty() {
                    return Some(0);
                }
                rule.categories
                    .iter()
                    .filter(|key| covers(key, asked.category))
                    .map(|key| segments(key))
                    .max()
            };
            if let Some(deepest) = purpose.retention.iter().filter_map(specificity).max() {
                for rule in purpose
                    .retention
                    .iter()
                    .filter(|rule| specificity(rule) == Some(deepest))
                {
                    if let (RetentionEvent::Collection, Some(collected)) =
                        (rule.from, asked.collected_at)
                    {
                        let end = collected
                            .to_zoned_datetime(TimeZone::UTC)
                            .checked_add(rule.period.span())
                            .expect("in range")
                            .timestamp();
                        if end < asked.at {
                            denies.insert(C::RetentionExpired);
                        }
                    }
                }
            }
        }
        if let Some(recipient) = recipient
            && !in_house
        {
            match purpose
                .engagements
                .iter()
                .find(|engagement| engagement.recipient == recipient.id)
            {
                None => {
                    denies.insert(C::RecipientNotEngaged);
                }
                Some(engagement) => {
                    if category_sensitivity.is_some()
                        && !engagement.categories.is_empty()
                        && !engagement
                            .categories
                            .iter()
                            .any(|limit| covers(limit, asked.category))
                    {
                        denies.insert(C::RecipientNotEngaged);
                    }
                    if engagement.condition.is_some() && !asked.switch_on {
                        conditions.insert(C::EngagementCondition);
                    }
                }
            }
        }
        let consent_based = purpose.legal_basis == Some(LegalBasis::Consent)
            || purpose.special_condition == Some(SpecialCondition::ExplicitConsent)
            || consent_case;
        let objectionable = matches!(
            basis,
            Some(LegalBasis::PublicTask | LegalBasis::LegitimateInterests)
        );
        match subject {
            None => {
                if consent_based {
                    conditions.insert(C::ConsentRequired);
                }
                if purpose.direct_marketing || objectionable {
                    conditions.insert(C::NoObjectionRequired);
                }
            }
            Some(subject) => {
                let age = match subject.birth {
                    None => None,
                    Some(Birth::Year(year)) => Some(day.year() - year - 1),
                    Some(Birth::Date(born)) => {
                        let mut age = day.year() - born.year();
                        if (day.month(), day.day()) < (born.month(), born.day()) {
                            age -= 1;
                        }
                        Some(age)
                    }
                };
                if let Some(minimum) = &registry.organisation.minimum_age
                    && age.is_some_and(|age| age < i16::from(minimum.years))
                {
                    denies.insert(C::BelowServiceAge);
                }
                if consent_based {
                    let mut latest: Option<&ConsentEvent> = None;
                    for event in &subject.consents {
                        if *event.purpose == purpose.id
                            && event.at <= asked.at
                            && latest.is_none_or(|seen| event.at >= seen.at)
                        {
                            latest = Some(event);
                        }
                    }
                    match latest {
                        None => {
                            denies.insert(C::ConsentMissing);
                        }
                        Some(event) if event.action == ConsentAction::Withdraw => {
                            denies.insert(C::ConsentWithdrawn);
                        }
                        Some(event) => {
                            if age.is_some_and(|age| {
                                age < consent_age(registry.organisation.country.code())
                            }) && !event.parental
                            {
                                denies.insert(C::BelowConsentAge);
                            }
                        }
                    }
                }
                let standing = |objection: &&Objection| {
                    objection.at <= asked.at
                        && objection
                            .withdrawn_at
                            .is_none_or(|withdrawn| withdrawn > asked.at)
                };
                let marketing_objection = subject
                    .objections
                    .iter()
                    .filter(standing)
                    .any(|objection| objection.scope == ObjectionScope::DirectMarketing);
                let purpose_objection = subject
                    .objections
                    .iter()
                    .filter(standing)
                    .find(|objection| matches!(&objection.scope, ObjectionScope::Purpose(id) if **id == *purpose.id));
                if purpose.direct_marketing && (marketing_objection || purpose_objection.is_some())
                {
                    denies.insert(C::ObjectionActive);
                } else if let Some(objection) = purpose_objection
                    && objectionable
                    && objection.compelling_grounds.is_none()
                {
                    denies.insert(C::ObjectionActive);
                }
                let restricted = subject.restrictions.iter().any(|restriction| {
                    restriction.from <= asked.at
                        && restriction.lifted_at.is_none_or(|lifted| lifted > asked.at)
                });
                if restricted && !purpose.storage_only {
                    denies.insert(C::RestrictionActive);
                }
                let erased = subject
                    .erasure
                    .as_ref()
                    .is_some_and(|erasure| erasure.verified_at <= asked.at);
                if erased && purpose.legal_basis != Some(LegalBasis::LegalObligation) {
                    denies.insert(C::ErasureRequested);
                }
            }
        }
    }

    if let Some(recipient) = recipient
        && !in_house
    {
        let mut chain = vec![recipient];
        while let Some(parent) = chain.last().and_then(|node| node.parent.as_ref()) {
            match registry
                .recipients
                .iter()
                .find(|candidate| &candidate.id == parent)
            {
                Some(next) if !chain.iter().any(|seen| seen.id == next.id) => chain.push(next),
                _ => break,
            }
        }
        for node in chain {
            match node.status {
                RecipientStatus::Active => {}
                RecipientStatus::Proposed {
                    objection_window_ends,
                } => {
                    if day <= objection_window_ends {
                        denies.insert(C::SubprocessorNotAuthorised);
                    }
                }
                RecipientStatus::Retired => {
                    denies.insert(if node.kind == RecipientKind::Subprocessor {
                        C::SubprocessorNotAuthorised
                    } else {
                        C::RecipientNotEngaged
                    });
                }
            }
            if node.kind.is_processor()
                && !node.agreements.iter().any(|agreement| {
                    agreement.effective_from.is_none_or(|from| from <= day)
                        && agreement.effective_to.is_none_or(|to| day <= to)
                })
            {
                denies.insert(C::NoProcessingAgreement);
            }
            let certified = node
                .safeguards
                .iter()
                .any(|safeguard| safeguard.mechanism == Mechanism::Dpf);
            for location in &node.locations {
                let code = location.code();
                if EEA.contains(&code) || adequate(code, day, certified) {
                    continue;
                }
                let safeguarded = node.safeguards.iter().any(|safeguard| {
                    safeguard.mechanism != Mechanism::Dpf
                        && (safeguard.countries.is_empty()
                            || safeguard.countries.contains(location))
                });
                if !safeguarded {
                    denies.insert(C::TransferWithoutSafeguard);
                }
            }
        }
    }

    let decision = if !denies.is_empty() {
        Decision::Deny
    } else if !conditions.is_empty() {
        Decision::Conditional
    } else {
        Decision::Allow
    };
    denies.extend(conditions);
    (decision, denies)
}

fn engine_codes(outcome: &purposed::domain::decision::Outcome) -> BTreeSet<ReasonCode> {
    outcome
        .reasons
        .iter()
        .filter(|reason| reason.effect() != Effect::Allow)
        .map(|reason| reason.code())
        .collect()
}

fn compile(registry: Registry) -> CompiledPolicy {
    CompiledPolicy::compile(
        Arc::new(registry),
        RevisionInfo {
            number: 1,
            applied_at: "2000-01-01T00:00:00Z".parse().expect("timestamp"),
            effective_from: "2000-01-01T00:00:00Z".parse().expect("timestamp"),
            manifest_sha256: String::new(),
        },
    )
}

fn rank(decision: Decision) -> u8 {
    match decision {
        Decision::Deny => 0,
        Decision::Conditional => 1,
        Decision::Allow => 2,
    }
}

#[test]
fn the_engine_agrees_with_the_reference_evaluator() {
    let seed = std::env::var("PURPOSED_DIFF_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| Timestamp::now().as_nanosecond() as u64 | 1);
    let cases: usize = std::env::var("PURPOSED_DIFF_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(10_000);
    let mut random = Random(seed);
    let mut checked = 0;
    let mut decisions = [0_usize; 3];
    let mut mismatches = Vec::new();
    // A new registry every 20 questions.
    while checked < cases {
        let world = registry(&mut random);
        let mut normalised = world.registry.clone().normalise();
        let policy = compile(normalised.clone());
        // The same registry in another order must decide the same.
        normalised.purposes.reverse();
        normalised.recipients.reverse();
        for purpose in &mut normalised.purposes {
            purpose.engagements.reverse();
        }
        let reordered = compile(normalised);
        let mut purposes: Vec<String> = world
            .registry
            .purposes
            .iter()
            .map(|purpose| purpose.id.clone())
            .collect();
        purposes.push("p-unknown".into());
        let mut recipients: Vec<String> = world
            .registry
            .recipients
            .iter()
            .map(|recipient| recipient.id.clone())
            .collect();
        recipients.extend(["r-unknown".to_owned(), "org".to_owned()]);
        for _ in 0..20 {
            // Half the questions follow an engagement, so that allows are common enough.
            let engaged: Vec<(&Purpose, &Engagement)> = world
                .registry
                .purposes
                .iter()
                .flat_map(|purpose| {
                    purpose
                        .engagements
                        .iter()
                        .map(move |engagement| (purpose, engagement))
                })
                .collect();
            let (purpose, category, recipient) = if !engaged.is_empty() && random.chance(50) {
                let (purpose, engagement) = *random.pick(&engaged);
                let scope = if engagement.categories.is_empty() {
                    &purpose.categories
                } else {
                    &engagement.categories
                };
                let chosen = random.pick(scope).clone();
                let narrower: Vec<&String> = world
                    .keys
                    .iter()
                    .filter(|key| key.starts_with(&format!("{chosen}.")))
                    .collect();
                let category = if narrower.is_empty() || random.chance(60) {
                    chosen
                } else {
                    (*random.pick(&narrower)).clone()
                };
                (purpose.id.clone(), category, engagement.recipient.clone())
            } else {
                (
                    random.pick(&purposes).clone(),
                    random.pick(&world.keys).clone(),
                    random.pick(&recipients).clone(),
                )
            };
            let subject = random.some(60, |random| subject(random, &world.registry));
            // A third of the questions are asked at the very instant of one of the subject's
            // events, where an off-by-one in a time comparison would show.
            let instants = subject.as_ref().map(event_instants).unwrap_or_default();
            let at = if !instants.is_empty() && random.chance(33) {
                *random.pick(&instants)
            } else {
                timestamp(&mut random)
            };
            let asked = Asked {
                purpose: &purpose,
                category: &category,
                recipient: &recipient,
                at,
                collected_at: random.some(40, timestamp),
                switch_on: random.chance(50),
            };
            let switches: Vec<purposed::domain::names::ConditionId> = if asked.switch_on {
                vec!["switch".parse().expect("a condition id")]
            } else {
                Vec::new()
            };
            let question = Question {
                purpose: asked.purpose,
                category: asked.category,
                recipient: asked.recipient,
                at: asked.at,
                collected_at: asked.collected_at,
                satisfied_conditions: &switches,
            };
            let outcome = policy.decide(&question, subject.as_ref());
            let engine = (outcome.decision, engine_codes(&outcome));
            let expected = reference(&world.registry, &asked, subject.as_ref());
            if engine != expected && mismatches.len() < 10 {
                mismatches.push(format!(
                    "{}/{}/{} at {} (collected {:?}, switch {}): engine {:?}, reference {:?}\n  subject: {:?}\n  registry: {:?}",
                    asked.purpose, asked.category, asked.recipient, asked.at, asked.collected_at, asked.switch_on, engine, expected, subject, world.registry
                ));
            }
            // Deny overrides; no deny, then any condition makes it CONDITIONAL.
            let effects: Vec<Effect> = outcome
                .reasons
                .iter()
                .map(|reason| reason.effect())
                .collect();
            let implied = if effects.contains(&Effect::Deny) {
                Decision::Deny
            } else if effects.contains(&Effect::Condition) {
                Decision::Conditional
            } else {
                Decision::Allow
            };
            assert_eq!(outcome.decision, implied, "seed {seed}: deny overrides");
            // Default deny: an id that resolves nowhere is never allowed.
            if engine.1.iter().any(|code| {
                matches!(
                    code,
                    ReasonCode::UnknownPurpose
                        | ReasonCode::UnknownCategory
                        | ReasonCode::UnknownRecipient
                )
            }) {
                assert_eq!(
                    outcome.decision,
                    Decision::Deny,
                    "seed {seed}: default deny"
                );
            }
            // Order independence.
            assert_eq!(
                reordered.decide(&question, subject.as_ref()).decision,
                outcome.decision,
                "seed {seed}: order independence"
            );
            // Withdrawing or objecting only removes permissions.
            if let Some(before) = &subject {
                let mut after = before.clone();
                let later = asked.at.checked_sub(1.second()).unwrap_or(asked.at);
                if random.chance(50) {
                    after.consents.push(ConsentEvent {
                        purpose: asked.purpose.into(),
                        action: ConsentAction::Withdraw,
                        at: later,
                        notice_version: None,
                        parental: false,
                    });
                } else {
                    after.objections.push(Objection {
                        scope: if random.chance(50) {
                            ObjectionScope::DirectMarketing
                        } else {
                            ObjectionScope::Purpose(asked.purpose.into())
                        },
                        at: later,
                        compelling_grounds: None,
                        withdrawn_at: None,
                    });
                }
                let narrowed = policy.decide(&question, Some(&after)).decision;
                assert!(
                    rank(narrowed) <= rank(outcome.decision),
                    "seed {seed}: {:?} became {narrowed:?} after a withdrawal or objection",
                    outcome.decision
                );
            }
            decisions[rank(outcome.decision) as usize] += 1;
            checked += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "seed {seed}: {} or more mismatches, first:\n{}",
        mismatches.len(),
        mismatches.join("\n\n")
    );
    // The cases must exercise every outcome, or they prove little.
    assert!(
        decisions.iter().all(|count| *count > cases / 50),
        "seed {seed}: decisions {decisions:?} (deny, conditional, allow)"
    );
    eprintln!(
        "differential: {checked} cases, seed {seed}, decisions (deny, conditional, allow) {decisions:?}"
    );
}
