//! Rights requests submitted per second on PostgreSQL with synchronous commit on: every
//! acknowledged request is durable, so this is the rate of durable writes the service sustains.

use std::time::{Duration, Instant};

use clap::Args;
use purposed::proto::{
    RightsRequestType, SubmitRightsRequestRequest, rights_service_client::RightsServiceClient,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::{
    Common,
    drive::histogram,
    report::{self, round1},
    seconds,
    server::{Server, ServerSpec, connect},
};

#[derive(Args)]
pub struct RightsArgs {
    #[command(flatten)]
    common: Common,
    /// A PostgreSQL URL whose user may create databases; the run creates its own and drops it.
    #[arg(long, env = "PURPOSED_BENCH_POSTGRES")]
    postgres: String,
    /// Concurrent clients, each on its own connection, one request in flight each.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32])]
    clients: Vec<usize>,
    /// Seconds counted at each client count.
    #[arg(long, default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// The server's database pool.
    #[arg(long, default_value_t = 8)]
    database_pool: u32,
}

pub async fn run(args: RightsArgs) -> Result<(), String> {
    let name = format!("purposed_load_{}", std::process::id());
    let base = args
        .postgres
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .ok_or("the PostgreSQL URL must end with /DATABASE")?;
    let admin = Database::connect(&args.postgres)
        .await
        .map_err(|error| format!("connect to PostgreSQL: {error}"))?;
    execute(&admin, &format!("CREATE DATABASE {name}")).await?;
    let url = format!("{base}/{name}");
    let outcome = measure(&args, &url).await;
    execute(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await?;
    report::write(args.common.out.as_deref(), &outcome?)
}

async fn execute(db: &DatabaseConnection, sql: &str) -> Result<(), String> {
    db.execute_unprepared(sql)
        .await
        .map(|_| ())
        .map_err(|error| format!("{sql}: {error}"))
}

async fn measure(args: &RightsArgs, url: &str) -> Result<serde_json::Value, String> {
    let server = Server::start(&ServerSpec {
        binary: &args.common.binary,
        database_url: url,
        demo: true,
        bench_noop: false,
        database_pool: Some(args.database_pool),
    })
    .await?;
    let db = Database::connect(url)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SHOW synchronous_commit",
        ))
        .await
        .map_err(|error| error.to_string())?
        .ok_or("SHOW synchronous_commit returned nothing")?;
    let synchronous_commit: String = row
        .try_get("", "synchronous_commit")
        .map_err(|error| error.to_string())?;
    let server_version: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SHOW server_version",
        ))
        .await
        .map_err(|error| error.to_string())?
        .ok_or("SHOW server_version returned nothing")?
        .try_get("", "server_version")
        .map_err(|error| error.to_string())?;
    db.close().await.ok();
    println!("PostgreSQL {server_version}, synchronous_commit = {synchronous_commit}");

    let mut results = Vec::new();
    for &clients in &args.clients {
        let mut connected = Vec::with_capacity(clients);
        for _ in 0..clients {
            connected.push(RightsServiceClient::new(connect(server.address).await?));
        }
        let began = Instant::now();
        let until = began + args.duration;
        let mut tasks = Vec::new();
        for (client, mut rights) in connected.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let mut latency = histogram();
                let mut errors = 0_u64;
                let mut sequence = 0_u64;
                while Instant::now() < until {
                    sequence += 1;
                    let request = SubmitRightsRequestRequest {
                        organisation: "pro-balances".into(),
                        request_id: format!("load-{clients}-{client}-{sequence}"),
                        r#type: RightsRequestType::Access.into(),
                        subject: format!("load-subject-{client}-{sequence}"),
                        actor: "purposed-load".into(),
                        ..SubmitRightsRequestRequest::default()
                    };
                    let sent = Instant::now();
                    match rights.submit_rights_request(request).await {
                        Ok(answer) if answer.get_ref().created => {
                            let nanos = sent.elapsed().as_nanos() as u64;
                            latency.saturating_record(nanos.max(1));
                        }
                        _ => errors += 1,
                    }
                }
                (latency, errors)
            }));
        }
        let mut latency = histogram();
        let mut errors = 0;
        for task in tasks {
            let (one, failed) = task.await.map_err(|error| error.to_string())?;
            latency.add(&one).map_err(|error| error.to_string())?;
            errors += failed;
        }
        let elapsed = began.elapsed();
        if errors > 0 {
            return Err(format!("{errors} submissions failed at {clients} clients"));
        }
        let per_second = latency.len() as f64 / elapsed.as_secs_f64();
        let micros = |quantile: f64| latency.value_at_quantile(quantile) as f64 / 1000.0;
        println!(
            "  {clients:>3} clients: {per_second:>7.0} requests/s  p50 {:>7.0} µs  p99 {:>7.0} µs",
            micros(0.5),
            micros(0.99)
        );
        results.push(json!({
            "clients": clients,
            "submitted": latency.len(),
            "per_s": per_second.round(),
            "p50_us": round1(micros(0.5)),
            "p99_us": round1(micros(0.99)),
            "max_us": round1(latency.max() as f64 / 1000.0),
        }));
    }
    server.stop().await?;
    Ok(json!({
        "benchmark": "rights",
        "environment": report::environment(),
        "database": {
            "postgresql": server_version,
            "synchronous_commit": synchronous_commit,
            "server_pool": args.database_pool,
        },
        "duration_s": args.duration.as_secs_f64(),
        "results": results,
    }))
}
