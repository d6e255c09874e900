//! `arbor verify`: the relying-party check of one Merkle Tree Certificate
//! (draft-ietf-plants-merkle-tree-certs §8.2) against a CA certificate, a cosigner
//! policy (§8.1, §8.5) and trusted landmark subtrees (§8.4), using `arbor_mtc::verify`.
//! Prints `valid: ...` (exit 0) or `invalid: <reason>` (exit 1); unreadable inputs and
//! bad flags exit 2.
use std::path::{Path, PathBuf};

use arbor_mtc::formats::LandmarkDocument;
use arbor_mtc::policy_file::{
    parse_policy, parse_trusted_subtree, parse_trusted_subtrees, spki_from_file_bytes,
};
use arbor_mtc::verify::VerifiedBy;
use arbor_mtc::{CaCertificate, CosignerPolicy, TrustedSubtrees, Verified, verify};

/// Exit status for a certificate that fails verification.
pub const EXIT_INVALID: u8 = 1;
/// Per-request timeout for `--log-url` fetches.
const LOG_TIMEOUT_SECS: u64 = 30;

const POLICY_HELP: &str = "\
POLICY FILE (TOML):
  [[cosigner]]                # a trusted cosigner (repeat)
  id = \"32473.2.1\"            # trust anchor ID, ASCII form
  key = \"3059...\"             # hex SPKI DER, or a path (hex, DER or PEM PUBLIC KEY),
                              # relative to the policy file
  required = [\"32473.1\"]      # cosigners that must all sign
  [[quorum]]                  # at least `threshold` of `members` must sign (repeat)
  threshold = 1
  members = [\"32473.2.1\", \"32473.2.2\"]
  [[revoked]]                 # revoked entry indexes of a log, inclusive (repeat)
  log = 1
  first = 100
  last = 200
With no `required`/`quorum`, the CA cosigner alone is required; the CA's key comes
from --ca unless the policy lists a cosigner with the CA's ID.

TRUSTED SUBTREES: --trusted-subtree LOG:START:END:HEXHASH (repeatable) and/or
--trusted-subtrees FILE with one `LOG START END HEXHASH` per line (# comments).
--landmarks FILE (a landmark document as served at /mtc/<N>/landmarks) only names
the landmark a trusted subtree belongs to in the output. --log-url URL fetches the
active landmark subtrees from a live log instead (`arbor log landmarks` prints them
in the --trusted-subtrees format).

OUTPUT: `valid: <standalone|landmark-relative> 0x<serial> log N index I, subtree
[s, e), by <cosigners ...|landmark L|trusted subtree>` and exit 0, or
`invalid: <reason>` and exit 1. Exit 2: bad flags or unreadable files.";

/// Verify a Merkle Tree Certificate as a relying party.
#[derive(clap::Args, Debug)]
#[command(after_long_help = POLICY_HELP)]
pub struct VerifyArgs {
    /// The certificate to check (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The MTC CA certificate (`/mtc/ca.der`; DER or PEM).
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// Cosigner policy file (TOML, see --help).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Landmark document, used to name the landmark of a trusted subtree.
    #[arg(long, value_name = "FILE")]
    pub landmarks: Option<PathBuf>,
    /// A trusted subtree `LOG:START:END:HEXHASH` (repeatable).
    #[arg(long = "trusted-subtree", value_name = "LOG:START:END:HASH")]
    pub trusted_subtree: Vec<String>,
    /// File of trusted subtrees, `LOG START END HEXHASH` per line.
    #[arg(long = "trusted-subtrees", value_name = "FILE")]
    pub trusted_subtrees: Option<PathBuf>,
    /// Also trust the active landmark subtrees of this MTC log (e.g.
    /// https://127.0.0.1:14000/mtc/1): its landmark document, subtree hashes from its
    /// tiles, each proven consistent with a checkpoint the CA cosigner (--ca) signed.
    #[arg(long, value_name = "URL")]
    pub log_url: Option<String>,
    /// Extra trust root (PEM) for --log-url over HTTPS.
    #[arg(long, value_name = "PEM", requires = "log_url")]
    pub root: Option<PathBuf>,
    /// Verification time: RFC 3339 (`2026-01-01T00:00:00Z`) or Unix seconds; default now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read(path)?).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// DER from a file holding DER or one PEM `CERTIFICATE` block.
pub(crate) fn der_from_file(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = read(path)?;
    let trimmed = bytes.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN") {
        return Ok(bytes);
    }
    let (label, der) =
        pem_decode_first(trimmed).map_err(|e| format!("{}: bad PEM: {e}", path.display()))?;
    if label != "CERTIFICATE" {
        return Err(format!(
            "{}: PEM label is {label:?}, expected CERTIFICATE",
            path.display()
        ));
    }
    Ok(der)
}

/// Decodes the first PEM block of `bytes` (trailing blocks, e.g. a chain, are ignored).
fn pem_decode_first(bytes: &[u8]) -> Result<(String, Vec<u8>), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let start = text.find("-----END ").ok_or("no END line")? + "-----END ".len();
    let end_at = text[start..]
        .find("-----")
        .map(|j| start + j + "-----".len())
        .ok_or("unterminated END line")?;
    let block = format!("{}\n", text[..end_at].trim_end());
    let (label, der) = pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| e.to_string())?;
    Ok((label.to_string(), der))
}

/// Parses `--now`: Unix seconds or RFC 3339.
pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("--now {s:?}: expected Unix seconds or RFC 3339 ({e})"))
}

pub(crate) fn now_unix() -> Result<i64, String> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "system clock is before 1970".to_string())?;
    i64::try_from(d.as_secs()).map_err(|_| "system clock out of range".to_string())
}

fn load_policy(path: &Path) -> Result<CosignerPolicy, String> {
    let text = read_text(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_key = |p: &str| -> Result<Vec<u8>, String> {
        let full = dir.join(p);
        let bytes = std::fs::read(&full).map_err(|e| format!("cannot read: {e}"))?;
        spki_from_file_bytes(&bytes)
    };
    parse_policy(&text, &read_key).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_trusted(args: &VerifyArgs) -> Result<TrustedSubtrees, String> {
    let mut trusted = match &args.trusted_subtrees {
        Some(p) => {
            parse_trusted_subtrees(&read_text(p)?).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => TrustedSubtrees::default(),
    };
    for spec in &args.trusted_subtree {
        trusted
            .0
            .push(parse_trusted_subtree(spec).map_err(|e| format!("--trusted-subtree: {e}"))?);
    }
    Ok(trusted)
}

/// The one-line summary printed for a valid certificate.
pub fn describe(v: &Verified, landmarks: Option<&LandmarkDocument>) -> String {
    let kind = if v.certificate.proof.signatures.is_empty() {
        "landmark-relative"
    } else {
        "standalone"
    };
    let by = match &v.by {
        VerifiedBy::Cosigners(ids) => {
            let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
            format!("cosigners {}", ids.join(", "))
        }
        VerifiedBy::TrustedSubtree => landmarks
            .and_then(|doc| {
                doc.subtrees()
                    .into_iter()
                    .find(|s| s.start == v.start && s.end == v.end)
            })
            .map_or_else(
                || "trusted subtree".to_string(),
                |s| format!("landmark {}", s.landmark),
            ),
    };
    format!(
        "valid: {kind} 0x{:x} log {} index {}, subtree [{}, {}), by {by}",
        v.serial, v.log, v.index, v.start, v.end
    )
}

/// Runs `arbor verify`: `Ok` carries the exit status (0 valid, [`EXIT_INVALID`] after printing
/// `invalid: ...`); `Err` is for usage and I/O problems (exit 2).
pub async fn run_code(args: VerifyArgs) -> Result<u8, String> {
    let cert = der_from_file(&args.cert)?;
    let ca_der = der_from_file(&args.ca)?;
    let ca = CaCertificate::from_der(&ca_der)
        .map_err(|e| format!("{}: not an MTC CA certificate: {e}", args.ca.display()))?;
    let policy = match &args.policy {
        Some(p) => load_policy(p)?,
        None => CosignerPolicy::new(),
    };
    let mut landmarks = match &args.landmarks {
        Some(p) => Some(
            LandmarkDocument::parse(&read_text(p)?).map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let mut trusted = load_trusted(&args)?;
    let now = match &args.now {
        Some(s) => parse_time(s)?,
        None => now_unix()?,
    };
    if let Some(url) = &args.log_url {
        let timeout = std::time::Duration::from_secs(LOG_TIMEOUT_SECS);
        let (live, doc) =
            crate::cmd_log::trusted_from_log(url, args.root.as_deref(), &ca, now, timeout).await?;
        trusted.0.extend(live.0);
        landmarks.get_or_insert(doc);
    }
    match verify(&cert, &ca, &policy, &trusted, now) {
        Ok(v) => {
            println!("{}", describe(&v, landmarks.as_ref()));
            Ok(0)
        }
        Err(e) => {
            println!("invalid: {e}");
            Ok(EXIT_INVALID)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("0").unwrap(), 0);
        assert_eq!(parse_time("2026-01-01T00:00:00Z").unwrap(), 1_767_225_600);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn first_pem_block() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        let (label, der) = pem_decode_first(pem.as_bytes()).unwrap();
        assert_eq!((label.as_str(), der), ("CERTIFICATE", vec![0, 1, 2]));
    }
}
