//! Relying-party configuration files (draft §8.1 cosigner policy, §8.4 trusted
//! subtrees, §8.5 revocation by serial range) in the text forms `arbor verify` reads.
//! Pure: file contents come in as strings and key files are read through a callback.
//!
//! Policy file (TOML):
//!
//! ```toml
//! # Trusted cosigners: `key` is hex SPKI DER, or a path (hex text, DER or PEM
//! # "PUBLIC KEY") that the caller resolves, relative to the policy file.
//! [[cosigner]]
//! id = "32473.2.1"
//! key = "3059301306072a8648ce3d0201..."
//!
//! # Cosigners that must all sign.
//! required = ["32473.1"]
//!
//! # k-of-n quorums.
//! [[quorum]]
//! threshold = 1
//! members = ["32473.2.1", "32473.2.2"]
//!
//! # Revoked entry indexes of a log (inclusive).
//! [[revoked]]
//! log = 1
//! first = 100
//! last = 200
//! ```
//!
//! With no `required` and no `quorum`, the CA cosigner alone is required.
//!
//! Trusted-subtree lines: `LOG START END HEXHASH` (file, one per line, `#` comments)
//! or `LOG:START:END:HEXHASH` (command line).
use serde::Deserialize;
use thiserror::Error;

use crate::formats::{FormatError, TrustAnchorId, serial_number};
use crate::verify::{CosignerKey, CosignerPolicy, TrustedSubtree, TrustedSubtrees};

/// Why a policy or trusted-subtree file was rejected.
#[derive(Debug, Error)]
pub enum PolicyFileError {
    #[error("policy file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("bad trust anchor ID {id:?}: {source}")]
    BadId { id: String, source: FormatError },
    #[error("cosigner {id}: {reason}")]
    BadKey { id: String, reason: String },
    #[error("quorum threshold {threshold} exceeds its {members} members")]
    BadQuorum { threshold: usize, members: usize },
    #[error("revoked range log {log} [{first}, {last}]: {reason}")]
    BadRevocation {
        log: u16,
        first: u64,
        last: u64,
        reason: String,
    },
    #[error("trusted subtree {line:?}: {reason}")]
    BadSubtree { line: String, reason: &'static str },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    cosigner: Vec<RawCosigner>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    quorum: Vec<RawQuorum>,
    #[serde(default)]
    revoked: Vec<RawRevoked>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCosigner {
    id: String,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuorum {
    threshold: usize,
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevoked {
    log: u16,
    first: u64,
    last: u64,
}

fn parse_id(s: &str) -> Result<TrustAnchorId, PolicyFileError> {
    s.parse().map_err(|source| PolicyFileError::BadId {
        id: s.to_string(),
        source,
    })
}

/// Whether `s` is a non-empty even-length hex string (then `key` is inline SPKI DER).
fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Decodes lowercase or uppercase hex.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| {
            let hi = char::from(p[0]).to_digit(16)?;
            let lo = char::from(p[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// Reads a key file's bytes as SPKI DER: hex text, PEM `PUBLIC KEY`, or raw DER.
pub fn spki_from_file_bytes(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim);
    if let Some(t) = text {
        if is_hex(t) {
            return decode_hex(t).ok_or_else(|| "bad hex".to_string());
        }
        if t.starts_with("-----BEGIN") {
            let (label, der) =
                pem_rfc7468::decode_vec(t.as_bytes()).map_err(|e| format!("bad PEM: {e}"))?;
            if label != "PUBLIC KEY" {
                return Err(format!("PEM label is {label:?}, expected \"PUBLIC KEY\""));
            }
            return Ok(der);
        }
    }
    Ok(bytes.to_vec())
}

/// Parses a policy file. `read_key(path)` returns the SPKI DER of a key given as a
/// path (see [`spki_from_file_bytes`]).
pub fn parse_policy(
    text: &str,
    read_key: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<CosignerPolicy, PolicyFileError> {
    let raw: RawPolicy = toml::from_str(text)?;
    let mut policy = CosignerPolicy::new();
    for c in raw.cosigner {
        let id = parse_id(&c.id)?;
        let der = if is_hex(&c.key) {
            decode_hex(&c.key).ok_or_else(|| PolicyFileError::BadKey {
                id: c.id.clone(),
                reason: "bad hex".into(),
            })?
        } else {
            read_key(&c.key).map_err(|reason| PolicyFileError::BadKey {
                id: c.id.clone(),
                reason: format!("{}: {reason}", c.key),
            })?
        };
        let key = CosignerKey::from_spki_der(id, &der).map_err(|e| PolicyFileError::BadKey {
            id: c.id.clone(),
            reason: e.to_string(),
        })?;
        policy = policy.with_cosigner(key);
    }
    for r in &raw.required {
        policy = policy.require(parse_id(r)?);
    }
    for q in raw.quorum {
        if q.threshold > q.members.len() || q.threshold == 0 {
            return Err(PolicyFileError::BadQuorum {
                threshold: q.threshold,
                members: q.members.len(),
            });
        }
        let members = q
            .members
            .iter()
            .map(|m| parse_id(m))
            .collect::<Result<Vec<_>, _>>()?;
        policy = policy.require_quorum(q.threshold, members);
    }
    for r in raw.revoked {
        let bad = |reason: String| PolicyFileError::BadRevocation {
            log: r.log,
            first: r.first,
            last: r.last,
            reason,
        };
        if r.first > r.last {
            return Err(bad("first is after last".into()));
        }
        let lo = serial_number(r.log, r.first).map_err(|e| bad(e.to_string()))?;
        let hi = serial_number(r.log, r.last).map_err(|e| bad(e.to_string()))?;
        policy = policy.revoke(lo..=hi);
    }
    Ok(policy)
}

/// Parses one trusted subtree from its fields `LOG START END HEXHASH`.
fn subtree_from_fields(line: &str, fields: &[&str]) -> Result<TrustedSubtree, PolicyFileError> {
    let bad = |reason| PolicyFileError::BadSubtree {
        line: line.to_string(),
        reason,
    };
    let [log, start, end, hash] = fields else {
        return Err(bad("expected LOG START END HEXHASH"));
    };
    let log: u16 = log.parse().map_err(|_| bad("log is not a number"))?;
    let start: u64 = start.parse().map_err(|_| bad("start is not a number"))?;
    let end: u64 = end.parse().map_err(|_| bad("end is not a number"))?;
    if !crate::tlog::is_valid_subtree(start, end) || start == end {
        return Err(bad("[start, end) is not a valid non-empty subtree"));
    }
    let hash = decode_hex(hash)
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
        .ok_or(bad("hash is not 64 hex digits"))?;
    Ok(TrustedSubtree {
        log,
        start,
        end,
        hash,
    })
}

/// Parses `LOG:START:END:HEXHASH` (the `--trusted-subtree` flag).
pub fn parse_trusted_subtree(spec: &str) -> Result<TrustedSubtree, PolicyFileError> {
    let fields: Vec<&str> = spec.split(':').collect();
    subtree_from_fields(spec, &fields)
}

/// Parses a trusted-subtrees file: `LOG START END HEXHASH` per line, blank lines and
/// `#` comments ignored.
pub fn parse_trusted_subtrees(text: &str) -> Result<TrustedSubtrees, PolicyFileError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        out.push(subtree_from_fields(line, &fields)?);
    }
    Ok(TrustedSubtrees(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECDSA: &str = "3059301306072a8648ce3d020106082a8648ce3d03010703420004";

    fn no_files(p: &str) -> Result<Vec<u8>, String> {
        Err(format!("no file {p}"))
    }

    #[test]
    fn parses_requirements_and_revocations() {
        let text = "required = [\"32473.1\"]\n[[quorum]]\nthreshold = 1\nmembers = [\"32473.2.1\", \"32473.2.2\"]\n[[revoked]]\nlog = 1\nfirst = 5\nlast = 9\n";
        let p = parse_policy(text, &no_files).unwrap();
        assert_eq!(p.requirements().len(), 2);
        assert_eq!(
            p.requirements()[1].to_string(),
            "at least 1 of [32473.2.1, 32473.2.2] must sign"
        );
        assert_eq!(p.revoked(), &[((1u64 << 48) | 5)..=((1u64 << 48) | 9)]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            parse_policy("[[quorum]]\nthreshold = 3\nmembers = [\"1\"]\n", &no_files),
            Err(PolicyFileError::BadQuorum { .. })
        ));
        assert!(matches!(
            parse_policy("required = [\"01.2\"]\n", &no_files),
            Err(PolicyFileError::BadId { .. })
        ));
        assert!(matches!(
            parse_policy("bogus = 1\n", &no_files),
            Err(PolicyFileError::Toml(_))
        ));
        // A truncated inline key fails as a key, a path goes to the callback.
        let e = parse_policy(
            &format!("[[cosigner]]\nid = \"1.2\"\nkey = \"{ECDSA}\"\n"),
            &no_files,
        );
        assert!(matches!(e, Err(PolicyFileError::BadKey { .. })));
        let e =
            parse_policy("[[cosigner]]\nid = \"1.2\"\nkey = \"k.pem\"\n", &no_files).unwrap_err();
        assert_eq!(e.to_string(), "cosigner 1.2: k.pem: no file k.pem");
    }

    #[test]
    fn trusted_subtrees() {
        let h = "00".repeat(32);
        let t = parse_trusted_subtree(&format!("1:32:34:{h}")).unwrap();
        assert_eq!((t.log, t.start, t.end), (1, 32, 34));
        let all = parse_trusted_subtrees(&format!("# c\n\n1 0 32 {h}\n2 32 34 {h} # x\n")).unwrap();
        assert_eq!(all.0.len(), 2);
        assert!(parse_trusted_subtree(&format!("1:33:35:{h}")).is_err());
        assert!(parse_trusted_subtree("1:32:34:abcd").is_err());
        assert!(parse_trusted_subtrees("1 2 3\n").is_err());
    }
}
