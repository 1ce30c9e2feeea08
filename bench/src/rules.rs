//! One synthetic rule set, decided three ways: by purposed's compiled registry, by Cedar with
//! one policy per rule, and by Cedar with the rules as entity data under one fixed policy.
//!
//! A RULE is one (purpose, recipient, category) triple taken from an engagement: "purpose p
//! may share category c, or any descendant of c, with recipient r". A question (p, c, r) is
//! allowed iff some rule of p and r names c or an ancestor of c; otherwise it is denied.
//! [`RuleSet::allows`] is that definition written out plainly, and is the oracle the three
//! engines are checked against.
//!
//! The shape scales with the rule count N:
//! - categories: a fixed tree of 20 × 5 × 4 organisation categories under the built-in `user`
//!   (`user.c07`, `user.c07.s3`, `user.c07.s3.l2`): 20 + 100 + 400 = 520 keys, 3 levels deep;
//! - recipients: 200 processors in LV, each with an agreement open at both ends;
//! - purposes: N / 20, all on contract, each with exactly 20 rules spread over 3 to 6
//!   engagements (recipients drawn Zipf-skewed, so a few processors serve most purposes);
//!   a limit is a top-level category 15% of the time, a middle one 35%, a leaf 50%.
//!
//! So the work of one decision stays the same while the registry grows: what grows is the
//! number of purposes, of rules and (for Cedar's first encoding) of policies.

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    str::FromStr,
    sync::Arc,
};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicySet, Request as CedarRequest, RestrictedExpression,
};
use jiff::Timestamp;
use purposed::domain::{
    decision::{Decision, ReasonCode},
    engine::{CompiledPolicy, Question, RevisionInfo},
    geo::Territory,
    policy::{
        Agreement, CustomCategory, Engagement, LegalBasis, Organisation, OrganisationRole, Purpose,
        Recipient, RecipientKind, RecipientStatus, Registry,
    },
    taxonomy::Sensitivity,
};

pub const TOP_CATEGORIES: usize = 20;
pub const MIDDLES_PER_TOP: usize = 5;
pub const LEAVES_PER_MIDDLE: usize = 4;
pub const RECIPIENTS: usize = 200;
pub const RULES_PER_PURPOSE: usize = 20;
/// The exponent of the Zipf laws over purposes and recipients.
pub const ZIPF_S: f64 = 1.0;
/// The built-in root every generated category sits under.
pub const ROOT: &str = "user";
pub const ORGANISATION: &str = "acme";

// ---------------------------------------------------------------------------------------
// Randomness: a seeded SplitMix64 and a Zipf sampler, small enough to write out here.

/// SplitMix64: fast, seedable, and good enough to draw benchmark keys.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Zipf's law over `n` items: item of rank k (0-based) has weight 1 / (k + 1)^s. Ranks are
/// mapped to items through a fixed shuffle, so the popular items are spread over the ids.
#[derive(Clone, Debug)]
pub struct Zipf {
    cdf: Vec<f64>,
    items: Vec<u32>,
}

impl Zipf {
    pub fn new(n: usize, s: f64, rng: &mut Rng) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 0..n {
            total += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(total);
        }
        for value in &mut cdf {
            *value /= total;
        }
        let mut items: Vec<u32> = (0..n as u32).collect();
        rng.shuffle(&mut items);
        Zipf { cdf, items }
    }

    pub fn sample(&self, rng: &mut Rng) -> u32 {
        let u = rng.unit();
        let rank = self
            .cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1);
        self.items[rank]
    }
}

// ---------------------------------------------------------------------------------------
// The rule set.

#[derive(Clone, Debug)]
pub struct Category {
    pub key: String,
    /// Index of the parent in `RuleSet::categories`; `None` for a top category (whose parent
    /// is the built-in `user`).
    pub parent: Option<u32>,
    pub children: Vec<u32>,
    /// 1 for `user.cNN`, 2 for the middle level, 3 for leaves.
    pub depth: u8,
}

/// One engagement of a purpose: a recipient and the categories it is limited to. Each limit
/// is one rule.
#[derive(Clone, Debug)]
pub struct Grant {
    pub recipient: u32,
    pub categories: Vec<u32>,
}

#[derive(Debug)]
pub struct RuleSet {
    pub seed: u64,
    pub categories: Vec<Category>,
    pub purposes: Vec<String>,
    pub recipients: Vec<String>,
    /// Per purpose, its engagements (distinct recipients).
    pub grants: Vec<Vec<Grant>>,
    /// Every rule (purpose, recipient, category), for the oracle.
    rules: HashSet<(u32, u32, u32)>,
    purpose_zipf: Zipf,
    recipient_zipf: Zipf,
}

impl RuleSet {
    /// The rule set with `rules` rules (a multiple of 20), drawn from `seed`.
    pub fn generate(rules: usize, seed: u64) -> RuleSet {
        assert!(
            rules >= RULES_PER_PURPOSE && rules.is_multiple_of(RULES_PER_PURPOSE),
            "the rule count must be a multiple of {RULES_PER_PURPOSE}"
        );
        let mut rng = Rng::new(seed);
        let categories = category_tree();
        let by_depth: [Vec<u32>; 3] = std::array::from_fn(|level| {
            (0..categories.len() as u32)
                .filter(|&c| categories[c as usize].depth as usize == level + 1)
                .collect()
        });
        let purpose_count = rules / RULES_PER_PURPOSE;
        let purposes: Vec<String> = (0..purpose_count).map(|i| format!("p{i:05}")).collect();
        let recipients: Vec<String> = (0..RECIPIENTS).map(|i| format!("r{i:03}")).collect();
        let purpose_zipf = Zipf::new(purpose_count, ZIPF_S, &mut rng);
        let recipient_zipf = Zipf::new(RECIPIENTS, ZIPF_S, &mut rng);

        let mut grants = Vec::with_capacity(purpose_count);
        let mut all = HashSet::with_capacity(rules);
        for purpose in 0..purpose_count as u32 {
            let engagements = 3 + rng.below(4);
            let mut chosen: Vec<u32> = Vec::with_capacity(engagements);
            while chosen.len() < engagements {
                let recipient = recipient_zipf.sample(&mut rng);
                if !chosen.contains(&recipient) {
                    chosen.push(recipient);
                }
            }
            // Every engagement gets at least one rule; the rest fall at random.
            let mut counts = vec![1usize; engagements];
            for _ in engagements..RULES_PER_PURPOSE {
                counts[rng.below(engagements)] += 1;
            }
            let mut purpose_grants = Vec::with_capacity(engagements);
            for (recipient, count) in chosen.into_iter().zip(counts) {
                let mut limits: Vec<u32> = Vec::with_capacity(count);
                while limits.len() < count {
                    let roll = rng.unit();
                    let level = if roll < 0.15 {
                        0
                    } else if roll < 0.50 {
                        1
                    } else {
                        2
                    };
                    let pool = &by_depth[level];
                    let category = pool[rng.below(pool.len())];
                    if !limits.contains(&category) {
                        limits.push(category);
                    }
                }
                limits.sort_unstable();
                for &category in &limits {
                    all.insert((purpose, recipient, category));
                }
                purpose_grants.push(Grant {
                    recipient,
                    categories: limits,
                });
            }
            grants.push(purpose_grants);
        }
        assert_eq!(all.len(), rules);
        RuleSet {
            seed,
            categories,
            purposes,
            recipients,
            grants,
            rules: all,
            purpose_zipf,
            recipient_zipf,
        }
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The category and its ancestors in the generated tree, itself first.
    pub fn lineage(&self, category: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(category), |&c| self.categories[c as usize].parent)
    }

    /// The definition: allowed iff a rule of (purpose, recipient) names the category or one
    /// of its ancestors.
    pub fn allows(&self, purpose: u32, recipient: u32, category: u32) -> bool {
        self.lineage(category)
            .any(|c| self.rules.contains(&(purpose, recipient, c)))
    }

    /// The categories a purpose declares: the union of its engagements' limits.
    pub fn declared(&self, purpose: u32) -> Vec<u32> {
        let mut declared: Vec<u32> = self.grants[purpose as usize]
            .iter()
            .flat_map(|grant| grant.categories.iter().copied())
            .collect();
        declared.sort_unstable();
        declared.dedup();
        declared
    }

    /// `count` questions: purposes and recipients Zipf-skewed. Half are aimed at a rule (a
    /// category at or under one of its limits: allowed); a quarter pick a purpose and one of
    /// its recipients with any category (mostly denied: not for that category, or not
    /// declared); a quarter pick the purpose, recipient and category independently (mostly
    /// denied: recipient not engaged).
    pub fn requests(&self, count: usize, seed: u64) -> Vec<Req> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let purpose = self.purpose_zipf.sample(&mut rng);
            let grants = &self.grants[purpose as usize];
            let roll = rng.unit();
            let (recipient, category, kind) = if roll < 0.5 {
                let grant = &grants[rng.below(grants.len())];
                let mut category = grant.categories[rng.below(grant.categories.len())];
                // Walk down: stop here half the time, else go to a random child.
                loop {
                    let children = &self.categories[category as usize].children;
                    if children.is_empty() || rng.unit() < 0.5 {
                        break;
                    }
                    category = children[rng.below(children.len())];
                }
                (grant.recipient, category, RequestKind::Covered)
            } else if roll < 0.75 {
                let grant = &grants[rng.below(grants.len())];
                let category = rng.below(self.categories.len()) as u32;
                (grant.recipient, category, RequestKind::EngagedAnyCategory)
            } else {
                let recipient = self.recipient_zipf.sample(&mut rng);
                let category = rng.below(self.categories.len()) as u32;
                (recipient, category, RequestKind::Random)
            };
            out.push(Req {
                purpose,
                recipient,
                category,
                kind,
                expected: self.allows(purpose, recipient, category),
            });
        }
        out
    }

    // -----------------------------------------------------------------------------------
    // purposed

    /// The registry as domain structs: what a manifest with these rules would load into.
    pub fn registry(&self) -> Registry {
        let lv = Territory::parse("LV").expect("LV is a territory");
        let source = |what: &str| format!("synthetic benchmark registry, {what}");
        let organisation = Organisation {
            id: ORGANISATION.into(),
            legal_name: "ACME SIA".into(),
            registration_number: None,
            country: lv,
            role: OrganisationRole::Controller,
            dpo: None,
            clock_waits_for_identity: false,
            minimum_age: None,
            untested_interests: Default::default(),
            language: None,
            accountability: Default::default(),
            source: source("organisation"),
        };
        let categories = self
            .categories
            .iter()
            .map(|category| CustomCategory {
                key: category.key.clone(),
                name: format!("Category {}", category.key).into(),
                sensitivity: Sensitivity::Ordinary,
                dpv: None,
                source: source(&category.key),
            })
            .collect();
        let recipients = self
            .recipients
            .iter()
            .map(|id| Recipient {
                id: id.clone(),
                name: format!("Processor {id}").into(),
                kind: RecipientKind::Processor,
                parent: None,
                locations: vec![lv],
                agreements: vec![Agreement {
                    reference: format!("DPA-{id}"),
                    effective_from: None,
                    effective_to: None,
                    source: source(&format!("DPA of {id}")),
                }],
                safeguards: Vec::new(),
                status: RecipientStatus::Active,
                description: None,
                data_processed: None,
                arrangement: None,
                registration_number: None,
                address: None,
                source: source(id),
            })
            .collect();
        let key = |c: &u32| self.categories[*c as usize].key.clone();
        let purposes = self
            .purposes
            .iter()
            .enumerate()
            .map(|(index, id)| Purpose {
                id: id.clone(),
                name: format!("Purpose {id}").into(),
                description: None,
                legal_basis: Some(LegalBasis::Contract),
                legal_basis_qualifier: None,
                data_protection: None,
                conditional_categories: Vec::new(),
                dpia_criteria: Vec::new(),
                dpia: None,
                balancing_test: None,
                legitimate_interest: None,
                legal_basis_source: None,
                special_condition: None,
                criminal_data_authorisation: None,
                direct_marketing: false,
                storage_only: false,
                consent_unless: None,
                data_subjects: vec!["customers".into()],
                data_sources: Vec::new(),
                categories: self.declared(index as u32).iter().map(key).collect(),
                engagements: self.grants[index]
                    .iter()
                    .map(|grant| Engagement {
                        recipient: self.recipients[grant.recipient as usize].clone(),
                        categories: grant.categories.iter().map(key).collect(),
                        data_processed: None,
                        condition: None,
                        source: source(&format!("{id} engages r{:03}", grant.recipient)),
                    })
                    .collect(),
                retention: Vec::new(),
                source: source(id),
            })
            .collect();
        Registry {
            organisation,
            categories,
            recipients,
            purposes,
            documents: Vec::new(),
            cookies: Vec::new(),
        }
        .normalise()
    }
}

fn category_tree() -> Vec<Category> {
    let mut categories =
        Vec::with_capacity(TOP_CATEGORIES * (1 + MIDDLES_PER_TOP * (1 + LEAVES_PER_MIDDLE)));
    let push = |categories: &mut Vec<Category>, key: String, parent: Option<u32>, depth| {
        let index = categories.len() as u32;
        categories.push(Category {
            key,
            parent,
            children: Vec::new(),
            depth,
        });
        if let Some(parent) = parent {
            categories[parent as usize].children.push(index);
        }
        index
    };
    for t in 0..TOP_CATEGORIES {
        let top = push(&mut categories, format!("{ROOT}.c{t:02}"), None, 1);
        for m in 0..MIDDLES_PER_TOP {
            let middle = push(
                &mut categories,
                format!("{ROOT}.c{t:02}.s{m}"),
                Some(top),
                2,
            );
            for l in 0..LEAVES_PER_MIDDLE {
                push(
                    &mut categories,
                    format!("{ROOT}.c{t:02}.s{m}.l{l}"),
                    Some(middle),
                    3,
                );
            }
        }
    }
    categories
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Aimed at a rule: the category is a limit or under one.
    Covered,
    /// A recipient the purpose engages, any category.
    EngagedAnyCategory,
    /// Purpose, recipient and category drawn independently.
    Random,
}

/// One question, by indices into the rule set, with the oracle's answer.
#[derive(Clone, Copy, Debug)]
pub struct Req {
    pub purpose: u32,
    pub recipient: u32,
    pub category: u32,
    pub kind: RequestKind,
    pub expected: bool,
}

/// The instant every question is asked at (agreements are open-ended, so any would do).
pub fn asked_at() -> Timestamp {
    "2026-03-02T10:00:00Z".parse().expect("a timestamp")
}

/// purposed's compiled registry and the questions, ready to decide.
pub struct PurposedEngine {
    pub policy: CompiledPolicy,
    at: Timestamp,
}

/// The reason codes a generated question may produce: anything else (an unknown id, a
/// missing agreement, a transfer, a condition) would mean the comparison is not of the
/// rules alone.
pub const EXPECTED_CODES: &[ReasonCode] = &[
    ReasonCode::LegalBasis,
    ReasonCode::ProcessingAgreement,
    ReasonCode::ProcessingInEea,
    ReasonCode::CategoryNotDeclared,
    ReasonCode::RecipientNotEngaged,
];

impl PurposedEngine {
    pub fn new(rules: &RuleSet) -> PurposedEngine {
        let registry = Arc::new(rules.registry());
        PurposedEngine::compile(registry)
    }

    pub fn compile(registry: Arc<Registry>) -> PurposedEngine {
        let info = RevisionInfo {
            number: 1,
            applied_at: asked_at(),
            effective_from: asked_at(),
            manifest_sha256: "0".repeat(64),
        };
        PurposedEngine {
            policy: CompiledPolicy::compile(registry, info),
            at: asked_at(),
        }
    }

    #[inline]
    pub fn question<'a>(&self, rules: &'a RuleSet, req: &Req) -> Question<'a> {
        Question {
            purpose: &rules.purposes[req.purpose as usize],
            category: &rules.categories[req.category as usize].key,
            recipient: &rules.recipients[req.recipient as usize],
            at: self.at,
            collected_at: None,
            satisfied_conditions: &[],
        }
    }

    /// The timed call: one decision, the outcome built and dropped as a caller would.
    #[inline]
    pub fn decide(&self, rules: &RuleSet, req: &Req) -> bool {
        let outcome = self.policy.decide(&self.question(rules, req), None);
        outcome.decision == Decision::Allow
    }

    /// The decision, checked to be ALLOW or DENY for the expected reasons only.
    pub fn decide_checked(&self, rules: &RuleSet, req: &Req) -> Result<bool, String> {
        let outcome = self.policy.decide(&self.question(rules, req), None);
        if let Some(reason) = outcome
            .reasons
            .iter()
            .find(|reason| !EXPECTED_CODES.contains(&reason.code()))
        {
            return Err(format!("unexpected reason {:?} for {req:?}", reason.code()));
        }
        match outcome.decision {
            Decision::Allow => Ok(true),
            Decision::Deny => Ok(false),
            Decision::Conditional => Err(format!("CONDITIONAL for {req:?}")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cedar

/// Which way the rules are written for Cedar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CedarEncoding {
    /// One policy per rule:
    /// `permit(principal == Purpose::"p", action == Action::"share", resource in
    /// Category::"c") when { context.recipient == Recipient::"r" };`
    PolicyPerRule,
    /// The rules as entity data: each Purpose entity has one tag per engaged recipient whose
    /// value is the set of Category entities it may receive; one fixed policy reads them.
    EntityData,
}

/// The fixed policy of the entity-data encoding. `resource in S` for a set S holds when the
/// resource is, or descends from, a member of S: Cedar's hierarchy does the ancestry.
pub const ENTITY_DATA_POLICY: &str = r#"permit(
    principal is Purpose,
    action == Action::"share",
    resource is Category
) when {
    principal.hasTag(context.recipient) &&
    resource in principal.getTag(context.recipient)
};
"#;

/// What it took to set one Cedar encoding up.
#[derive(Clone, Copy, Debug, Default)]
pub struct CedarSetup {
    /// Writing and parsing the policies.
    pub policies_s: f64,
    /// Building the entities (with the transitive closure of the hierarchy).
    pub entities_s: f64,
    /// Building the Cedar requests for the question set (not counted in setup).
    pub requests_s: f64,
    pub policy_count: usize,
    pub policy_text_bytes: usize,
}

pub struct CedarEngine {
    pub encoding: CedarEncoding,
    pub policies: PolicySet,
    pub entities: Entities,
    pub authorizer: Authorizer,
    /// One prebuilt Cedar request per question, in order.
    pub requests: Vec<CedarRequest>,
    pub setup: CedarSetup,
}

fn type_name(name: &str) -> EntityTypeName {
    EntityTypeName::from_str(name).expect("a type name")
}

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

/// Cedar string literal for an id (the generated ids need no escaping; checked).
fn lit(id: &str) -> &str {
    debug_assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    );
    id
}

impl CedarEngine {
    pub fn new(rules: &RuleSet, encoding: CedarEncoding, reqs: &[Req]) -> CedarEngine {
        let purpose_t = type_name("Purpose");
        let recipient_t = type_name("Recipient");
        let category_t = type_name("Category");
        let action = uid(&type_name("Action"), "share");
        let mut setup = CedarSetup::default();

        // Policies.
        let started = std::time::Instant::now();
        let text = match encoding {
            CedarEncoding::PolicyPerRule => {
                let mut text = String::with_capacity(rules.rule_count() * 170);
                for (purpose, grants) in rules.grants.iter().enumerate() {
                    for grant in grants {
                        for &category in &grant.categories {
                            writeln!(
                                text,
                                "permit(principal == Purpose::\"{}\", action == Action::\"share\", \
                                 resource in Category::\"{}\") when {{ context.recipient == \
                                 Recipient::\"{}\" }};",
                                lit(&rules.purposes[purpose]),
                                lit(&rules.categories[category as usize].key),
                                lit(&rules.recipients[grant.recipient as usize]),
                            )
                            .expect("writing to a string");
                        }
                    }
                }
                text
            }
            CedarEncoding::EntityData => ENTITY_DATA_POLICY.to_string(),
        };
        setup.policy_text_bytes = text.len();
        let policies = PolicySet::from_str(&text).expect("the generated policies parse");
        setup.policy_count = policies.policies().count();
        setup.policies_s = started.elapsed().as_secs_f64();

        // Entities: the category tree under Category::"user" in both encodings; purposes
        // and recipients plain in the first, purposes carrying their grants in the second.
        let started = std::time::Instant::now();
        let root = uid(&category_t, ROOT);
        let mut entities: Vec<Entity> =
            Vec::with_capacity(1 + rules.categories.len() + rules.purposes.len() + RECIPIENTS);
        entities.push(Entity::new_no_attrs(root.clone(), HashSet::new()));
        for category in &rules.categories {
            let parent = match category.parent {
                Some(parent) => uid(&category_t, &rules.categories[parent as usize].key),
                None => root.clone(),
            };
            entities.push(Entity::new_no_attrs(
                uid(&category_t, &category.key),
                HashSet::from([parent]),
            ));
        }
        match encoding {
            CedarEncoding::PolicyPerRule => {
                for purpose in &rules.purposes {
                    entities.push(Entity::new_no_attrs(
                        uid(&purpose_t, purpose),
                        HashSet::new(),
                    ));
                }
                for recipient in &rules.recipients {
                    entities.push(Entity::new_no_attrs(
                        uid(&recipient_t, recipient),
                        HashSet::new(),
                    ));
                }
            }
            CedarEncoding::EntityData => {
                for (purpose, grants) in rules.grants.iter().enumerate() {
                    let tags = grants.iter().map(|grant| {
                        (
                            rules.recipients[grant.recipient as usize].clone(),
                            RestrictedExpression::new_set(grant.categories.iter().map(|&c| {
                                RestrictedExpression::new_entity_uid(uid(
                                    &category_t,
                                    &rules.categories[c as usize].key,
                                ))
                            })),
                        )
                    });
                    entities.push(
                        Entity::new_with_tags(
                            uid(&purpose_t, &rules.purposes[purpose]),
                            [],
                            [],
                            tags,
                        )
                        .expect("a purpose entity"),
                    );
                }
            }
        }
        let entities = Entities::from_entities(entities, None).expect("the entities are valid");
        setup.entities_s = started.elapsed().as_secs_f64();

        let started = std::time::Instant::now();
        let requests = reqs
            .iter()
            .map(|req| {
                let recipient = &rules.recipients[req.recipient as usize];
                let recipient = match encoding {
                    CedarEncoding::PolicyPerRule => {
                        RestrictedExpression::new_entity_uid(uid(&recipient_t, recipient))
                    }
                    // getTag takes a string key.
                    CedarEncoding::EntityData => {
                        RestrictedExpression::new_string(recipient.clone())
                    }
                };
                let context =
                    Context::from_pairs([("recipient".to_string(), recipient)]).expect("a context");
                CedarRequest::new(
                    uid(&purpose_t, &rules.purposes[req.purpose as usize]),
                    action.clone(),
                    uid(&category_t, &rules.categories[req.category as usize].key),
                    context,
                    None,
                )
                .expect("a request")
            })
            .collect();
        setup.requests_s = started.elapsed().as_secs_f64();

        CedarEngine {
            encoding,
            policies,
            entities,
            authorizer: Authorizer::new(),
            requests,
            setup,
        }
    }

    /// The timed call: one authorization of the i-th prebuilt request.
    #[inline]
    pub fn decide(&self, index: usize) -> bool {
        self.authorizer
            .is_authorized(&self.requests[index], &self.policies, &self.entities)
            .decision()
            == CedarDecision::Allow
    }

    /// The decision, checked to have come without evaluation errors.
    pub fn decide_checked(&self, index: usize) -> Result<bool, String> {
        let response =
            self.authorizer
                .is_authorized(&self.requests[index], &self.policies, &self.entities);
        if let Some(error) = response.diagnostics().errors().next() {
            return Err(format!("Cedar ({:?}) error: {error}", self.encoding));
        }
        Ok(response.decision() == CedarDecision::Allow)
    }
}

/// Decision counts over a question set, once all engines agreed.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub requests: usize,
    pub allows: usize,
    pub denies: usize,
    /// How many questions (the first ones) each Cedar engine was checked on, in the order
    /// given.
    pub cedar_checked: Vec<usize>,
}

/// Decides every question with purposed, and the first `limit` with each Cedar engine given
/// (spread over the machine's threads), compares each answer with the rules, and returns
/// the first disagreement as an error.
pub fn check_agreement(
    rules: &RuleSet,
    reqs: &[Req],
    purposed: &PurposedEngine,
    cedars: &[(&CedarEngine, usize)],
) -> Result<Tally, String> {
    let mut tally = Tally::default();
    for (index, req) in reqs.iter().enumerate() {
        let ours = purposed.decide_checked(rules, req)?;
        if ours != req.expected {
            return Err(format!(
                "purposed says {} but the rules say {} for request {index} {req:?} ({} {} {})",
                ours,
                req.expected,
                rules.purposes[req.purpose as usize],
                rules.categories[req.category as usize].key,
                rules.recipients[req.recipient as usize]
            ));
        }
        tally.requests += 1;
        if req.expected {
            tally.allows += 1;
        } else {
            tally.denies += 1;
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    for &(cedar, limit) in cedars {
        let limit = limit.min(reqs.len());
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|thread| {
                    scope.spawn(move || -> Result<(), String> {
                        for index in (thread..limit).step_by(threads) {
                            let req = &reqs[index];
                            let theirs = cedar.decide_checked(index)?;
                            if theirs != req.expected {
                                return Err(format!(
                                    "Cedar ({:?}) says {} but the rules say {} for request \
                                     {index} {req:?}",
                                    cedar.encoding, theirs, req.expected
                                ));
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|worker| worker.join().expect("a checking thread panicked"))
        })?;
        tally.cedar_checked.push(limit);
    }
    Ok(tally)
}

/// How many requests of each kind, for the report.
pub fn kinds(reqs: &[Req]) -> HashMap<&'static str, usize> {
    let mut out = HashMap::new();
    for req in reqs {
        let name = match req.kind {
            RequestKind::Covered => "covered",
            RequestKind::EngagedAnyCategory => "engaged_any_category",
            RequestKind::Random => "random",
        };
        *out.entry(name).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: u64 = 0x5EED_2026;

    fn fixture() -> (RuleSet, Vec<Req>) {
        let rules = RuleSet::generate(1_000, SEED);
        let reqs = rules.requests(2_000, SEED ^ 1);
        (rules, reqs)
    }

    #[test]
    fn the_rule_set_has_the_stated_shape() {
        let (rules, reqs) = fixture();
        assert_eq!(rules.rule_count(), 1_000);
        assert_eq!(rules.purposes.len(), 50);
        assert_eq!(rules.categories.len(), 520);
        let pairs: usize = rules
            .grants
            .iter()
            .flatten()
            .map(|grant| grant.categories.len())
            .sum();
        assert_eq!(pairs, 1_000, "rules = engagement x limited category pairs");
        let allows = reqs.iter().filter(|req| req.expected).count();
        assert!(
            (800..=1_300).contains(&allows),
            "roughly half allowed, got {allows} of 2000"
        );
        // Ancestry matters: some allowed questions name a category strictly below a limit.
        assert!(reqs.iter().any(|req| {
            req.expected
                && !rules.grants[req.purpose as usize].iter().any(|grant| {
                    grant.recipient == req.recipient && grant.categories.contains(&req.category)
                })
        }));
    }

    #[test]
    fn the_registry_holds_the_rules() {
        let (rules, _) = fixture();
        let registry = rules.registry();
        let limits: usize = registry
            .purposes
            .iter()
            .flat_map(|purpose| &purpose.engagements)
            .map(|engagement| engagement.categories.len())
            .sum();
        assert_eq!(limits, 1_000);
        assert!(registry.purposes.iter().all(|purpose| {
            purpose.engagements.iter().all(|engagement| {
                engagement
                    .categories
                    .iter()
                    .all(|category| purpose.categories.contains(category))
            })
        }));
    }

    #[test]
    fn purposed_decides_by_the_rules_for_the_expected_reasons() {
        let (rules, reqs) = fixture();
        let engine = PurposedEngine::new(&rules);
        for req in &reqs {
            assert_eq!(
                engine.decide_checked(&rules, req),
                Ok(req.expected),
                "{req:?}"
            );
        }
        // The deny reasons meant: not engaged for the purpose, not for the category, and a
        // category the purpose never declared.
        let codes: HashSet<_> = reqs
            .iter()
            .flat_map(|req| {
                engine
                    .policy
                    .decide(&engine.question(&rules, req), None)
                    .reasons
                    .iter()
                    .map(|reason| reason.code())
                    .collect::<Vec<_>>()
            })
            .collect();
        for code in [
            ReasonCode::RecipientNotEngaged,
            ReasonCode::CategoryNotDeclared,
            ReasonCode::ProcessingAgreement,
            ReasonCode::ProcessingInEea,
        ] {
            assert!(codes.contains(&code), "{code:?} never came up");
        }
    }

    #[test]
    fn all_three_agree_on_the_1k_set() {
        let rules = RuleSet::generate(1_000, SEED);
        let reqs = rules.requests(10_000, SEED ^ 1);
        let purposed = PurposedEngine::new(&rules);
        let per_rule = CedarEngine::new(&rules, CedarEncoding::PolicyPerRule, &reqs);
        let data = CedarEngine::new(&rules, CedarEncoding::EntityData, &reqs);
        assert_eq!(per_rule.setup.policy_count, 1_000);
        assert_eq!(data.setup.policy_count, 1);
        let tally = check_agreement(
            &rules,
            &reqs,
            &purposed,
            &[(&per_rule, usize::MAX), (&data, usize::MAX)],
        )
        .unwrap();
        assert_eq!(tally.cedar_checked, [10_000, 10_000]);
        assert_eq!(tally.requests, 10_000);
        assert!(tally.allows > 3_000 && tally.denies > 3_000, "{tally:?}");
    }

    #[test]
    fn a_disagreement_is_reported() {
        let (rules, reqs) = fixture();
        let purposed = PurposedEngine::new(&rules);
        let mut wrong = reqs[..10].to_vec();
        wrong[3].expected = !wrong[3].expected;
        let error = check_agreement(&rules, &wrong, &purposed, &[]).unwrap_err();
        assert!(error.contains("request 3"), "{error}");
    }

    #[test]
    fn zipf_is_skewed() {
        let mut rng = Rng::new(7);
        let zipf = Zipf::new(1_000, 1.0, &mut rng);
        let mut counts = vec![0usize; 1_000];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng) as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        // H(1000) ~ 7.485: the top item takes ~13%, the top ten ~39%.
        assert!((11_000..15_500).contains(&counts[0]), "{}", counts[0]);
        let top10: usize = counts[..10].iter().sum();
        assert!((35_000..43_000).contains(&top10), "{top10}");
    }
}
