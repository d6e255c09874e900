//! `arbor serve`: wires store, VA, CA and RA behind the HTTPS front end. With no flags it
//! runs the embedded local mode: SQLite under ./arbor-data, a generated test hierarchy,
//! ACME on https://127.0.0.1:14000/dir, http-01 validated on port 5002.
//!
//! Stable flags (scripts rely on them): --config, --data-dir, --listen, --dns-server,
//! --resolve-all-to, --http-port, --tls-port.

use crate::config::{ServeConfig, parse_duration};
use arbor_ra::{RaConfig, SystemClock};
use arbor_server::app::StartOptions;
use arbor_server::{FrontEndConfig, HostileKnobs};
use arbor_va::{ResolverConfig, VaConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Flags of `arbor serve`. Each overrides the same key of the config file.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TOML config file; every key is optional and unknown keys are errors.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// State directory: SQLite database, hierarchy and keys [default: ./arbor-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// ACME HTTPS listener [default: 127.0.0.1:14000].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Resolve identifiers through this DNS server (like Pebble's -dnsserver).
    #[arg(long, value_name = "ADDR:PORT")]
    dns_server: Option<SocketAddr>,
    /// Resolve every name to this address (no DNS needed).
    #[arg(long, value_name = "IP")]
    resolve_all_to: Option<IpAddr>,
    /// Port http-01 validation connects to [default: 5002; production: 80].
    #[arg(long, value_name = "N")]
    http_port: Option<u16>,
    /// Port tls-alpn-01 validation connects to [default: 5001; production: 443].
    #[arg(long, value_name = "N")]
    tls_port: Option<u16>,
    /// How often the MTC log allocates a landmark, e.g. `1h`, `5s` [default: 1h].
    #[arg(long, value_name = "DURATION")]
    landmark_interval: Option<String>,
    /// How long the MTC log pools entries before sequencing, e.g. `100ms` [default: 100ms].
    #[arg(long, value_name = "DURATION")]
    sequence_interval: Option<String>,
    /// Plain-HTTP listener for AIA and CRLs [default: 127.0.0.1:14080].
    #[arg(long, value_name = "ADDR:PORT")]
    public_http_listen: Option<SocketAddr>,
}

fn merged(args: &ServeArgs) -> Result<ServeConfig, String> {
    let mut c = match &args.config {
        Some(p) => ServeConfig::from_file(p)?,
        None => ServeConfig::default(),
    };
    if let Some(v) = &args.data_dir {
        c.data_dir = v.clone();
    }
    if let Some(v) = args.listen {
        c.listen = v;
    }
    if let Some(v) = args.dns_server {
        c.dns_server = Some(v);
    }
    if let Some(v) = args.resolve_all_to {
        c.resolve_all_to = Some(v);
    }
    if let Some(v) = args.http_port {
        c.http_port = v;
    }
    if let Some(v) = args.tls_port {
        c.tls_port = v;
    }
    if let Some(v) = args.public_http_listen {
        c.public_http_listen = v;
    }
    if let Some(v) = &args.landmark_interval {
        c.mtc.landmark_interval = v.clone();
    }
    if let Some(v) = &args.sequence_interval {
        c.mtc.sequence_interval = v.clone();
    }
    Ok(c)
}

/// Runs the CA until killed.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    let cfg = merged(&args)?;
    if cfg.production && cfg.test_knobs.is_some() {
        return Err("[test_knobs] are refused in production mode".into());
    }
    let knobs = cfg.test_knobs.clone().unwrap_or_default();
    let resolver = match (cfg.resolve_all_to, cfg.dns_server) {
        (Some(ip), _) => ResolverConfig::Fixed(ip),
        (None, Some(s)) => ResolverConfig::Server(s),
        (None, None) => ResolverConfig::System,
    };
    let opts = StartOptions {
        data_dir: cfg.data_dir.clone(),
        listen: cfg.listen,
        public_http_listen: cfg.public_http_listen,
        public_http_base: cfg.public_http_base.clone(),
        va: VaConfig {
            resolver,
            http_port: cfg.http_port,
            tls_port: cfg.tls_port,
            allow_loopback: !cfg.production,
            timeout: parse_duration(&cfg.validation_timeout)?,
            max_body: 64 * 1024,
        },
        ra: RaConfig {
            profiles: cfg.ra_profiles()?,
            rate_limits: match &cfg.rate_limits {
                Some(r) => r.to_ra()?,
                None if cfg.production => arbor_ra::RateLimits::default(),
                None => arbor_ra::RateLimits::off(),
            },
            external_account_required: cfg.external_account_required,
            caa_identities: cfg.caa_identities.clone(),
            default_profile: cfg.default_profile.clone(),
            terms_of_service: cfg.terms_of_service.clone(),
            async_finalize_ms: knobs.async_finalize_ms,
            authz_reuse_percent: knobs.authz_reuse_percent.unwrap_or(100).min(100),
            ..RaConfig::default()
        },
        front_end: FrontEndConfig {
            terms_of_service: cfg.terms_of_service.clone(),
            website: cfg.website.clone(),
            caa_identities: cfg.caa_identities.clone(),
            max_body: cfg.max_body,
            public_http_base: cfg.public_http_base.clone(),
            hostile: HostileKnobs {
                nonce_reject_percent: knobs.nonce_reject_percent.min(100),
                unavailable_percent: knobs.unavailable_percent.min(100),
                shuffle: knobs.shuffle,
                mixed_retry_after: knobs.mixed_retry_after,
            },
        },
        server_names: cfg.server_names.clone(),
        server_ips: cfg.server_ips.clone(),
        organization: cfg.organization.clone(),
        clock: Arc::new(SystemClock),
        mtc: cfg
            .mtc
            .enabled
            .then(|| -> Result<_, String> {
                Ok(arbor_server::mtc::MtcOptions {
                    ca_id: cfg.mtc.ca_id.clone(),
                    log_number: cfg.mtc.log_number,
                    sequence_interval: parse_duration(&cfg.mtc.sequence_interval)?,
                    landmark_interval: parse_duration(&cfg.mtc.landmark_interval)?,
                    witnesses: cfg
                        .mtc
                        .witness
                        .iter()
                        .map(witness_endpoint)
                        .collect::<Result<_, _>>()?,
                    clock: None,
                })
            })
            .transpose()?,
    };
    let running = arbor_server::app::start(opts)
        .await
        .map_err(|e| e.to_string())?;
    if running.resumed > 0 {
        tracing::info!(
            orders = running.resumed,
            "resumed orders left in processing"
        );
    }
    println!("Arbor ACME CA ready");
    println!("  directory: https://{}/dir", running.acme_addr);
    println!("  trust root: {}", cfg.data_dir.join("root.pem").display());
    println!(
        "  alternate root: {}",
        cfg.data_dir.join("root-alt.pem").display()
    );
    println!(
        "  http-01 validation port: {}; AIA/CRL on http://{}",
        cfg.http_port, running.public_addr
    );
    for t in running.tasks {
        let _ = t.await;
    }
    Ok(())
}

/// A configured witness as the log takes it.
fn witness_endpoint(
    w: &crate::config::WitnessConfig,
) -> Result<arbor_mtclog::WitnessEndpoint, String> {
    let cosigner_id = w.cosigner_id.parse().map_err(|e| {
        format!(
            "mtc.witness {}: cosigner_id {:?}: {e}",
            w.url, w.cosigner_id
        )
    })?;
    let verifier = match &w.public_key_hex {
        Some(h) => {
            let key = hex::decode(h.trim())
                .map_err(|e| format!("mtc.witness {}: public_key_hex: {e}", w.url))?;
            let v: std::sync::Arc<dyn arbor_tlog::cosignature::MessageVerifier + Send + Sync> =
                std::sync::Arc::new(arbor_mtclog::MlDsa44MessageVerifier(key));
            Some(v)
        }
        None => None,
    };
    Ok(arbor_mtclog::WitnessEndpoint {
        url: w.url.trim_end_matches('/').to_string(),
        cosigner_id,
        verifier,
    })
}
