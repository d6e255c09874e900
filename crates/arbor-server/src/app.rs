//! Wiring: opens the store, loads or generates the hierarchy, builds VA and RA, resumes
//! interrupted issuance, binds both listeners and spawns them. `arbor serve` and the test
//! kit both start a CA through [`start`], so tests exercise exactly what users run.

use crate::state::{AppState, FrontEndConfig};
use arbor_ca::{CaConfig, Hierarchy};
use arbor_ra::{Clock, Ra, RaConfig};
use arbor_store::SqliteStore;
use arbor_va::{Va, VaConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// Everything needed to start a CA.
pub struct StartOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub public_http_listen: SocketAddr,
    /// Base URL of the plain-HTTP listener as written into certificates.
    pub public_http_base: String,
    pub va: VaConfig,
    pub ra: RaConfig,
    pub front_end: FrontEndConfig,
    pub server_names: Vec<String>,
    pub server_ips: Vec<IpAddr>,
    pub organization: String,
    pub clock: Arc<dyn Clock>,
    /// The MTC issuance log served at `/mtc` (None: no MTC).
    pub mtc: Option<crate::mtc::MtcOptions>,
}

/// A started CA.
pub struct Running {
    /// Bound ACME address (useful when `listen` had port 0).
    pub acme_addr: SocketAddr,
    /// Bound plain-HTTP address.
    pub public_addr: SocketAddr,
    /// The front-end state (tests reach the RA through it).
    pub state: AppState,
    /// Orders resumed from `processing` at start.
    pub resumed: usize,
    /// The listener tasks; abort them to stop the CA.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Why the CA could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("certificate hierarchy: {0}")]
    Hierarchy(#[from] arbor_ca::CaError),
    #[error("database: {0}")]
    Store(#[from] arbor_store::StoreError),
    #[error("validation authority: {0}")]
    Va(#[from] arbor_va::VaError),
    #[error("recovery: {0}")]
    Recovery(#[from] arbor_ra::RaError),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    Mtc(#[from] crate::mtc::MtcStartError),
}

/// Starts the CA and returns once both listeners are accepting.
pub async fn start(o: StartOptions) -> Result<Running, StartError> {
    std::fs::create_dir_all(&o.data_dir)
        .map_err(|e| StartError::DataDir(o.data_dir.display().to_string(), e))?;
    let now = o.clock.now();
    let base = o.public_http_base.trim_end_matches('/');
    let ca_cfg = CaConfig {
        aia_base_url: format!("{base}/aia"),
        crl_base_url: format!("{base}/crl"),
        organization: o.organization.clone(),
    };
    let hierarchy = Arc::new(Hierarchy::load_or_generate(&o.data_dir, &ca_cfg, now)?);
    let store = SqliteStore::open(&o.data_dir.join("arbor.db")).await?;
    let va = Va::new(o.va)?;
    let mut ra_cfg = o.ra;
    let site = match &o.mtc {
        Some(m) => {
            // The `mtc` profile exists only when the MTC log runs.
            if !ra_cfg.profiles.iter().any(|p| p.mtc) {
                ra_cfg.profiles.push(arbor_ra::Profile::mtc());
            }
            Some(crate::mtc::open_site(&o.data_dir, m, now).await?)
        }
        None => {
            ra_cfg.profiles.retain(|p| !p.mtc);
            None
        }
    };
    let ra = Ra::new(Arc::new(store), va, hierarchy.clone(), ra_cfg, o.clock);
    let mut issuer = None;
    if let (Some(site), Some(m)) = (&site, &o.mtc) {
        let ca_id = m
            .ca_id
            .parse()
            .map_err(|e| crate::mtc::MtcStartError::Config(format!("ca_id {:?}: {e}", m.ca_id)))?;
        let i = crate::mtc_issue::LogIssuer::new(site, ca_id, m.log_number).ok_or_else(|| {
            crate::mtc::MtcStartError::Config(format!("log {} is not open", m.log_number))
        })?;
        let i = Arc::new(i);
        ra.set_mtc_issuer(i.clone());
        issuer = Some(i);
    }
    let resumed = ra.recover().await?;
    let (chain, key) = hierarchy.server_cert(&o.server_names, &o.server_ips, now)?;
    let tls = crate::tls_config(&chain, &key)?;
    let mut state = AppState::new(ra, o.front_end);
    if let (Some(i), Some(site)) = (issuer, &site) {
        state = state.with_mtc(i, site.ca_der.clone());
    }
    let acme = tokio::net::TcpListener::bind(o.listen)
        .await
        .map_err(|e| StartError::Bind(o.listen, e))?;
    let public = tokio::net::TcpListener::bind(o.public_http_listen)
        .await
        .map_err(|e| StartError::Bind(o.public_http_listen, e))?;
    let acme_addr = acme
        .local_addr()
        .map_err(|e| StartError::Bind(o.listen, e))?;
    let public_addr = public
        .local_addr()
        .map_err(|e| StartError::Bind(o.public_http_listen, e))?;
    let mut app = crate::routes::router(state.clone());
    if let Some(site) = site {
        app = app.nest("/mtc", arbor_mtclog::router(site));
    }
    let public_app = crate::routes::pki::public_router(state.clone());
    let t1 = tokio::spawn(async move {
        if let Err(e) = crate::serve_http(public, public_app).await {
            tracing::error!(error = %e, "public HTTP listener failed");
        }
    });
    let t2 = tokio::spawn(crate::serve_https(acme, tls, app));
    Ok(Running {
        acme_addr,
        public_addr,
        state,
        resumed,
        tasks: vec![t1, t2],
    })
}
