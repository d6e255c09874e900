//! The cron client's TOML configuration (`arbor client --config FILE`): the ACME server,
//! the state directory, the account, and one `[[certificate]]` table per certificate with
//! its identifiers, challenge type, key type, output files and deploy hook.
//!
//! Unknown keys are errors (`deny_unknown_fields`) so a typo never silently disables a
//! setting. Relative paths are resolved against the directory holding the file.
//!
//! ```toml
//! directory = "https://127.0.0.1:14000/dir"
//! trust_root = "arbor-data/root.pem"   # optional extra root for a test CA
//! state_dir = "client-state"
//! email = "ops@example.com"            # optional
//! renew_before_fraction = 0.3333       # without ARI: renew when 1/3 of the lifetime is left
//! mtc_profiles = ["mtc"]               # profiles that issue Merkle Tree Certificates (default)
//!
//! [account]                            # optional
//! key = "p256"                         # p256 | p384 | rsa2048 | ed25519
//! eab_kid = "kid-1"                    # external account binding (RFC 8555 §7.3.4)
//! eab_hmac = "base64url-mac-key"
//!
//! [dns]                                # for dns-01: RFC 2136 + TSIG ...
//! server = "127.0.0.1:5353"            # the primary (UPDATEs and propagation checks)
//! zone = "example.com"                 # optional: found by an SOA query otherwise
//! tsig_key = "arbor-test-key"
//! tsig_secret = "base64-secret"
//! tsig_algorithm = "hmac-sha256"       # default; also hmac-sha384, hmac-sha512
//! propagation_timeout = 60             # seconds, bound on waiting for the primary
//! propagation_poll = 1
//! # ... or instead: hook = "/usr/local/bin/dns-hook"  (ACME_PHASE=add|del, ACME_DOMAIN,
//! #                                                    ACME_TXT_NAME, ACME_TXT_VALUE)
//!
//! [[certificate]]
//! name = "www"
//! identifiers = ["www.example.com", "example.com", "192.0.2.1"]
//! challenge = "http-01"                # http-01 | tls-alpn-01 | dns-01
//! challenge_overrides = { "example.com" = "dns-01" }
//! http_port = 80                       # standalone http-01 listener (bound only during a run)
//! webroot = "/var/www/html"            # http-01 via files instead of a listener
//! tls_port = 443                       # tls-alpn-01 listener
//! bind_address = "0.0.0.0"
//! profile = "classic"
//! key = "p256"
//! output_dir = "live/www"              # key.pem, cert.pem, chain.pem, fullchain.pem
//! key_mode = 0o600
//! cert_mode = 0o644
//! owner = 0                            # numeric uid/gid of the installed files
//! group = 0
//! deploy_hook = "systemctl reload nginx"
//! preferred_chain = "Arbor Alt Root"   # issuer CN at the top of the wanted chain
//!
//! [[certificate]]                      # a Merkle Tree Certificate: cert.pem + fullchain.pem
//! name = "mtc"                         # (standalone) at once, landmark.pem later, each with
//! identifiers = ["mtc.example.com"]    # a .properties file beside it
//! profile = "mtc"
//! output_dir = "live/mtc"
//! landmark = "auto"                    # auto | acme-optional-alternate |
//!                                      # new-relative-certificate | never
//! ```

use crate::cron::error::CronError;
use arbor_proto::sign::KeyKind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Renewal point without ARI: renew once less than this fraction of the lifetime is left
/// (1/3 left = two thirds of the lifetime elapsed, the common practice; RFC 9773 §1).
pub const DEFAULT_RENEW_BEFORE_FRACTION: f64 = 1.0 / 3.0;
/// Profiles treated as Merkle Tree Certificate profiles when `mtc_profiles` is not set.
pub const DEFAULT_MTC_PROFILES: &[&str] = &["mtc"];
/// Default DNS TTL of a published `_acme-challenge` TXT record (seconds).
pub const DEFAULT_DNS_TTL: u32 = 60;
/// Default bound on waiting for the primary to serve a published TXT record (seconds).
pub const DEFAULT_PROPAGATION_TIMEOUT: u64 = 60;
/// Default interval between propagation checks (seconds).
pub const DEFAULT_PROPAGATION_POLL: u64 = 1;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The ACME directory URL (https).
    pub directory: String,
    /// An extra PEM root to trust for the ACME server (e.g. a test CA).
    pub trust_root: Option<PathBuf>,
    /// Where state (account key, pending orders, issued chains) lives.
    pub state_dir: PathBuf,
    /// Contact address for the account (`mailto:` is added).
    pub email: Option<String>,
    /// Account settings.
    #[serde(default)]
    pub account: AccountConfig,
    /// Default dns-01 settings for every certificate.
    pub dns: Option<DnsConfig>,
    /// Default renewal fraction when the CA offers no ARI.
    pub renew_before_fraction: Option<f64>,
    /// Profiles that issue Merkle Tree Certificates (default [`DEFAULT_MTC_PROFILES`]).
    pub mtc_profiles: Option<Vec<String>>,
    /// The certificates.
    #[serde(default, rename = "certificate")]
    pub certificates: Vec<CertConfig>,
}

/// `[account]`: key type and external account binding (RFC 8555 §7.3.4).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Account key type (default p256).
    pub key: Option<KeyChoice>,
    /// EAB key identifier.
    pub eab_kid: Option<String>,
    /// EAB MAC key, base64url (as CAs hand it out).
    pub eab_hmac: Option<String>,
    /// EAB MAC algorithm (default HS256).
    pub eab_alg: Option<String>,
}

/// The key types a certificate or account may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyChoice {
    /// ECDSA P-256.
    #[default]
    P256,
    /// ECDSA P-384.
    P384,
    /// RSA 2048.
    Rsa2048,
    /// Ed25519.
    Ed25519,
}

impl KeyChoice {
    /// The signing-key kind.
    pub fn kind(self) -> KeyKind {
        match self {
            KeyChoice::P256 => KeyKind::P256,
            KeyChoice::P384 => KeyKind::P384,
            KeyChoice::Rsa2048 => KeyKind::Rsa2048,
            KeyChoice::Ed25519 => KeyKind::Ed25519,
        }
    }
}

/// The challenge types the cron client can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum ChallengeKind {
    /// RFC 8555 §8.3.
    #[default]
    #[serde(rename = "http-01")]
    Http01,
    /// RFC 8737.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    /// RFC 8555 §8.4.
    #[serde(rename = "dns-01")]
    Dns01,
}

impl ChallengeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
            ChallengeKind::Dns01 => "dns-01",
        }
    }
}

/// `[dns]`: how dns-01 records are published — RFC 2136 UPDATE with TSIG, or a hook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The primary server receiving UPDATEs and answering propagation checks.
    pub server: Option<SocketAddr>,
    /// The zone to update (default: found by SOA queries to `server`).
    pub zone: Option<String>,
    /// TSIG key name.
    pub tsig_key: Option<String>,
    /// TSIG secret, standard base64 (as BIND's `tsig-keygen` prints it).
    pub tsig_secret: Option<String>,
    /// TSIG algorithm (default hmac-sha256).
    pub tsig_algorithm: Option<String>,
    /// TTL of the TXT record.
    pub ttl: Option<u32>,
    /// Upper bound (seconds) on waiting until the primary serves the record.
    pub propagation_timeout: Option<u64>,
    /// Seconds between propagation checks.
    pub propagation_poll: Option<u64>,
    /// Instead of RFC 2136: a shell command run with ACME_PHASE=add|del, ACME_DOMAIN,
    /// ACME_TXT_NAME and ACME_TXT_VALUE in its environment.
    pub hook: Option<String>,
}

/// One `[[certificate]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertConfig {
    /// A unique short name (state and messages use it).
    pub name: String,
    /// DNS names and IP addresses.
    pub identifiers: Vec<String>,
    /// The challenge type (default http-01).
    #[serde(default)]
    pub challenge: ChallengeKind,
    /// Per-identifier challenge type overrides.
    #[serde(default)]
    pub challenge_overrides: BTreeMap<String, ChallengeKind>,
    /// Port the standalone http-01 solver binds (default 80).
    pub http_port: Option<u16>,
    /// http-01 through files under this web root instead of a listener.
    pub webroot: Option<PathBuf>,
    /// Port the tls-alpn-01 solver binds (default 443).
    pub tls_port: Option<u16>,
    /// Address the standalone solvers bind (default 0.0.0.0).
    pub bind_address: Option<IpAddr>,
    /// dns-01 settings overriding the top-level `[dns]`.
    pub dns: Option<DnsConfig>,
    /// The ACME profile to ask for.
    pub profile: Option<String>,
    /// Certificate key type (default p256).
    #[serde(default)]
    pub key: KeyChoice,
    /// Where key.pem, cert.pem, chain.pem and fullchain.pem go.
    pub output_dir: PathBuf,
    /// Shell command run after new files are installed.
    pub deploy_hook: Option<String>,
    /// Mode of key.pem (default 0o600).
    pub key_mode: Option<u32>,
    /// Mode of the certificate files (default 0o644).
    pub cert_mode: Option<u32>,
    /// Numeric owner of the installed files.
    pub owner: Option<u32>,
    /// Numeric group of the installed files.
    pub group: Option<u32>,
    /// Prefer the chain whose topmost certificate was issued by this CN.
    pub preferred_chain: Option<String>,
    /// Overrides the top-level `renew_before_fraction`.
    pub renew_before_fraction: Option<f64>,
    /// How the landmark-relative certificate of an MTC is fetched (default auto).
    #[serde(default)]
    pub landmark: LandmarkFetch,
}

/// How a landmark-relative certificate is fetched (draft-ietf-plants-merkle-tree-certs §9
/// and PR #207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum LandmarkFetch {
    /// Design A when the CA linked an `acme-optional-alternate`, else design B when the
    /// directory has `newRelativeCertificate`.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// Only design A (the certificate's `rel="acme-optional-alternate"` link).
    #[serde(rename = "acme-optional-alternate")]
    OptionalAlternate,
    /// Only design B (the directory's `newRelativeCertificate`).
    #[serde(rename = "new-relative-certificate")]
    NewRelativeCertificate,
    /// Keep the standalone certificate only.
    #[serde(rename = "never")]
    Never,
}

impl Config {
    /// Reads, parses and checks `path`, resolving relative paths against its directory.
    pub fn load(path: &Path) -> Result<Config, CronError> {
        let text = std::fs::read_to_string(path).map_err(|source| CronError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
    }

    /// Parses and checks config text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config, CronError> {
        let mut cfg: Config =
            toml::from_str(text).map_err(|e| CronError::ConfigParse(e.to_string()))?;
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut cfg.state_dir);
        if let Some(t) = cfg.trust_root.as_mut() {
            abs(t);
        }
        for c in &mut cfg.certificates {
            abs(&mut c.output_dir);
            if let Some(w) = c.webroot.as_mut() {
                abs(w);
            }
        }
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), CronError> {
        let bad = |m: String| Err(CronError::ConfigInvalid(m));
        if !self.directory.starts_with("https://") {
            return bad(format!("directory {:?} must be https://", self.directory));
        }
        let mut names = std::collections::BTreeSet::new();
        for c in &self.certificates {
            if c.name.is_empty()
                || !c
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
                || c.name.starts_with('.')
            {
                return bad(format!(
                    "certificate name {:?} must be letters, digits, '-', '_' or '.'",
                    c.name
                ));
            }
            if !names.insert(c.name.clone()) {
                return bad(format!("certificate name {:?} appears twice", c.name));
            }
            if c.identifiers.is_empty() {
                return bad(format!("certificate {:?} has no identifiers", c.name));
            }
            for id in &c.identifiers {
                let kind = c.challenge_for(id);
                if id.starts_with("*.") && kind != ChallengeKind::Dns01 {
                    return bad(format!("{id}: wildcard names need dns-01"));
                }
                if id.parse::<IpAddr>().is_ok() && kind == ChallengeKind::Dns01 {
                    return bad(format!("{id}: IP addresses cannot use dns-01"));
                }
                if kind == ChallengeKind::Dns01 {
                    self.dns_for(c)?;
                }
            }
            for k in c.challenge_overrides.keys() {
                if !c.identifiers.contains(k) {
                    return bad(format!(
                        "certificate {:?}: challenge override for unknown identifier {k:?}",
                        c.name
                    ));
                }
            }
            if let Some(f) = c.renew_before_fraction.or(self.renew_before_fraction)
                && !(f > 0.0 && f < 1.0)
            {
                return bad(format!("renew_before_fraction {f} must be between 0 and 1"));
            }
        }
        if self.account.eab_kid.is_some() != self.account.eab_hmac.is_some() {
            return bad("account.eab_kid and account.eab_hmac go together".into());
        }
        Ok(())
    }

    /// The dns-01 settings of `c`: its own `dns` table, else the top-level one, checked.
    pub fn dns_for<'a>(&'a self, c: &'a CertConfig) -> Result<&'a DnsConfig, CronError> {
        let d = c.dns.as_ref().or(self.dns.as_ref()).ok_or_else(|| {
            CronError::ConfigInvalid(format!(
                "certificate {:?} uses dns-01 but has no [dns]",
                c.name
            ))
        })?;
        match (&d.hook, &d.server, &d.tsig_key, &d.tsig_secret) {
            (Some(_), None, None, None) => Ok(d),
            (None, Some(_), Some(_), Some(_)) => Ok(d),
            (None, Some(_), None, None) => Ok(d),
            _ => Err(CronError::ConfigInvalid(
                "[dns] needs either `hook`, or `server` (with `tsig_key` and `tsig_secret` together)"
                    .into(),
            )),
        }
    }

    /// Whether `cert` asks for a Merkle Tree Certificate profile.
    pub fn is_mtc(&self, cert: &CertConfig) -> bool {
        let Some(p) = cert.profile.as_deref() else {
            return false;
        };
        match &self.mtc_profiles {
            Some(list) => list.iter().any(|m| m == p),
            None => DEFAULT_MTC_PROFILES.contains(&p),
        }
    }

    /// The certificate named `name`.
    pub fn certificate(&self, name: &str) -> Option<&CertConfig> {
        self.certificates.iter().find(|c| c.name == name)
    }

    /// The account contact list.
    pub fn contacts(&self) -> Vec<String> {
        self.email
            .iter()
            .map(|e| {
                if e.starts_with("mailto:") {
                    e.clone()
                } else {
                    format!("mailto:{e}")
                }
            })
            .collect()
    }
}

impl CertConfig {
    /// The challenge type used for `identifier`.
    pub fn challenge_for(&self, identifier: &str) -> ChallengeKind {
        self.challenge_overrides
            .get(identifier)
            .copied()
            .unwrap_or(self.challenge)
    }

    /// The renewal fraction (see [`DEFAULT_RENEW_BEFORE_FRACTION`]).
    pub fn renew_fraction(&self, cfg: &Config) -> f64 {
        self.renew_before_fraction
            .or(cfg.renew_before_fraction)
            .unwrap_or(DEFAULT_RENEW_BEFORE_FRACTION)
    }

    /// The ACME identifiers (`ip` for addresses, else `dns`).
    pub fn acme_identifiers(&self) -> Vec<arbor_proto::Identifier> {
        self.identifiers
            .iter()
            .map(|s| match s.parse::<IpAddr>() {
                Ok(ip) => arbor_proto::Identifier::ip(ip),
                Err(_) => arbor_proto::Identifier::dns(s.to_ascii_lowercase()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
directory = "https://127.0.0.1:14000/dir"
trust_root = "arbor-data/root.pem"
state_dir = "client-state"
email = "ops@example.com"
[[certificate]]
name = "www"
identifiers = ["www.example.com", "example.com", "192.0.2.1"]
challenge = "http-01"
http_port = 80
profile = "classic"
key = "p256"
output_dir = "live/www"
deploy_hook = "systemctl reload nginx"
key_mode = 0o640
"#;

    #[test]
    fn parses_the_documented_example() {
        let c = Config::parse(GOOD, Path::new("/etc/arbor")).unwrap();
        assert_eq!(c.state_dir, Path::new("/etc/arbor/client-state"));
        let w = &c.certificates[0];
        assert_eq!(w.output_dir, Path::new("/etc/arbor/live/www"));
        assert_eq!(w.key_mode, Some(0o640));
        assert_eq!(w.acme_identifiers()[2].typ, "ip");
        assert_eq!(c.contacts(), vec!["mailto:ops@example.com".to_string()]);
    }

    #[test]
    fn module_doc_example_parses() {
        let doc: String = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start_matches(' ')))
            .collect();
        assert!(doc.contains("[[certificate]]"));
        let c = Config::parse(&doc, Path::new("/etc/arbor")).unwrap();
        let w = &c.certificates[0];
        assert_eq!(w.challenge_for("example.com"), ChallengeKind::Dns01);
        assert_eq!(w.challenge_for("www.example.com"), ChallengeKind::Http01);
        assert_eq!(
            c.dns_for(w).unwrap().tsig_key.as_deref(),
            Some("arbor-test-key")
        );
        assert_eq!(c.account.key, Some(KeyChoice::P256));
        let m = c.certificate("mtc").unwrap();
        assert!(c.is_mtc(m) && !c.is_mtc(w));
        assert_eq!(m.landmark, LandmarkFetch::Auto);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_combinations() {
        let typo = GOOD.replace("http_port", "http_prot");
        assert!(matches!(
            Config::parse(&typo, Path::new("/")),
            Err(CronError::ConfigParse(_))
        ));
        let wild = GOOD.replace("\"example.com\",", "\"*.example.com\",");
        assert!(matches!(
            Config::parse(&wild, Path::new("/")),
            Err(CronError::ConfigInvalid(_))
        ));
        let dns = GOOD.replace("challenge = \"http-01\"", "challenge = \"dns-01\"");
        assert!(
            Config::parse(&dns, Path::new("/")).is_err(),
            "dns-01 without [dns]"
        );
        let http = GOOD.replace("https://", "http://");
        assert!(Config::parse(&http, Path::new("/")).is_err());
    }
}
