//! One runner over Project Wycheproof's JOSE files (`../shared/vectors/wycheproof` beside the repository,
//! or `$WYCHEPROOF_DIR`): every case is run, none is skipped.
//!
//! Each group's key (its public JWK or JWK Set when it has one, else its private one)
//! goes through the same loading path as any JWKS (`KeySet::from_jwk_set`), and each
//! token through `Verifier::verify_signature` (the payloads are not JWT claims). A case
//! expected invalid must be refused. A case expected valid must be accepted, unless we
//! refuse it for a documented reason, which the runner prints:
//!
//! - the key's algorithm is one we do not support (ES512/ES521, RSA-OAEP, AES, ...): the
//!   key is left out of the set and the token fails;
//! - the token's `alg` differs from its key's (`alg` comes from the key, never the token);
//! - tcIds 372 and 373: Wycheproof marks them valid although a `?` is inserted in the
//!   base64url text; our strict compact parsing refuses them.
//!
//! And one documented exception the other way: tcIds 367 and 370 ("invalidBase64Padding")
//! carry, in this copy of the file, a token byte-identical to tcId 357, which the same
//! group marks valid (the padding they are named for is not in the text). A verifier
//! cannot both accept and refuse one string; the runner checks the identity and reports
//! them instead of counting them as failures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.
#![allow(clippy::print_stdout)] // The runner reports what it refused and why (`--nocapture`).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use auth_jwt::{JwkSet, KeySet, Verifier, algorithm};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    std::env::var_os("WYCHEPROOF_DIR")
        .map(PathBuf::from)
        // The project's shared/ folder sits beside the repository's root.
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/wycheproof")
        })
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Refusals of cases Wycheproof marks valid, by tcId, with the reason.
const STRICT_COMPACT: [(u64, &str); 2] = [
    (
        372,
        "a `?` inside the base64url header: refused by strict compact parsing",
    ),
    (
        373,
        "a `?` inside the base64url payload: refused by strict compact parsing",
    ),
];

/// Cases expected invalid whose token is byte-identical to a case of the same group
/// expected valid.
const CONTRADICTORY: [u64; 2] = [367, 370];

#[derive(Default)]
struct Tally {
    cases: usize,
    accepted: usize,
    refused: BTreeMap<String, usize>,
    explained: Vec<String>,
    keys_left_out: BTreeMap<String, usize>,
    failures: Vec<String>,
}

fn run_file(name: &str, tally: &mut Tally) {
    let file = load(name);
    let expected_count = file["numberOfTests"].as_u64().unwrap() as usize;
    let before = tally.cases;
    let (_, shared) = common::clock();
    for group in file["testGroups"].as_array().unwrap() {
        let key_doc = group.get("public").unwrap_or(&group["private"]);
        // A single JWK (JWS file) or a JWK Set (JWK file).
        let set: Result<JwkSet, String> = if key_doc.get("keys").is_some() {
            serde_json::from_value(key_doc.clone()).map_err(|e| e.to_string())
        } else {
            serde_json::from_value(key_doc.clone())
                .map(|jwk| JwkSet { keys: vec![jwk] })
                .map_err(|e| e.to_string())
        };
        let loaded = set
            .map_err(|e| format!("JWK not parsed: {e}"))
            .and_then(|set| KeySet::from_jwk_set(&set, shared.clone()).map_err(|e| e.to_string()));
        let (verifier, skipped) = match loaded {
            Ok((keys, skipped)) => (
                Ok(Verifier::builder(keys, shared.clone()).build().unwrap()),
                skipped,
            ),
            Err(reason) => (Err(format!("key set refused: {reason}")), Vec::new()),
        };
        for skipped_key in &skipped {
            *tally
                .keys_left_out
                .entry(skipped_key.error.to_string())
                .or_default() += 1;
        }
        let valid_tokens: Vec<(u64, &Value)> = group["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["result"] == "valid")
            .map(|t| (t["tcId"].as_u64().unwrap(), &t["jws"]))
            .collect();
        for test in group["tests"].as_array().unwrap() {
            tally.cases += 1;
            let id = test["tcId"].as_u64().unwrap();
            let valid = test["result"] == "valid";
            let jws = match &test["jws"] {
                Value::String(s) => s.clone(),
                // JSON serialization: handed over as text, never as compact form.
                other => other.to_string(),
            };
            let outcome = match &verifier {
                Err(refusal) => Err(refusal.clone()),
                Ok(v) => v
                    .verify_signature(&jws)
                    .map(|_| ())
                    .map_err(|e| common::reason(&e)),
            };
            match (outcome, valid) {
                (Ok(()), true) => tally.accepted += 1,
                (Ok(()), false) => match valid_tokens.iter().find(|(_, jws)| **jws == test["jws"]) {
                    Some((twin, _)) if CONTRADICTORY.contains(&id) => tally.explained.push(format!(
                        "{name} tcId {id}: accepted although marked invalid: its token is identical to tcId {twin}, marked valid"
                    )),
                    _ => tally.failures.push(format!(
                        "{name} tcId {id} ({}) accepted but expected invalid",
                        test["comment"]
                    )),
                },
                (Err(why), false) => *tally.refused.entry(why).or_default() += 1,
                (Err(why), true) => {
                    let explanation = explain_valid_refusal(id, &jws, &skipped, key_doc);
                    match explanation {
                        Some(because) => tally
                            .explained
                            .push(format!("{name} tcId {id}: refused ({why}): {because}")),
                        None => tally.failures.push(format!(
                            "{name} tcId {id} ({}) refused but expected valid: {why}",
                            test["comment"]
                        )),
                    }
                }
            }
        }
    }
    assert_eq!(
        tally.cases - before,
        expected_count,
        "{name}: every case must run"
    );
}

/// Why a case marked valid is refused, if the reason is one of the documented ones.
fn explain_valid_refusal(
    id: u64,
    jws: &str,
    skipped: &[auth_jwt::SkippedKey],
    key_doc: &Value,
) -> Option<String> {
    if let Some((_, why)) = STRICT_COMPACT.iter().find(|(tc, _)| *tc == id) {
        return Some((*why).to_owned());
    }
    if let Some(refused) = skipped
        .iter()
        .find(|s| matches!(s.error, auth_jwt::KeyError::UnsupportedAlgorithm(_)))
    {
        return Some(format!("the key is refused: {}", refused.error));
    }
    let header_alg = jws
        .split('.')
        .next()
        .and_then(base64_decode)
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .and_then(|h| h["alg"].as_str().map(str::to_owned))?;
    let key_alg = key_doc["alg"].as_str()?;
    if algorithm::parse(key_alg).is_some() && header_alg != key_alg {
        return Some(format!(
            "the token says {header_alg} but its key is bound to {key_alg}: alg comes from the key"
        ));
    }
    None
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

#[test]
fn wycheproof_json_web_signature_and_key_vectors() {
    let mut tally = Tally::default();
    run_file("json_web_signature_test.json", &mut tally);
    run_file("json_web_key_test.json", &mut tally);
    println!("{} cases: {} valid accepted", tally.cases, tally.accepted);
    for (why, count) in &tally.refused {
        println!("  refused x{count}: {why}");
    }
    println!("keys left out of their set:");
    for (why, count) in &tally.keys_left_out {
        println!("  x{count}: {why}");
    }
    assert!(
        tally.keys_left_out.keys().any(|k| k.contains("ROCA")),
        "the ROCA key must be refused as such"
    );
    println!("documented exceptions:");
    for line in &tally.explained {
        println!("  {line}");
    }
    assert!(
        tally.explained.iter().any(|l| l.contains("tcId 372:"))
            && tally.explained.iter().any(|l| l.contains("tcId 373:")),
        "tcIds 372 and 373 must be refused by strict compact parsing"
    );
    assert!(
        tally.failures.is_empty(),
        "failures:\n{}",
        tally.failures.join("\n")
    );
}
