//! What the `jwt` bench does with its command line: the JWT peers run in processes of their
//! own (`run-jwt-peers.sh`), so the bench turns the arguments `cargo bench` handed it into
//! the script's `CRITERION_ARGS`, or decides not to run the peers at all.
//!
//! - `AUTHKIT_BENCH_SKIP_JWT_PEERS` set (to anything but `0` or nothing): skip.
//! - `--list`: list the bench as `jwt-peers`, run nothing.
//! - A filter (criterion's positional argument) selects the peers only if it is `jwt` or
//!   `jwt/<filter>`; the `<filter>` part is handed on to every peer process (e.g.
//!   `jwt/HS256`). Any other filter (`middleware`, `session`) skips them, so that filtering
//!   the other benches does not cost the minutes the peers take.
//! - Criterion options (`--test`, `--measurement-time 3`, ...) replace
//!   [`DEFAULT_CRITERION_ARGS`]; `CRITERION_ARGS` in the environment replaces both.
//!
//! ```
//! use benchmarks::jwt_peers::{DEFAULT_CRITERION_ARGS, Plan, plan};
//!
//! let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
//! assert_eq!(
//!     plan(&args(&["--bench"]), None, None),
//!     Plan::Run { criterion_args: DEFAULT_CRITERION_ARGS.to_owned() }
//! );
//! assert!(matches!(plan(&args(&["--bench", "middleware"]), None, None), Plan::Skip { .. }));
//! ```

/// The variable that skips the JWT peers when set to anything but `0` or nothing.
pub const SKIP_VAR: &str = "AUTHKIT_BENCH_SKIP_JWT_PEERS";

/// Criterion's arguments for every peer process when the command line gives none: 48
/// measurements per process, four processes, about 4 minutes on the 2-core machine once
/// built.
pub const DEFAULT_CRITERION_ARGS: &str =
    "--warm-up-time 0.2 --measurement-time 0.8 --sample-size 20 --noplot";

/// The name the bench answers to in filters and lists.
pub const NAME: &str = "jwt";

/// Criterion options that take a value (the next argument, or after `=`).
const VALUE_OPTIONS: &[&str] = &[
    "-c",
    "--color",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// What the `jwt` bench does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Run the script with this `CRITERION_ARGS`.
    Run {
        /// Criterion's arguments for every peer process.
        criterion_args: String,
    },
    /// Print the bench's name for `--list`, run nothing.
    List,
    /// Run nothing, and say why.
    Skip {
        /// Why, for the bench's output.
        reason: String,
    },
}

/// The plan for the bench's arguments (without the program name), the value of
/// [`SKIP_VAR`] and the value of `CRITERION_ARGS`.
pub fn plan(args: &[String], skip: Option<&str>, criterion_args: Option<&str>) -> Plan {
    if skip.is_some_and(|v| !v.is_empty() && v != "0") {
        return Plan::Skip {
            reason: format!("{SKIP_VAR} is set"),
        };
    }
    let mut options = Vec::new();
    let mut filters = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // cargo's marker for bench binaries: not criterion's business here.
            "--bench" => {}
            "--list" => return Plan::List,
            option if option.starts_with('-') => {
                options.push(option.to_owned());
                if VALUE_OPTIONS.contains(&option)
                    && let Some(value) = args.next()
                {
                    options.push(value.clone());
                }
            }
            filter => filters.push(filter),
        }
    }
    let mut peer_filter = None;
    if !filters.is_empty() {
        let selected = filters.iter().find_map(|f| {
            if *f == NAME {
                Some(None)
            } else {
                f.strip_prefix("jwt/").map(Some)
            }
        });
        match selected {
            Some(inner) => peer_filter = inner,
            None => {
                return Plan::Skip {
                    reason: format!(
                        "the filter {filters:?} does not select the JWT peers \
                         (`{NAME}` or `{NAME}/<criterion filter>` does)"
                    ),
                };
            }
        }
    }
    let mut criterion_args = match criterion_args {
        Some(args) => args.to_owned(),
        None if options.is_empty() => DEFAULT_CRITERION_ARGS.to_owned(),
        None => options.join(" "),
    };
    if let Some(filter) = peer_filter {
        criterion_args.push(' ');
        criterion_args.push_str(filter);
    }
    Plan::Run { criterion_args }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    fn run(criterion_args: &str) -> Plan {
        Plan::Run {
            criterion_args: criterion_args.to_owned(),
        }
    }

    #[test]
    fn no_arguments_run_the_short_defaults() {
        assert_eq!(
            plan(&args(&["--bench"]), None, None),
            run(DEFAULT_CRITERION_ARGS)
        );
        assert_eq!(plan(&[], Some("0"), None), run(DEFAULT_CRITERION_ARGS));
        assert_eq!(plan(&[], Some(""), None), run(DEFAULT_CRITERION_ARGS));
    }

    #[test]
    fn the_variable_skips() {
        assert!(matches!(
            plan(&args(&["--bench"]), Some("1"), None),
            Plan::Skip { .. }
        ));
    }

    #[test]
    fn options_replace_the_defaults_and_keep_their_values() {
        assert_eq!(
            plan(&args(&["--bench", "--test"]), None, None),
            run("--test")
        );
        assert_eq!(
            plan(
                &args(&["--bench", "--measurement-time", "3", "--noplot"]),
                None,
                None
            ),
            run("--measurement-time 3 --noplot")
        );
        // A value is not a filter.
        assert_eq!(
            plan(&args(&["--sample-size", "10"]), None, None),
            run("--sample-size 10")
        );
    }

    #[test]
    fn the_environment_wins_over_options() {
        assert_eq!(
            plan(&args(&["--bench", "--test"]), None, Some("--quick")),
            run("--quick")
        );
    }

    #[test]
    fn filters_select_or_skip() {
        assert!(matches!(
            plan(&args(&["--bench", "middleware"]), None, None),
            Plan::Skip { .. }
        ));
        assert_eq!(
            plan(&args(&["--bench", "jwt"]), None, None),
            run(DEFAULT_CRITERION_ARGS)
        );
        assert_eq!(
            plan(&args(&["--bench", "--test", "jwt/HS256"]), None, None),
            run("--test HS256")
        );
    }

    #[test]
    fn list_lists() {
        assert_eq!(plan(&args(&["--bench", "--list"]), None, None), Plan::List);
    }
}
