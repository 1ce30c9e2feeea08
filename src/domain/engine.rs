//! The compiled index of one registry revision and `decide()`, which answers a question from
//! it alone. Compiling interns every id so that a decision is a few hash lookups and short
//! walks up the category hierarchy and the processor chain.

use std::{collections::HashMap, sync::Arc};

use foldhash::fast::RandomState;

use jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{
    decision::{
        Duty, NotAuthorised, NotEngaged, Obligation, Outcome, Reason, RevisionTimes,
        SpecialCategoryGround, Transfer, TransferMechanism,
    },
    geo::{self, AdequacyScope, Territory},
    names::ConditionId,
    policy::{
        LegalBasis, Mechanism, OrganisationRole, Period, RecipientKind, RecipientStatus, Registry,
        RetentionEvent, SpecialCondition, UntestedInterests,
    },
    subject::{ConsentStatus, SubjectState},
    taxonomy::{self, Sensitivity},
};

type CategoryId = u32;

/// One question asked of a compiled registry.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub purpose: &'a str,
    pub category: &'a str,
    pub recipient: &'a str,
    pub at: Timestamp,
    pub collected_at: Option<Timestamp>,
    /// Engagement conditions the caller asserts hold.
    pub satisfied_conditions: &'a [ConditionId],
}

/// A category in the compiled taxonomy (default and the organisation's own keys).
#[derive(Debug)]
pub struct CategoryNode {
    pub key: Arc<str>,
    pub name: Arc<str>,
    pub parent: Option<CategoryId>,
    /// Own sensitivity, or the strongest of its ancestors.
    pub sensitivity: Sensitivity,
    pub dpv: Option<Arc<str>>,
    pub builtin: bool,
    pub source: Option<Arc<str>>,
}

#[derive(Debug)]
struct CompiledPurpose {
    id: Arc<str>,
    basis: Option<LegalBasis>,
    balancing_test: Option<Arc<str>>,
    basis_source: Arc<str>,
    special_condition: Option<SpecialCondition>,
    criminal_data_authorisation: Option<Arc<str>>,
    direct_marketing: bool,
    storage_only: bool,
    /// The condition under which the purpose needs no consent besides its basis.
    consent_unless: Option<Arc<str>>,
    /// Declared categories, sorted.
    declared: Vec<CategoryId>,
    /// Engagements by recipient index, sorted.
    engagements: Vec<(usize, CompiledEngagement)>,
    retention: Vec<CompiledRetention>,
    source: Arc<str>,
}

#[derive(Debug)]
struct CompiledEngagement {
    /// Categories the recipient is limited to, sorted; `None` for all of the purpose's.
    limits: Option<Vec<CategoryId>>,
    condition: Option<(Arc<str>, Arc<str>)>,
    source: Arc<str>,
}

#[derive(Debug)]
struct CompiledRetention {
    period: Period,
    from: RetentionEvent,
    /// Categories it applies to, sorted; empty for all of the purpose's.
    categories: Vec<CategoryId>,
    source: Arc<str>,
}

#[derive(Debug)]
struct CompiledSafeguard {
    mechanism: Mechanism,
    countries: Vec<Territory>,
    reference: Option<Arc<str>>,
    source: Arc<str>,
}

#[derive(Debug)]
struct CompiledAgreement {
    reference: Arc<str>,
    effective_from: Option<Date>,
    effective_to: Option<Date>,
    source: Arc<str>,
}

impl CompiledAgreement {
    /// Both ends are days in force.
    fn in_force_on(&self, day: Date) -> bool {
        self.effective_from.is_none_or(|start| start <= day)
            && self.effective_to.is_none_or(|end| day <= end)
    }
}

#[derive(Debug)]
struct CompiledRecipient {
    id: Arc<str>,
    kind: RecipientKind,
    status: RecipientStatus,
    /// The processors it sits under, nearest first.
    ancestors: Vec<usize>,
    locations: Vec<Territory>,
    agreements: Vec<CompiledAgreement>,
    safeguards: Vec<CompiledSafeguard>,
    dpf_certified: bool,
    source: Arc<str>,
}

/// Whether an answer needs the subject's consent.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ConsentNeed {
    NotNeeded,
    Needed {
        explicit: bool,
        /// The condition that would lift it, for a purpose with `consent_unless`.
        unless: Option<Arc<str>>,
    },
}

impl ConsentNeed {
    /// The basis the answer rests on: consent where the purpose needs it of the subject
    /// besides another basis (`consent_unless` not asserted), else the purpose's own.
    fn basis(&self, purpose: &CompiledPurpose) -> Option<LegalBasis> {
        match self {
            ConsentNeed::Needed {
                unless: Some(_), ..
            } => Some(LegalBasis::Consent),
            _ => purpose.basis,
        }
    }

    fn of(purpose: &CompiledPurpose, question: &Question<'_>) -> ConsentNeed {
        let explicit = purpose.special_condition == Some(SpecialCondition::ExplicitConsent);
        // Only beside another basis: the manifest refuses it on consent or on none.
        let unless = purpose
            .consent_unless
            .as_ref()
            .filter(|_| {
                purpose
                    .basis
                    .is_some_and(|basis| basis != LegalBasis::Consent)
            })
            .filter(|condition| {
                !question
                    .satisfied_conditions
                    .iter()
                    .any(|asserted| asserted.as_str() == &***condition)
            })
            .cloned();
        if purpose.basis == Some(LegalBasis::Consent) || explicit || unless.is_some() {
            ConsentNeed::Needed { explicit, unless }
        } else {
            ConsentNeed::NotNeeded
        }
    }
}

/// When and from what a revision was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionInfo {
    pub number: u64,
    /// Transaction time: when purposed learnt what the revision says.
    pub applied_at: Timestamp,
    /// Valid time: since when the revision describes the processing. A revision describes
    /// it from then on, until a revision applied later says otherwise from a moment of its
    /// own.
    pub effective_from: Timestamp,
    /// SHA-256 of the manifest text, hex.
    pub manifest_sha256: String,
}

/// Ids to positions. The keys come from the registry, not from callers, so a fast hash
/// without flooding resistance is safe; its seed is still random per map.
type IdIndex<T> = HashMap<Arc<str>, T, RandomState>;

/// One registry revision, compiled for answering questions.
#[derive(Debug)]
pub struct CompiledPolicy {
    info: RevisionInfo,
    registry: Arc<Registry>,
    country: Territory,
    role: OrganisationRole,
    untested_interests: UntestedInterests,
    category_index: IdIndex<CategoryId>,
    categories: Vec<CategoryNode>,
    purpose_index: IdIndex<usize>,
    purposes: Vec<CompiledPurpose>,
    recipient_index: IdIndex<usize>,
    recipients: Vec<CompiledRecipient>,
}

impl CompiledPolicy {
    /// Compiles a registry. The registry is valid by construction (the manifest layer
    /// validated it), so every reference resolves; one that does not is skipped rather than
    /// trusted.
    pub fn compile(registry: Arc<Registry>, info: RevisionInfo) -> CompiledPolicy {
        let mut categories: Vec<CategoryNode> =
            Vec::with_capacity(taxonomy::DEFAULT_TAXONOMY.len() + registry.categories.len());
        let mut category_index: IdIndex<CategoryId> = IdIndex::default();
        let mut add = |node: CategoryNode, categories: &mut Vec<CategoryNode>| {
            category_index.insert(node.key.clone(), categories.len() as CategoryId);
            categories.push(node);
        };
        for builtin in taxonomy::DEFAULT_TAXONOMY {
            // The default taxonomy lists every parent before its children.
            let parent = taxonomy::parent_key(builtin.key)
                .and_then(|parent| categories.iter().position(|node| &*node.key == parent));
            add(
                CategoryNode {
                    key: builtin.key.into(),
                    name: builtin.name.into(),
                    parent: parent.map(|index| index as CategoryId),
                    sensitivity: builtin.sensitivity,
                    dpv: Some(builtin.dpv.into()),
                    builtin: true,
                    source: None,
                },
                &mut categories,
            );
        }
        // Parents before children: a key with fewer segments cannot descend from one with more.
        let mut custom: Vec<_> = registry.categories.iter().collect();
        custom.sort_by_key(|category| (category.key.matches('.').count(), category.key.as_str()));
        for category in custom {
            let parent = taxonomy::parent_key(&category.key)
                .and_then(|parent| categories.iter().position(|node| &*node.key == parent));
            let inherited = parent
                .map(|parent| categories[parent].sensitivity)
                .unwrap_or(Sensitivity::Ordinary);
            add(
                CategoryNode {
                    key: category.key.as_str().into(),
                    name: category.name.text().into(),
                    parent: parent.map(|index| index as CategoryId),
                    sensitivity: inherited.max(category.sensitivity),
                    dpv: category.dpv.as_deref().map(Arc::from),
                    builtin: false,
                    source: Some(category.source.as_str().into()),
                },
                &mut categories,
            );
        }
        let lookup_all = |keys: &[String]| -> Vec<CategoryId> {
            let mut ids: Vec<CategoryId> = keys
                .iter()
                .filter_map(|key| category_index.get(key.as_str()).copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };

        let recipient_index: IdIndex<usize> = registry
            .recipients
            .iter()
            .enumerate()
            .map(|(index, recipient)| (Arc::from(recipient.id.as_str()), index))
            .collect();
        let recipients = registry
            .recipients
            .iter()
            .map(|recipient| {
                let mut ancestors = Vec::new();
                let mut parent = recipient.parent.as_deref();
                // The whole chain, however deep: a recipient is allowed only when every
                // processor above it is, so a cut chain would allow what its root denies.
                // A cycle cannot pass validation; the membership check keeps a corrupt row
                // from looping.
                while let Some(id) = parent {
                    match recipient_index.get(id) {
                        Some(&index) if !ancestors.contains(&index) => {
                            ancestors.push(index);
                            parent = registry.recipients[index].parent.as_deref();
                        }
                        _ => break,
                    }
                }
                CompiledRecipient {
                    id: recipient.id.as_str().into(),
                    kind: recipient.kind,
                    status: recipient.status,
                    ancestors,
                    locations: recipient.locations.clone(),
                    agreements: recipient
                        .agreements
                        .iter()
                        .map(|agreement| CompiledAgreement {
                            reference: agreement.reference.as_str().into(),
                            effective_from: agreement.effective_from,
                            effective_to: agreement.effective_to,
                            source: agreement.source.as_str().into(),
                        })
                        .collect(),
                    dpf_certified: recipient
                        .safeguards
                        .iter()
                        .any(|safeguard| safeguard.mechanism == Mechanism::Dpf),
                    safeguards: recipient
                        .safeguards
                        .iter()
                        .map(|safeguard| CompiledSafeguard {
                            mechanism: safeguard.mechanism,
                            countries: safeguard.countries.clone(),
                            reference: safeguard.reference.as_deref().map(Arc::from),
                            source: safeguard.source.as_str().into(),
                        })
                        .collect(),
                    source: recipient.source.as_str().into(),
                }
            })
            .collect();

        let purpose_index = registry
            .purposes
            .iter()
            .enumerate()
            .map(|(index, purpose)| (Arc::from(purpose.id.as_str()), index))
            .collect();
        let purposes = registry
            .purposes
            .iter()
            .map(|purpose| {
                let source: Arc<str> = purpose.source.as_str().into();
                let mut engagements: Vec<(usize, CompiledEngagement)> = purpose
                    .engagements
                    .iter()
                    .filter_map(|engagement| {
                        let recipient = *recipient_index.get(engagement.recipient.as_str())?;
                        Some((
                            recipient,
                            CompiledEngagement {
                                limits: (!engagement.categories.is_empty())
                                    .then(|| lookup_all(&engagement.categories)),
                                condition: engagement.condition.as_ref().map(|condition| {
                                    (
                                        Arc::from(condition.id.as_str()),
                                        Arc::from(condition.description.as_str()),
                                    )
                                }),
                                source: engagement.source.as_str().into(),
                            },
                        ))
                    })
                    .collect();
                engagements.sort_by_key(|(recipient, _)| *recipient);
                CompiledPurpose {
                    id: purpose.id.as_str().into(),
                    basis: purpose.legal_basis,
                    balancing_test: purpose.balancing_test.as_deref().map(Arc::from),
                    basis_source: purpose
                        .legal_basis_source
                        .as_deref()
                        .map(Arc::from)
                        .unwrap_or_else(|| source.clone()),
                    special_condition: purpose.special_condition,
                    criminal_data_authorisation: purpose
                        .criminal_data_authorisation
                        .as_deref()
                        .map(Arc::from),
                    direct_marketing: purpose.direct_marketing,
                    storage_only: purpose.storage_only,
                    consent_unless: purpose
                        .consent_unless
                        .as_ref()
                        .map(|unless| Arc::from(unless.condition.id.as_str())),
                    declared: lookup_all(&purpose.categories),
                    engagements,
                    retention: purpose
                        .retention
                        .iter()
                        .map(|rule| CompiledRetention {
                            period: rule.period.clone(),
                            from: rule.from,
                            categories: lookup_all(&rule.categories),
                            source: rule.source.as_str().into(),
                        })
                        .collect(),
                    source,
                }
            })
            .collect();

        CompiledPolicy {
            info,
            country: registry.organisation.country,
            role: registry.organisation.role,
            untested_interests: registry.organisation.untested_interests,
            registry,
            category_index,
            categories,
            purpose_index,
            purposes,
            recipient_index,
            recipients,
        }
    }

    pub fn revision(&self) -> u64 {
        self.info.number
    }

    /// A registry compiled as a revision not stored yet (number 0), for what reads a manifest
    /// offline: the review of a file, the documents of a draft.
    pub fn unstored(registry: Registry, manifest_sha256: String, now: Timestamp) -> CompiledPolicy {
        CompiledPolicy::compile(
            Arc::new(registry),
            RevisionInfo {
                number: 0,
                applied_at: now,
                effective_from: now,
                manifest_sha256,
            },
        )
    }

    pub fn applied_at(&self) -> Timestamp {
        self.info.applied_at
    }

    pub fn effective_from(&self) -> Timestamp {
        self.info.effective_from
    }

    pub fn info(&self) -> &RevisionInfo {
        &self.info
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn role(&self) -> OrganisationRole {
        self.role
    }

    /// Every category the organisation can use, default and own, in taxonomy order.
    pub fn categories(&self) -> &[CategoryNode] {
        &self.categories
    }

    pub fn category(&self, key: &str) -> Option<&CategoryNode> {
        self.category_index
            .get(key)
            .map(|&id| &self.categories[id as usize])
    }

    /// Ancestors of a category, itself first.
    fn lineage(&self, category: CategoryId) -> impl Iterator<Item = CategoryId> + '_ {
        std::iter::successors(Some(category), |&id| self.categories[id as usize].parent)
    }

    /// Whether one of `declared` (sorted) is `category` or an ancestor of it.
    fn covered(&self, declared: &[CategoryId], category: CategoryId) -> bool {
        self.lineage(category)
            .any(|id| declared.binary_search(&id).is_ok())
    }

    /// How deep the most specific of `declared` covering `category` sits; `None` if none does.
    fn covering_depth(&self, declared: &[CategoryId], category: CategoryId) -> Option<usize> {
        let lineage: Vec<CategoryId> = self.lineage(category).collect();
        lineage
            .iter()
            .position(|id| declared.binary_search(id).is_ok())
            .map(|steps_up| lineage.len() - steps_up)
    }

    /// Answers one question. Every reason is collected; any deny reason makes the decision
    /// DENY, any condition CONDITIONAL, otherwise ALLOW.
    pub fn decide(&self, question: &Question<'_>, subject: Option<&SubjectState>) -> Outcome {
        let mut reasons = Vec::with_capacity(8);
        let mut obligations = Vec::new();
        let mut transfers = Vec::new();
        let day = question.at.to_zoned_datetime(TimeZone::UTC).date();

        let purpose = self
            .purpose_index
            .get(question.purpose)
            .map(|&index| &self.purposes[index]);
        let category = self.category_index.get(question.category).copied();
        // The organisation's own id asks about processing in-house: nothing is disclosed, so
        // there is no engagement, agreement or transfer to check.
        let in_house = question.recipient == self.registry.organisation.id;
        let recipient_index = self.recipient_index.get(question.recipient).copied();
        if purpose.is_none() {
            reasons.push(Reason::UnknownPurpose {
                purpose: question.purpose.into(),
            });
        }
        if category.is_none() {
            reasons.push(Reason::UnknownCategory {
                category: question.category.into(),
            });
        }
        if in_house {
            reasons.push(Reason::InHouse {
                organisation: question.recipient.into(),
                source: self.registry.organisation.source.as_str().into(),
            });
        } else if recipient_index.is_none() {
            reasons.push(Reason::UnknownRecipient {
                recipient: question.recipient.into(),
            });
        }

        if let Some(purpose) = purpose {
            let consent = ConsentNeed::of(purpose, question);
            let basis = consent.basis(purpose);
            self.check_legal_basis(purpose, basis, &mut reasons, &mut obligations);
            if let Some(category) = category {
                self.check_category(purpose, category, &mut reasons);
                self.check_retention(purpose, category, question, &mut reasons, &mut obligations);
            }
            if let Some(recipient) = recipient_index {
                self.check_engagement(purpose, category, recipient, question, &mut reasons);
            }
            match subject {
                None => self.subject_conditions(purpose, basis, consent, &mut reasons),
                Some(subject) => {
                    self.check_subject(purpose, basis, consent, subject, question.at, &mut reasons)
                }
            }
        }
        if let Some(recipient) = recipient_index {
            self.check_recipient(recipient, day, &mut reasons, &mut transfers);
        }
        let mut outcome = Outcome::from_reasons(reasons, obligations, transfers, self.info.number);
        outcome.revision_times = Some(RevisionTimes {
            applied_at: self.info.applied_at,
            effective_from: self.info.effective_from,
        });
        outcome
    }

    /// `basis` is the purpose's, or consent where the purpose needs it of this subject.
    fn check_legal_basis(
        &self,
        purpose: &CompiledPurpose,
        basis: Option<LegalBasis>,
        reasons: &mut Vec<Reason>,
        obligations: &mut Vec<Obligation>,
    ) {
        match basis {
            None => reasons.push(Reason::NoLegalBasis {
                purpose: purpose.id.clone(),
                missing_balancing_test: false,
                source: purpose.basis_source.clone(),
            }),
            Some(LegalBasis::LegitimateInterests)
                if purpose.balancing_test.is_none()
                    && self.untested_interests == UntestedInterests::Deny =>
            {
                reasons.push(Reason::NoLegalBasis {
                    purpose: purpose.id.clone(),
                    missing_balancing_test: true,
                    source: purpose.basis_source.clone(),
                })
            }
            Some(LegalBasis::LegitimateInterests) if purpose.balancing_test.is_none() => {
                reasons.push(Reason::LegalBasis {
                    purpose: purpose.id.clone(),
                    basis: LegalBasis::LegitimateInterests,
                    balancing_test: None,
                    source: purpose.basis_source.clone(),
                });
                obligations.push(Obligation {
                    duty: Duty::RecordBalancingTest {
                        purpose: purpose.id.clone(),
                    },
                    source: purpose.basis_source.clone(),
                });
            }
            // Only a processor acts on a controller's instructions.
            Some(LegalBasis::ControllerInstructions)
                if self.role != OrganisationRole::Processor =>
            {
                reasons.push(Reason::NoLegalBasis {
                    purpose: purpose.id.clone(),
                    missing_balancing_test: false,
                    source: purpose.basis_source.clone(),
                })
            }
            Some(basis) => reasons.push(Reason::LegalBasis {
                purpose: purpose.id.clone(),
                basis,
                balancing_test: purpose
                    .balancing_test
                    .clone()
                    .filter(|_| basis == LegalBasis::LegitimateInterests),
                source: purpose.basis_source.clone(),
            }),
        }
    }

    fn check_category(
        &self,
        purpose: &CompiledPurpose,
        category: CategoryId,
        reasons: &mut Vec<Reason>,
    ) {
        let node = &self.categories[category as usize];
        if !self.covered(&purpose.declared, category) {
            reasons.push(Reason::CategoryNotDeclared {
                purpose: purpose.id.clone(),
                category: node.key.clone(),
                source: purpose.source.clone(),
            });
        }
        let ground = match node.sensitivity {
            Sensitivity::Ordinary => return,
            // The controller's condition is only a processor's to rely on.
            Sensitivity::Special => purpose
                .special_condition
                .filter(|condition| {
                    *condition != SpecialCondition::Controller
                        || self.role == OrganisationRole::Processor
                })
                .map(SpecialCategoryGround::Article9),
            Sensitivity::Criminal => purpose
                .criminal_data_authorisation
                .clone()
                .map(SpecialCategoryGround::Article10),
        };
        reasons.push(match ground {
            Some(condition) => Reason::SpecialCategoryCondition {
                purpose: purpose.id.clone(),
                category: node.key.clone(),
                condition,
                source: purpose.source.clone(),
            },
            None => Reason::SpecialCategoryWithoutCondition {
                purpose: purpose.id.clone(),
                category: node.key.clone(),
                criminal: node.sensitivity == Sensitivity::Criminal,
                source: purpose.source.clone(),
            },
        });
    }

    fn check_retention(
        &self,
        purpose: &CompiledPurpose,
        category: CategoryId,
        question: &Question<'_>,
        reasons: &mut Vec<Reason>,
        obligations: &mut Vec<Obligation>,
    ) {
        // The most specific rules covering the category apply; a rule without categories
        // covers the whole purpose at depth 0.
        let depth = |rule: &CompiledRetention| {
            if rule.categories.is_empty() {
                Some(0)
            } else {
                self.covering_depth(&rule.categories, category)
            }
        };
        let Some(deepest) = purpose.retention.iter().filter_map(depth).max() else {
            return;
        };
        for rule in purpose
            .retention
            .iter()
            .filter(|rule| depth(rule) == Some(deepest))
        {
            let due = match (rule.from, question.collected_at) {
                (RetentionEvent::Collection, Some(collected_at)) => collected_at
                    .to_zoned_datetime(TimeZone::UTC)
                    .checked_add(rule.period.span())
                    .ok()
                    .map(|end| end.timestamp()),
                _ => None,
            };
            if let Some(due) = due
                && due < question.at
            {
                reasons.push(Reason::RetentionExpired {
                    purpose: purpose.id.clone(),
                    period: rule.period.clone(),
                    expired_at: due,
                    source: rule.source.clone(),
                });
            }
            obligations.push(Obligation {
                duty: Duty::Erase {
                    period: rule.period.clone(),
                    from: rule.from,
                    due,
                },
                source: rule.source.clone(),
            });
        }
    }

    fn check_engagement(
        &self,
        purpose: &CompiledPurpose,
        category: Option<CategoryId>,
        recipient: usize,
        question: &Question<'_>,
        reasons: &mut Vec<Reason>,
    ) {
        let recipient_id = &self.recipients[recipient].id;
        let engagement = purpose
            .engagements
            .binary_search_by_key(&recipient, |(index, _)| *index)
            .ok()
            .map(|position| &purpose.engagements[position].1);
        let Some(engagement) = engagement else {
            reasons.push(Reason::RecipientNotEngaged {
                purpose: purpose.id.clone(),
                recipient: recipient_id.clone(),
                why: NotEngaged::NotForPurpose,
                source: purpose.source.clone(),
            });
            return;
        };
        if let (Some(limits), Some(category)) = (&engagement.limits, category)
            && !self.covered(limits, category)
        {
            reasons.push(Reason::RecipientNotEngaged {
                purpose: purpose.id.clone(),
                recipient: recipient_id.clone(),
                why: NotEngaged::NotForCategory,
                source: engagement.source.clone(),
            });
        }
        if let Some((condition, description)) = &engagement.condition
            && !question
                .satisfied_conditions
                .iter()
                .any(|satisfied| satisfied.as_str() == &**condition)
        {
            reasons.push(Reason::EngagementCondition {
                recipient: recipient_id.clone(),
                condition: condition.clone(),
                description: description.clone(),
                source: engagement.source.clone(),
            });
        }
    }

    /// Agreements, authorisation and transfers of the recipient and of every processor it
    /// sits under: data given to a subprocessor passes through them all.
    /// Every location outside the EEA that data sent to `recipient` reaches (through the
    /// processors above it too), with what covers each on `day`, exactly as Check judges it:
    /// `TransferMechanism::None` where nothing does. For the documents and the review.
    pub fn transfers_outside_eea(&self, recipient: &str, day: Date) -> Vec<Transfer> {
        let Some(&index) = self.recipient_index.get(recipient) else {
            return Vec::new();
        };
        let (mut reasons, mut transfers) = (Vec::new(), Vec::new());
        self.check_recipient(index, day, &mut reasons, &mut transfers);
        transfers.retain(|transfer| transfer.mechanism != TransferMechanism::WithinEea);
        transfers
    }

    fn check_recipient(
        &self,
        index: usize,
        day: Date,
        reasons: &mut Vec<Reason>,
        transfers: &mut Vec<Transfer>,
    ) {
        let asked = &self.recipients[index];
        let mut outside_eea = false;
        for node_index in std::iter::once(index).chain(asked.ancestors.iter().copied()) {
            let node = &self.recipients[node_index];
            let via = (node_index != index).then(|| asked.id.clone());

            match node.status {
                RecipientStatus::Active => {}
                RecipientStatus::Proposed {
                    objection_window_ends,
                } if day > objection_window_ends => {}
                RecipientStatus::Proposed {
                    objection_window_ends,
                } => reasons.push(Reason::SubprocessorNotAuthorised {
                    subprocessor: node.id.clone(),
                    via: via.clone(),
                    why: NotAuthorised::ObjectionWindowOpen {
                        ends: objection_window_ends,
                    },
                    source: node.source.clone(),
                }),
                RecipientStatus::Retired if node.kind == RecipientKind::Subprocessor => reasons
                    .push(Reason::SubprocessorNotAuthorised {
                        subprocessor: node.id.clone(),
                        via: via.clone(),
                        why: NotAuthorised::Retired,
                        source: node.source.clone(),
                    }),
                RecipientStatus::Retired => reasons.push(Reason::RecipientRetired {
                    recipient: node.id.clone(),
                    via: via.clone(),
                    source: node.source.clone(),
                }),
            }

            if node.kind.is_processor() {
                match node
                    .agreements
                    .iter()
                    .find(|agreement| agreement.in_force_on(day))
                {
                    Some(agreement) => reasons.push(Reason::ProcessingAgreement {
                        processor: node.id.clone(),
                        reference: agreement.reference.clone(),
                        source: agreement.source.clone(),
                    }),
                    None => reasons.push(Reason::NoProcessingAgreement {
                        processor: node.id.clone(),
                        via: via.clone(),
                        day,
                        source: node.source.clone(),
                    }),
                }
            }

            for &territory in &node.locations {
                if territory.is_eea() {
                    transfers.push(Transfer {
                        recipient: node.id.clone(),
                        territory,
                        mechanism: TransferMechanism::WithinEea,
                        source: node.source.clone(),
                    });
                    continue;
                }
                outside_eea = true;
                match self.transfer_mechanism(node, territory, day) {
                    Ok(transfer) => {
                        reasons.push(Reason::Transfer(transfer.clone()));
                        transfers.push(transfer);
                    }
                    Err(note) => {
                        reasons.push(Reason::TransferWithoutSafeguard {
                            recipient: node.id.clone(),
                            via: via.clone(),
                            territory,
                            day,
                            note,
                            source: node.source.clone(),
                        });
                        transfers.push(Transfer {
                            recipient: node.id.clone(),
                            territory,
                            mechanism: TransferMechanism::None,
                            source: node.source.clone(),
                        });
                    }
                }
            }
        }
        if !outside_eea {
            reasons.push(Reason::ProcessingInEea {
                recipient: asked.id.clone(),
                chain: !asked.ancestors.is_empty(),
                source: asked.source.clone(),
            });
        }
    }

    /// The mechanism covering one location outside the EEA, preferring an adequacy decision,
    /// then DPF, BCR, SCC, a code of conduct and a certification. On failure, a note on why
    /// an existing adequacy decision did not apply.
    fn transfer_mechanism(
        &self,
        node: &CompiledRecipient,
        territory: Territory,
        day: Date,
    ) -> Result<Transfer, Option<&'static str>> {
        let transfer = |mechanism, source: &Arc<str>| Transfer {
            recipient: node.id.clone(),
            territory,
            mechanism,
            source: source.clone(),
        };
        let mut note = None;
        if let Some(adequacy) = geo::adequacy_on(territory, day) {
            match adequacy.scope {
                AdequacyScope::Whole | AdequacyScope::CommercialOrganisations => {
                    return Ok(transfer(
                        TransferMechanism::Adequacy(adequacy),
                        &node.source,
                    ));
                }
                AdequacyScope::DpfCertified if node.dpf_certified => {
                    let source = node
                        .safeguards
                        .iter()
                        .find(|safeguard| safeguard.mechanism == Mechanism::Dpf)
                        .map(|safeguard| &safeguard.source)
                        .unwrap_or(&node.source);
                    return Ok(transfer(TransferMechanism::Dpf, source));
                }
                AdequacyScope::DpfCertified => {
                    note = Some("the US adequacy decision covers only DPF-certified recipients");
                }
            }
        }
        let rank = |mechanism: &Mechanism| match mechanism {
            Mechanism::Dpf => 0,
            Mechanism::Bcr => 1,
            Mechanism::Scc { .. } => 2,
            Mechanism::CodeOfConduct => 3,
            Mechanism::Certification => 4,
        };
        node.safeguards
            .iter()
            .filter(|safeguard| {
                safeguard.mechanism != Mechanism::Dpf
                    && (safeguard.countries.is_empty() || safeguard.countries.contains(&territory))
            })
            .min_by_key(|safeguard| rank(&safeguard.mechanism))
            .map(|safeguard| {
                let reference = safeguard.reference.clone();
                let mechanism = match safeguard.mechanism {
                    Mechanism::Scc { module } => TransferMechanism::Scc { module, reference },
                    Mechanism::Bcr => TransferMechanism::Bcr { reference },
                    Mechanism::CodeOfConduct => TransferMechanism::CodeOfConduct { reference },
                    Mechanism::Certification | Mechanism::Dpf => {
                        TransferMechanism::Certification { reference }
                    }
                };
                transfer(mechanism, &safeguard.source)
            })
            .ok_or(note)
    }

    /// Without a subject: the conditions a subject-dependent purpose puts on the answer.
    fn subject_conditions(
        &self,
        purpose: &CompiledPurpose,
        basis: Option<LegalBasis>,
        consent: ConsentNeed,
        reasons: &mut Vec<Reason>,
    ) {
        if let ConsentNeed::Needed { explicit, unless } = consent {
            reasons.push(Reason::ConsentRequired {
                purpose: purpose.id.clone(),
                explicit,
                age_threshold: geo::digital_consent_age(self.country),
                country: self.country,
                unless,
            });
        }
        if purpose.direct_marketing || basis.is_some_and(LegalBasis::objectionable) {
            reasons.push(Reason::NoObjectionRequired {
                purpose: purpose.id.clone(),
                direct_marketing: purpose.direct_marketing,
            });
        }
    }

    /// With a subject: consent, age, objections, restriction and erasure as they stood at `at`.
    fn check_subject(
        &self,
        purpose: &CompiledPurpose,
        basis: Option<LegalBasis>,
        consent: ConsentNeed,
        subject: &SubjectState,
        at: Timestamp,
        reasons: &mut Vec<Reason>,
    ) {
        // The organisation's own floor, for every purpose; unlike the consent age it does not
        // yield to a parent's consent. A subject whose birth is not recorded is not held to
        // be under it, as the consent age is not.
        if let Some(minimum) = &self.registry.organisation.minimum_age
            && let Some(age) = subject.youngest_age_at(at)
            && age < i16::from(minimum.years)
        {
            reasons.push(Reason::BelowServiceAge {
                age,
                minimum: minimum.years,
                source: minimum.source.as_str().into(),
            });
        }
        if consent != ConsentNeed::NotNeeded {
            match subject.consent(&purpose.id, at) {
                ConsentStatus::None => reasons.push(Reason::ConsentMissing {
                    purpose: purpose.id.clone(),
                }),
                ConsentStatus::Withdrawn(event) => reasons.push(Reason::ConsentWithdrawn {
                    purpose: purpose.id.clone(),
                    withdrawn_at: event.at,
                }),
                ConsentStatus::Given(event) => {
                    reasons.push(Reason::ConsentGiven {
                        purpose: purpose.id.clone(),
                        given_at: event.at,
                        notice_version: event.notice_version.clone(),
                    });
                    let threshold = geo::digital_consent_age(self.country);
                    if let Some(age) = subject.youngest_age_at(at)
                        && age < i16::from(threshold)
                    {
                        reasons.push(if event.parental {
                            Reason::ParentalConsent {
                                purpose: purpose.id.clone(),
                                threshold,
                            }
                        } else {
                            Reason::BelowConsentAge {
                                purpose: purpose.id.clone(),
                                age,
                                threshold,
                                country: self.country,
                            }
                        });
                    }
                }
            }
        }

        let marketing_objection = purpose
            .direct_marketing
            .then(|| subject.direct_marketing_objection(at))
            .flatten();
        if let Some(objection) = marketing_objection {
            reasons.push(Reason::ObjectionActive {
                purpose: purpose.id.clone(),
                direct_marketing: true,
                objected_at: objection.at,
            });
        } else if let Some(objection) = subject.objection_to(&purpose.id, at) {
            // Direct marketing yields to any objection (Art. 21(3)); otherwise an objection
            // binds bases (e) and (f) unless compelling grounds are recorded (Art. 21(1)).
            if purpose.direct_marketing {
                reasons.push(Reason::ObjectionActive {
                    purpose: purpose.id.clone(),
                    direct_marketing: true,
                    objected_at: objection.at,
                });
            } else if basis.is_some_and(LegalBasis::objectionable) {
                match &objection.compelling_grounds {
                    Some(grounds) => reasons.push(Reason::CompellingGrounds {
                        purpose: purpose.id.clone(),
                        grounds: grounds.clone(),
                    }),
                    None => reasons.push(Reason::ObjectionActive {
                        purpose: purpose.id.clone(),
                        direct_marketing: false,
                        objected_at: objection.at,
                    }),
                }
            }
        }

        if subject.restricted_at(at) {
            reasons.push(if purpose.storage_only {
                Reason::StorageOnly {
                    purpose: purpose.id.clone(),
                }
            } else {
                Reason::RestrictionActive {
                    purpose: purpose.id.clone(),
                }
            });
        }
        if let Some(erasure) = subject.erasure.as_ref().filter(|_| subject.erased_at(at)) {
            // The law that requires keeping the data binds whatever the subject consented to.
            reasons.push(if purpose.basis == Some(LegalBasis::LegalObligation) {
                Reason::LegalObligationExemption {
                    purpose: purpose.id.clone(),
                    source: purpose.basis_source.clone(),
                }
            } else {
                Reason::ErasureRequested {
                    purpose: purpose.id.clone(),
                    verified_at: erasure.verified_at,
                }
            });
        }
    }

    /// Every location the data reaches when given to `recipient` (and the processors above
    /// it) on `day`, with the mechanism covering each; empty for an unknown recipient.
    pub fn transfers(&self, recipient: &str, day: Date) -> Vec<Transfer> {
        let Some(&index) = self.recipient_index.get(recipient) else {
            return Vec::new();
        };
        let mut reasons = Vec::new();
        let mut transfers = Vec::new();
        self.check_recipient(index, day, &mut reasons, &mut transfers);
        transfers
    }

    /// The ids of every purpose, sorted.
    pub fn purpose_ids(&self) -> impl Iterator<Item = &str> {
        self.registry
            .purposes
            .iter()
            .map(|purpose| purpose.id.as_str())
    }

    /// The recipients engaged for a purpose, by id.
    /// The recipients ListRecipients decides for: every registered one when the denied are
    /// wanted too, else those engaged under the purpose.
    pub fn candidate_recipients(&self, purpose: &str, include_denied: bool) -> Vec<&str> {
        if include_denied {
            self.registry
                .recipients
                .iter()
                .map(|recipient| recipient.id.as_str())
                .collect()
        } else {
            self.engaged_recipients(purpose)
        }
    }

    pub fn engaged_recipients(&self, purpose: &str) -> Vec<&str> {
        self.purpose_index
            .get(purpose)
            .map(|&index| {
                self.purposes[index]
                    .engagements
                    .iter()
                    .map(|(recipient, _)| &*self.recipients[*recipient].id)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn has_purpose(&self, purpose: &str) -> bool {
        self.purpose_index.contains_key(purpose)
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
