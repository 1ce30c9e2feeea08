//! Logging to standard error (standard output stays for command output): readable text by
//! default, JSON lines on request; the level from `RUST_LOG` (default `info`). Subject
//! identifiers never reach a log line: callers log pseudonyms only.

use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter, prelude::*};

use crate::server::config::LogFormat;

const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,h2=warn,tower=warn";

/// Installs the global subscriber, writing to standard error. A second call (tests) leaves
/// the first in place.
pub fn init(format: LogFormat) {
    init_with(format, std::io::stderr);
}

/// Installs the global subscriber, writing to `writer` (the tests give libtest's captured
/// output: see `TEST_LOG` in tests/integration/support). A second call leaves the first in
/// place.
pub fn init_with<W>(format: LogFormat, writer: W)
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    let _already_set = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_target(false).with_writer(writer))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(writer),
            )
            .try_init(),
    };
}
