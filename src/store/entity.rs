//! sea-orm entities of the registry tables (see the migrations crate for the schema and why
//! rows carry revision ranges). These are storage rows only; `store::registry` maps them to
//! and from the domain model.

pub mod organisation {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organisations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub created_at: i64,
        pub latest_revision: i64,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod revision {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revisions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub organisation_id: String,
        pub number: i64,
        pub applied_at: i64,
        pub manifest_sha256: String,
        #[sea_orm(column_type = "Text")]
        pub manifest: String,
        /// The registry serialised by `store::registry`; null only before `migrate` converts
        /// a revision written before migration 6.
        #[sea_orm(column_type = "Text", nullable)]
        pub registry: Option<String>,
        /// Valid time, in microseconds: since when the revision describes the processing.
        pub effective_from: Option<i64>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod organisation_profile {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organisation_profiles")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub organisation_id: String,
        pub from_revision: i64,
        pub to_revision: Option<i64>,
        pub legal_name: String,
        pub registration_number: Option<String>,
        pub country: String,
        pub role: String,
        pub dpo_name: Option<String>,
        pub dpo_email: Option<String>,
        pub dpo_phone: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub dpo_address: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
        pub clock_waits_for_identity: bool,
        pub minimum_age: Option<i16>,
        #[sea_orm(column_type = "Text", nullable)]
        pub minimum_age_source: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod category {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "categories")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub organisation_id: String,
        pub from_revision: i64,
        pub to_revision: Option<i64>,
        pub key: String,
        pub name: String,
        pub sensitivity: String,
        pub dpv: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod recipient {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recipients")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub organisation_id: String,
        pub from_revision: i64,
        pub to_revision: Option<i64>,
        pub key: String,
        pub name: String,
        pub kind: String,
        pub parent_key: Option<String>,
        pub status: String,
        pub objection_window_ends: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub description: Option<String>,
        pub registration_number: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub address: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod recipient_location {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recipient_locations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub recipient_id: i32,
        pub country: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod recipient_agreement {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recipient_agreements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub recipient_id: i32,
        #[sea_orm(column_type = "Text")]
        pub reference: String,
        pub effective_from: Option<String>,
        pub effective_to: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod recipient_safeguard {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recipient_safeguards")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub recipient_id: i32,
        pub mechanism: String,
        pub scc_module: Option<i16>,
        #[sea_orm(column_type = "Text", nullable)]
        pub reference: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod safeguard_country {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "safeguard_countries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub safeguard_id: i32,
        pub country: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod purpose {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "purposes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub organisation_id: String,
        pub from_revision: i64,
        pub to_revision: Option<i64>,
        pub key: String,
        pub name: String,
        #[sea_orm(column_type = "Text", nullable)]
        pub description: Option<String>,
        pub legal_basis: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub legal_basis_source: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub balancing_test: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub legitimate_interest: Option<String>,
        pub special_condition: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub criminal_data_authorisation: Option<String>,
        pub direct_marketing: bool,
        pub storage_only: bool,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod purpose_category {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "purpose_categories")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub purpose_id: i32,
        #[sea_orm(column_type = "Text")]
        pub category_key: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod purpose_data_subject {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "purpose_data_subjects")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub purpose_id: i32,
        #[sea_orm(column_type = "Text")]
        pub name: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod purpose_data_source {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "purpose_data_sources")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub purpose_id: i32,
        #[sea_orm(column_type = "Text")]
        pub description: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod engagement {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "engagements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub purpose_id: i32,
        pub recipient_key: String,
        pub condition_id: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub condition_description: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod engagement_category {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "engagement_categories")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub engagement_id: i32,
        pub category_key: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod retention_rule {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "retention_rules")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub purpose_id: i32,
        pub period: String,
        pub from_event: String,
        #[sea_orm(column_type = "Text", nullable)]
        pub description: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub source: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod retention_rule_category {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "retention_rule_categories")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub retention_rule_id: i32,
        pub category_key: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subject_consent {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subject_consents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub subject: String,
        pub purpose: String,
        pub action: String,
        pub at: i64,
        pub notice_version: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub source: Option<String>,
        pub parental: bool,
        pub recorded_at: i64,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subject_objection {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subject_objections")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub subject: String,
        pub direct_marketing: bool,
        pub purpose: Option<String>,
        pub at: i64,
        #[sea_orm(column_type = "Text", nullable)]
        pub compelling_grounds: Option<String>,
        pub withdrawn_at: Option<i64>,
        pub rights_request_id: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subject_restriction {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subject_restrictions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub subject: String,
        pub from_at: i64,
        pub lifted_at: Option<i64>,
        #[sea_orm(column_type = "Text", nullable)]
        pub lift_note: Option<String>,
        pub rights_request_id: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subject_erasure {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subject_erasures")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub subject: String,
        pub verified_at: i64,
        pub rights_request_id: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subject_birth {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subject_births")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub subject: String,
        pub birth_date: Option<String>,
        pub birth_year: Option<i32>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rights_request {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rights_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub request_id: String,
        pub payload_sha256: String,
        pub kind: String,
        pub subject: String,
        pub received_at: i64,
        pub status: String,
        pub clock_started_on: Option<String>,
        pub first_due_on: Option<String>,
        pub due_on: Option<String>,
        pub extension_months: i16,
        #[sea_orm(column_type = "Text", nullable)]
        pub extension_reason: Option<String>,
        pub direct_marketing: bool,
        #[sea_orm(column_type = "Text", nullable)]
        pub details: Option<String>,
        pub rejection_reason: Option<String>,
        pub updated_at: i64,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rights_request_purpose {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rights_request_purposes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub rights_request_id: i64,
        pub purpose: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rights_request_note {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rights_request_notes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub rights_request_id: i64,
        pub kind: String,
        pub purpose: String,
        #[sea_orm(column_type = "Text")]
        pub reason: String,
        pub article: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rights_task {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rights_tasks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub rights_request_id: i64,
        pub organisation_id: String,
        pub recipient: String,
        pub status: String,
        pub created_at: i64,
        pub completed_at: Option<i64>,
        pub completed_by: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub note: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rights_task_purpose {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rights_task_purposes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub task_id: i64,
        pub purpose: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rights_event {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rights_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub rights_request_id: i64,
        pub task_id: Option<i64>,
        pub kind: String,
        pub status: String,
        pub at: i64,
        pub actor: String,
        #[sea_orm(column_type = "Text", nullable)]
        pub note: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organisation_id: String,
        pub seq: i64,
        pub at: i64,
        pub actor: String,
        pub kind: String,
        pub subject: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub detail: String,
        pub prev_hash: String,
        pub hash: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit_head {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_heads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organisation_id: String,
        pub seq: i64,
        pub hash: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
