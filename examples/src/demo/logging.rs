//! The demo's log: every authentication decision the libraries report as a `tracing`
//! event, printed one line each.

use tracing_subscriber::EnvFilter;

/// Prints events to standard error, filtered by `RUST_LOG` (default `info`, less sqlx's
/// warnings about URL parameters).
pub fn init() {
    // sqlx warns about a URL parameter it does not know with the parameter's value, which
    // may be a mistyped password (`?passwd=`): not in the demo's default log.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx_postgres::options=error,sqlx_mysql::options=error")
    });
    // A second call (a test that starts several demos) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
