//! `authctl`: the operator's command line for authkit keys, tokens and sessions.
//!
//! ```text
//! authctl keygen --alg ES256 --kid 2026-11 --out signing.jwk   # mode 0600
//! authctl jwks signing.jwk old.jwk > jwks.json
//! authctl sign --key signing.jwk --sub alice --iss https://auth.example --claims '{"scope":"read"}'
//! authctl verify --jwks jwks.json --iss https://auth.example TOKEN
//! authctl inspect TOKEN
//! authctl keys add keys.json --alg ES256 --kid 2026-12     # second: verifies, published
//! authctl keys promote keys.json 2026-12                   # first: signs
//! authctl keys retire keys.json 2026-11                    # gone
//! authctl keys list keys.json
//! authctl sessions list --store redis://127.0.0.1:6379 --subject alice
//! authctl sessions revoke-all --store redis://127.0.0.1:6379 --subject alice
//! ```
//!
//! Every command has `--help`. Errors are one line on stderr and exit status 1 (clap's
//! usage errors exit 2). Verification is auth-jwt's `Verifier`, never reimplemented here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cli;
mod commands;
mod duration;
mod error;
mod input;
mod keyfile;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use serde::Serialize;

use crate::cli::{Cli, Command, KeysCommand};
use crate::commands::{inspect, jwks, keygen, keys, sessions, sign, verify};
use crate::error::CliError;

fn print_line(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(CliError::Stdout)
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| CliError::Json {
        what: "the output".to_owned(),
        source,
    })?;
    print_line(&text)
}

fn alg(name: Option<&str>) -> Result<Option<auth_jwt::Algorithm>, CliError> {
    name.map(keyfile::parse_alg).transpose()
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen {
            alg,
            kid,
            from,
            out,
        } => {
            let jwk = keygen::run(&alg, kid, from.as_deref())?;
            match out {
                Some(out) => {
                    jwk.write_new(&out).map_err(CliError::keys(&out))?;
                    eprintln!("authctl: note: {}", keygen::written(&jwk, &out));
                }
                None => print_json(&jwk)?,
            }
        }
        Command::Jwks { alg: name, files } => {
            let (set, note) = jwks::run(&files, alg(name.as_deref())?)?;
            print_json(&set)?;
            if let Some(note) = note {
                eprintln!("authctl: note: {note}");
            }
        }
        Command::Sign {
            key,
            claims,
            ttl,
            iss,
            aud,
            sub,
            alg: name,
        } => {
            let token = sign::run(sign::SignOptions {
                key: &key,
                alg: alg(name.as_deref())?,
                claims: &claims,
                ttl,
                iss,
                aud,
                sub,
            })?;
            print_line(&token)?;
        }
        Command::Verify {
            jwks,
            alg: name,
            iss,
            aud,
            typ,
            require,
            leeway,
            max_bytes,
            now,
            token,
        } => {
            let verified = verify::run(verify::VerifyOptions {
                jwks: &jwks,
                alg: alg(name.as_deref())?,
                iss,
                aud,
                typ,
                require,
                leeway,
                max_bytes,
                now,
                token: &token,
            })?;
            print_json(&verified)?;
        }
        Command::Inspect { max_bytes, token } => {
            let decoded = inspect::run(&token, max_bytes)?;
            eprintln!("authctl: warning: {}", inspect::WARNING);
            print_json(&decoded)?;
        }
        Command::Keys { action } => {
            let (listing, note) = match action {
                KeysCommand::List { file } => (keys::list(&file)?, None),
                KeysCommand::Add {
                    file,
                    alg,
                    from,
                    kid,
                    last,
                    create,
                } => {
                    let (listing, note) = keys::add(keys::AddOptions {
                        file,
                        alg,
                        from,
                        kid,
                        last,
                        create,
                    })?;
                    (listing, Some(note))
                }
                KeysCommand::Promote { file, kid } => {
                    let (listing, note) = keys::promote(&file, &kid)?;
                    (listing, Some(note))
                }
                KeysCommand::Retire { file, kid } => {
                    (keys::retire(&file, &kid)?, Some(keys::AFTER_RETIRE))
                }
            };
            print_json(&listing)?;
            if let Some(note) = note {
                eprintln!("authctl: note: {note}");
            }
        }
        Command::Sessions { action } => print_json(&sessions::run(&action)?)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the error and its causes, any newline a cause carried flattened
            // and every other control character escaped, so that text from a file or a
            // token (an `alg`, a PEM label) cannot move the cursor or forge a line.
            let mut line = String::new();
            for c in format!("{error:#}").chars() {
                match c {
                    '\n' | '\r' => line.push(' '),
                    c if c.is_control() => line.extend(c.escape_default()),
                    c => line.push(c),
                }
            }
            eprintln!("authctl: error: {line}");
            ExitCode::FAILURE
        }
    }
}
