//! Reading files, stdin and `@file` arguments, each with a size limit so no input can
//! make the CLI read without bound.

use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// The largest key file or claims file read, in bytes.
pub(crate) const MAX_FILE_LEN: usize = 1024 * 1024;

/// At most `limit` bytes of `reader` (`what` names it in errors).
pub(crate) fn read_limited(
    reader: impl Read,
    what: &str,
    limit: usize,
) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|source| CliError::Read {
            what: what.to_owned(),
            source,
        })?;
    if bytes.len() > limit {
        return Err(CliError::TooLarge {
            what: what.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, CliError> {
    String::from_utf8(bytes).map_err(|_| CliError::Invalid(format!("{what} is not UTF-8 text")))
}

/// A text file of at most [`MAX_FILE_LEN`] bytes.
pub(crate) fn file(path: &Path) -> Result<String, CliError> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| CliError::Read {
        what: what.clone(),
        source,
    })?;
    utf8(read_limited(file, &what, MAX_FILE_LEN)?, &what)
}

/// A token given as an argument, or read from stdin when the argument is `-` (surrounding
/// whitespace removed). At most `limit` bytes of token are accepted; stdin is read no
/// further than just past that, so an oversized token fails without being read whole.
pub(crate) fn token(argument: &str, limit: usize) -> Result<String, CliError> {
    if argument != "-" {
        if argument.len() > limit {
            return Err(CliError::TooLarge {
                what: "the token".to_owned(),
                limit,
            });
        }
        return Ok(argument.to_owned());
    }
    // Room for a trailing newline (or CRLF and some spaces) after a token at the limit.
    const SLACK: usize = 64;
    let bytes = match read_limited(
        std::io::stdin().lock(),
        "stdin",
        limit.saturating_add(SLACK),
    ) {
        Err(CliError::TooLarge { .. }) => {
            return Err(CliError::TooLarge {
                what: "the token".to_owned(),
                limit,
            });
        }
        other => other?,
    };
    let text = utf8(bytes, "the token")?;
    let trimmed = text.trim();
    if trimmed.len() > limit {
        return Err(CliError::TooLarge {
            what: "the token".to_owned(),
            limit,
        });
    }
    Ok(trimmed.to_owned())
}

/// A JSON argument given inline, or as `@path` (`@-` for stdin).
pub(crate) fn inline_or_file(argument: &str) -> Result<(String, String), CliError> {
    match argument.strip_prefix('@') {
        Some("-") => {
            let bytes = read_limited(std::io::stdin().lock(), "stdin", MAX_FILE_LEN)?;
            Ok(("the claims from stdin".to_owned(), utf8(bytes, "stdin")?))
        }
        Some(path) => Ok((format!("the claims in {path}"), file(Path::new(path))?)),
        None => Ok(("the claims".to_owned(), argument.to_owned())),
    }
}
