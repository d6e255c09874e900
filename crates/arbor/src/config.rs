//! `arbor serve` configuration: a TOML file (unknown keys are an error) overridden by the
//! command-line flags. Every option has a default that makes the embedded local mode work
//! with no file at all.

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

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
    /// Directory `meta` fields.
    pub terms_of_service: Option<String>,
    pub website: Option<String>,
    pub caa_identities: Vec<String>,
    /// Certificate lifetime, e.g. "90d".
    pub cert_validity: String,
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
            validation_timeout: "10s".into(),
            server_names: vec!["localhost".into()],
            server_ips: vec![
                "127.0.0.1".parse().expect("constant address"),
                "::1".parse().expect("constant address"),
            ],
            terms_of_service: None,
            website: None,
            caa_identities: vec![],
            cert_validity: "90d".into(),
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
    }
}
