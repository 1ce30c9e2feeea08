//! `purposed audit ...`: checks the audit log straight in the database, without a server, so
//! that it works on a copy or a backup as well as on the live database.

use clap::Subcommand;
use purposed::store::{self, Store, StoreOptions, actor};

use crate::DatabaseArgs;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk every organisation's hash chain and name each altered, inserted or deleted entry.
    /// Exits 1 when any is found.
    Verify(DatabaseArgs),
}

pub async fn audit(command: AuditCommand) -> Result<(), String> {
    actor::with_actor("cli".into(), async {
        match command {
            AuditCommand::Verify(args) => verify(&args.database_url).await,
        }
    })
    .await
}

async fn verify(database_url: &str) -> Result<(), String> {
    // No migration: verifying must not write, and a database without the audit tables
    // fails below with the database's own words.
    let options = StoreOptions {
        read_only: true,
        ..StoreOptions::default()
    };
    let store = Store::connect(database_url, &options)
        .await
        .map_err(|error| format!("{}: {error}", store::redact(database_url)))?;
    let report = store
        .verify_audit()
        .await
        .map_err(|error| format!("{}: {error}", store::redact(database_url)))?;
    for (organisation, entries) in &report.chains {
        out!("checked organisation {organisation:?}: {entries} entries");
    }
    if report.organisations == 0 {
        out!("no organisation holds data and no audit chain exists: nothing to verify");
    }
    if report.intact() {
        out!(
            "audit log intact: {} entries in {} organisations",
            report.entries,
            report.organisations
        );
        return Ok(());
    }
    for problem in &report.problems {
        out!("{problem}");
    }
    Err(format!(
        "audit log damaged: {} problem(s) in {} entries of {} organisations",
        report.problems.len(),
        report.entries,
        report.organisations
    ))
}
