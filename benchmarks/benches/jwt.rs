//! JWT sign and verify per algorithm: authkit's auth-jwt against jsonwebtoken 11 (aws-lc-rs
//! and RustCrypto backends) and jwt-simple, by running `benchmarks/run-jwt-peers.sh`.
//!
//! The peers cannot be dependencies of this package: jsonwebtoken's backends are cargo
//! features (they would unify into auth-jwt) and its crypto provider is process-wide. So each
//! runs in its own process from its own workspace, and this bench is only their driver: it
//! runs the script, which prints the table (every library as a ratio to the ring floor its
//! own process measured).
//!
//! The nested cargo builds in a target directory of its own, `<this target dir>/jwt-peers`
//! (or `AUTHKIT_JWT_PEERS_TARGET_DIR`): the outer `cargo bench` holds its own directory's
//! build lock while the benches run. See `src/jwt_peers.rs` for how the command line and
//! `AUTHKIT_BENCH_SKIP_JWT_PEERS` decide what runs.
//!
//! ```text
//! cargo bench -p benchmarks --bench jwt                  # about 5 minutes once built
//! cargo bench -p benchmarks --bench jwt -- jwt/HS256     # one algorithm
//! ```
#![allow(missing_docs)] // A bench binary, not an API.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use benchmarks::jwt_peers::{NAME, Plan, SKIP_VAR, plan};

/// Overrides where the nested cargo builds.
const TARGET_DIR_VAR: &str = "AUTHKIT_JWT_PEERS_TARGET_DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let skip = std::env::var(SKIP_VAR).ok();
    let env_args = std::env::var("CRITERION_ARGS").ok();
    let criterion_args = match plan(&args, skip.as_deref(), env_args.as_deref()) {
        Plan::Run { criterion_args } => criterion_args,
        Plan::List => {
            // criterion's `--list` format, on stdout where cargo's tooling reads it.
            #[allow(clippy::print_stdout)] // The list is this mode's output.
            {
                println!("{NAME}: benchmark");
            }
            return ExitCode::SUCCESS;
        }
        Plan::Skip { reason } => {
            eprintln!("jwt peers skipped: {reason}");
            return ExitCode::SUCCESS;
        }
    };

    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = here.join("run-jwt-peers.sh");
    let target = std::env::var_os(TARGET_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(nested_target_dir);
    eprintln!(
        "jwt peers: {} with CRITERION_ARGS=\"{criterion_args}\", CARGO_TARGET_DIR={}",
        script.display(),
        target.display()
    );
    let started = Instant::now();
    let status = Command::new("bash")
        .arg(&script)
        .env("CARGO_TARGET_DIR", &target)
        .env("CRITERION_ARGS", &criterion_args)
        // The outer cargo's jobserver is not ours to share: the nested cargo brings its own.
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .status();
    let elapsed = started.elapsed();
    match status {
        Ok(status) if status.success() => {
            if criterion_args.split_whitespace().any(|a| a == "--test") {
                eprintln!("jwt peers: test mode writes no estimates, so the table is empty");
            }
            eprintln!("jwt peers: done in {:.0} s", elapsed.as_secs_f64());
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!(
                "jwt peers FAILED ({status}) after {:.0} s: see the log named above",
                elapsed.as_secs_f64()
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("jwt peers: cannot run bash {}: {error}", script.display());
            ExitCode::FAILURE
        }
    }
}

/// `<target dir>/jwt-peers`, where `<target dir>` is the one this binary was built in
/// (`<target dir>/<profile>/deps/jwt-<hash>`), or `benchmarks/target/jwt-peers-build` if
/// the layout is not that (not `benchmarks/target/jwt-peers`: the script's results go
/// there).
fn nested_target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let deps = exe.parent()?;
            let profile = deps.parent()?;
            if deps.file_name()? != "deps" {
                return None;
            }
            Some(profile.parent()?.join("jwt-peers"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/jwt-peers-build"))
}
