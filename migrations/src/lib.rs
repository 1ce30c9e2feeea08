//! The one migration set of purposed, run on SQLite and PostgreSQL alike. Every migration
//! has a `down`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_registry;
mod m20261123_000002_subjects_and_rights;
mod m20261203_000003_audit;
mod m20261204_000004_minimum_age;
mod m20261204_000005_legitimate_interest;
mod m20261204_000006_serialised_registry;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_registry::Migration),
            Box::new(m20261123_000002_subjects_and_rights::Migration),
            Box::new(m20261203_000003_audit::Migration),
            Box::new(m20261204_000004_minimum_age::Migration),
            Box::new(m20261204_000005_legitimate_interest::Migration),
            Box::new(m20261204_000006_serialised_registry::Migration),
        ]
    }
}
