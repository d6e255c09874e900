//! `arbor serve` configuration: a TOML file (unknown keys are an error) overridden by the
//! command-line flags. Every option has a default that makes the embedded local mode work
//! with no file at all.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// `[rate_limits]`: each limit is `"COUNT/DURATION"` (e.g. `"300/3h"`) or `"off"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    pub new_accounts_per_ip: String,
    pub new_orders_per_account: String,
    pub certs_per_registered_domain: String,
    pub failed_validations: String,
    pub duplicate_certificates: String,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        let d = arbor_ra::RateLimits::default();
        let f = |l: Option<arbor_ra::Limit>| match l {
            Some(l) => format!("{}/{}s", l.count, l.window_secs),
            None => "off".into(),
        };
        RateLimitsConfig {
            new_accounts_per_ip: f(d.new_accounts_per_ip),
            new_orders_per_account: f(d.new_orders_per_account),
            certs_per_registered_domain: f(d.certs_per_registered_domain),
            failed_validations: f(d.failed_validations),
            duplicate_certificates: f(d.duplicate_certificates),
        }
    }
}

fn parse_limit(name: &str, s: &str) -> Result<Option<arbor_ra::Limit>, String> {
    if s == "off" {
        return Ok(None);
    }
    let (n, d) = s
        .split_once('/')
        .ok_or_else(|| format!("rate_limits.{name}: {s:?} is not COUNT/DURATION or off"))?;
    let count: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("rate_limits.{name}: bad count {n:?}"))?;
    let window = parse_duration(d.trim())?.as_secs() as i64;
    if count == 0 || window == 0 {
        return Err(format!(
            "rate_limits.{name}: count and window must be positive"
        ));
    }
    Ok(Some(arbor_ra::Limit {
        count,
        window_secs: window,
    }))
}

impl RateLimitsConfig {
    /// The RA's form.
    pub fn to_ra(&self) -> Result<arbor_ra::RateLimits, String> {
        Ok(arbor_ra::RateLimits {
            new_accounts_per_ip: parse_limit("new_accounts_per_ip", &self.new_accounts_per_ip)?,
            new_orders_per_account: parse_limit(
                "new_orders_per_account",
                &self.new_orders_per_account,
            )?,
            certs_per_registered_domain: parse_limit(
                "certs_per_registered_domain",
                &self.certs_per_registered_domain,
            )?,
            failed_validations: parse_limit("failed_validations", &self.failed_validations)?,
            duplicate_certificates: parse_limit(
                "duplicate_certificates",
                &self.duplicate_certificates,
            )?,
        })
    }
}

/// `[test_knobs]`: a hostile CA for testing clients (refused in production mode).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestKnobs {
    /// Percent of valid nonces rejected with badNonce.
    pub nonce_reject_percent: u8,
    /// Percent of POSTs answered 503 + Retry-After.
    pub unavailable_percent: u8,
    /// Shuffle identifiers, authorizations and challenges.
    pub shuffle: bool,
    /// Retry-After as HTTP-date half of the time.
    pub mixed_retry_after: bool,
    /// Finalize answers `processing`, issuing after this many milliseconds.
    pub async_finalize_ms: Option<u64>,
    /// Percent of reusable authorizations reused (default 100).
    pub authz_reuse_percent: Option<u8>,
}

/// `[mtc]`: the Merkle Tree Certificate issuance log served at `/mtc`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MtcConfig {
    /// Serve the MTC log (default on).
    pub enabled: bool,
    /// The CA ID (a trust anchor ID, ASCII form).
    pub ca_id: String,
    /// The current log number.
    pub log_number: u16,
    /// Pooling interval before a sequencing round.
    pub sequence_interval: String,
    /// Landmark allocation interval.
    pub landmark_interval: String,
    /// Witnesses (`arbor witness`) the log asks to cosign; standalone certificates then
    /// carry their signatures too.
    pub witness: Vec<WitnessConfig>,
}

/// One `[[mtc.witness]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// URL prefix of the witness (`<url>/add-checkpoint`, `<url>/sign-subtree`).
    pub url: String,
    /// The witness's cosigner ID (trust anchor ID, ASCII form).
    pub cosigner_id: String,
    /// The witness's raw ML-DSA-44 public key, hex; when given, its signatures are
    /// checked before they go into certificates.
    pub public_key_hex: Option<String>,
}

impl Default for MtcConfig {
    fn default() -> Self {
        MtcConfig {
            enabled: true,
            ca_id: "32473.1".into(),
            log_number: 1,
            sequence_interval: "100ms".into(),
            landmark_interval: "1h".into(),
            witness: Vec::new(),
        }
    }
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Shown to clients in the directory's `meta.profiles`.
    pub description: String,
    /// Certificate lifetime, e.g. "90d", "160h" (at most 200 days, BR §6.3.2).
    pub validity: String,
    /// Whether IP identifiers may be ordered.
    #[serde(default)]
    pub allow_ip: bool,
}

/// Everything `arbor serve` can be told. Field names are the TOML keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Where the SQLite database, the hierarchy and its keys live.
    pub data_dir: PathBuf,
    /// The ACME HTTPS listener.
    pub listen: SocketAddr,
    /// The plain-HTTP listener for AIA and CRLs (BR wants http:// URLs there).
    pub public_http_listen: SocketAddr,
    /// The base URL put into certificates' AIA and CRL distribution points.
    pub public_http_base: String,
    /// DNS server used to resolve identifiers for validation (like Pebble's -dnsserver).
    pub dns_server: Option<SocketAddr>,
    /// Resolve every name to this address (a laptop with no DNS).
    pub resolve_all_to: Option<IpAddr>,
    /// Port http-01 validation connects to (80 in production).
    pub http_port: u16,
    /// Port tls-alpn-01 validation connects to (443 in production).
    pub tls_port: u16,
    /// Production mode: refuse to validate against loopback/private addresses.
    pub production: bool,
    /// Per-attempt validation timeout, e.g. "10s".
    pub validation_timeout: String,
    /// Names and addresses on the CA's own HTTPS certificate.
    pub server_names: Vec<String>,
    pub server_ips: Vec<IpAddr>,
    /// The MTC issuance log.
    pub mtc: MtcConfig,
    /// Hostile-CA knobs for client testing; refused when `production = true`.
    pub test_knobs: Option<TestKnobs>,
    /// Require external account binding for new accounts (`arbor admin eab add`).
    pub external_account_required: bool,
    /// Rate limits; see `[rate_limits]`. Without the table, production mode uses Let's
    /// Encrypt's limits and the local mode none (like Pebble), so test loops don't trip.
    pub rate_limits: Option<RateLimitsConfig>,
    /// Directory `meta` fields.
    pub terms_of_service: Option<String>,
    pub website: Option<String>,
    pub caa_identities: Vec<String>,
    /// The profile used when an order names none.
    pub default_profile: String,
    /// Offered profiles by name (draft-aaron-acme-profiles). Replaces the defaults
    /// (`classic`, `shortlived`) when given.
    pub profiles: BTreeMap<String, ProfileConfig>,
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// Organization name in the generated hierarchy's subjects.
    pub organization: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            data_dir: PathBuf::from("arbor-data"),
            listen: "127.0.0.1:14000".parse().expect("constant address"),
            public_http_listen: "127.0.0.1:14080".parse().expect("constant address"),
            public_http_base: "http://127.0.0.1:14080".into(),
            dns_server: None,
            resolve_all_to: None,
            http_port: 5002,
            tls_port: 5001,
            production: false,
            external_account_required: false,
            test_knobs: None,
            mtc: MtcConfig::default(),
            rate_limits: None,
            validation_timeout: "10s".into(),
            server_names: vec!["localhost".into()],
            server_ips: vec![
                "127.0.0.1".parse().expect("constant address"),
                "::1".parse().expect("constant address"),
            ],
            terms_of_service: None,
            website: None,
            caa_identities: vec!["arbor.test".into()],
            default_profile: "classic".into(),
            profiles: BTreeMap::from([
                (
                    "classic".to_string(),
                    ProfileConfig {
                        description: "90-day certificate for DNS names".into(),
                        validity: "90d".into(),
                        allow_ip: false,
                    },
                ),
                (
                    "shortlived".to_string(),
                    ProfileConfig {
                        description: "160-hour certificate for DNS names and IP addresses".into(),
                        validity: "160h".into(),
                        allow_ip: true,
                    },
                ),
            ]),
            max_body: 50_000,
            organization: "Arbor Test CA".into(),
        }
    }
}

impl ServeConfig {
    /// Reads a TOML file; unknown keys are errors.
    pub fn from_file(path: &std::path::Path) -> Result<ServeConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))
    }

    /// The profiles as the RA takes them; checks lifetimes and the default's existence.
    pub fn ra_profiles(&self) -> Result<Vec<arbor_ra::Profile>, String> {
        let mut out = Vec::new();
        for (name, p) in &self.profiles {
            let secs = parse_duration(&p.validity)?.as_secs() as i64;
            if secs <= 0 || secs > arbor_ra::BR_MAX_VALIDITY_SECS {
                return Err(format!(
                    "profile {name}: validity {} is outside 1s..200d (BR §6.3.2)",
                    p.validity
                ));
            }
            out.push(arbor_ra::Profile {
                name: name.clone(),
                description: p.description.clone(),
                validity_secs: secs,
                allow_ip: p.allow_ip,
                // MTC profiles are added by the server when its MTC log is enabled.
                mtc: false,
            });
        }
        if !self.profiles.contains_key(&self.default_profile) {
            return Err(format!(
                "default_profile {:?} is not among the configured profiles",
                self.default_profile
            ));
        }
        Ok(out)
    }
}

/// Parses a duration like "90d", "10s", "1h30m".
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("bad duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors() {
        let e = toml::from_str::<ServeConfig>("listen = \"127.0.0.1:1\"\nbogus = 1\n");
        assert!(e.is_err());
        let ok: ServeConfig = toml::from_str("http_port = 80\nproduction = true\n").unwrap();
        assert_eq!(ok.http_port, 80);
        assert!(ok.production);
        assert_eq!(ok.listen.port(), 14000);
        assert_eq!(ok.ra_profiles().unwrap().len(), 2);
        let custom: ServeConfig = toml::from_str(
            "default_profile = \"p\"\n[profiles.p]\ndescription = \"x\"\nvalidity = \"7d\"\n",
        )
        .unwrap();
        assert_eq!(custom.ra_profiles().unwrap()[0].validity_secs, 7 * 86_400);
        let too_long: ServeConfig = toml::from_str(
            "default_profile = \"p\"\n[profiles.p]\ndescription = \"x\"\nvalidity = \"400d\"\n",
        )
        .unwrap();
        assert!(too_long.ra_profiles().is_err());
    }
}
