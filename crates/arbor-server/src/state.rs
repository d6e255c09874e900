//! Shared state of the front end: the RA, the nonce store and front-end settings.

use crate::nonce::NonceStore;
use arbor_ra::Ra;
use std::sync::Arc;

/// Hostile-CA test knobs (never in production): they make the server behave like the
/// worst conforming CA so clients prove their retry logic (Pebble's PEBBLE_WFE_* in spirit).
#[derive(Debug, Clone, Default)]
pub struct HostileKnobs {
    /// Percent of valid nonces rejected with `badNonce`.
    pub nonce_reject_percent: u8,
    /// Percent of POSTs answered `503` + `Retry-After` before any processing.
    pub unavailable_percent: u8,
    /// Shuffle identifiers, authorizations and challenges in every response.
    pub shuffle: bool,
    /// Send `Retry-After` as an HTTP-date half of the time (else delta-seconds).
    pub mixed_retry_after: bool,
}

impl HostileKnobs {
    /// Whether a `percent` chance fires.
    pub fn roll(percent: u8) -> bool {
        percent > 0 && rand::random_range(0..100u8) < percent
    }

    /// A `Retry-After` value for `secs`, in either RFC 9110 form when mixing.
    pub fn retry_after(&self, secs: u64) -> String {
        if self.mixed_retry_after && rand::random::<bool>() {
            httpdate::fmt_http_date(
                std::time::SystemTime::now() + std::time::Duration::from_secs(secs + 1),
            )
        } else {
            secs.to_string()
        }
    }
}

/// Front-end settings (directory `meta`, limits).
#[derive(Debug, Clone)]
pub struct FrontEndConfig {
    /// `meta.termsOfService`.
    pub terms_of_service: Option<String>,
    /// `meta.website`.
    pub website: Option<String>,
    /// `meta.caaIdentities`.
    pub caa_identities: Vec<String>,
    /// Largest JWS body accepted, checked before parsing (Boulder: 50,000 bytes).
    pub max_body: usize,
    /// Base URL of the plain-HTTP listener for AIA and CRLs.
    pub public_http_base: String,
    /// Test mode only.
    pub hostile: HostileKnobs,
}

impl Default for FrontEndConfig {
    fn default() -> Self {
        FrontEndConfig {
            terms_of_service: None,
            website: None,
            caa_identities: Vec::new(),
            max_body: 50_000,
            public_http_base: "http://127.0.0.1:14080".into(),
            hostile: HostileKnobs::default(),
        }
    }
}

/// Concurrent landmark-relative certificate builds; more wait briefly, then get 503.
pub const RELATIVE_PERMITS: usize = 8;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub ra: Ra,
    pub nonces: Arc<NonceStore>,
    pub cfg: Arc<FrontEndConfig>,
    /// The MTC issuance log, when MTC is enabled (landmark-relative certificates).
    pub mtc: Option<Arc<crate::mtc_issue::LogIssuer>>,
    /// The MTC CA certificate (DER), appended to standalone downloads for clients that
    /// do not ask for certificate properties (see `routes::mtc::standalone`).
    pub mtc_ca_der: Option<Arc<Vec<u8>>>,
    /// Bounds concurrent landmark-relative certificate builds (stampede guard).
    pub relative_permits: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Builds the state.
    pub fn new(ra: Ra, cfg: FrontEndConfig) -> AppState {
        AppState {
            ra,
            nonces: Arc::new(NonceStore::new(nonce::DEFAULT_CAPACITY)),
            cfg: Arc::new(cfg),
            mtc: None,
            mtc_ca_der: None,
            relative_permits: Arc::new(tokio::sync::Semaphore::new(RELATIVE_PERMITS)),
        }
    }

    /// The state with the MTC issuance log and its CA certificate plugged in.
    pub fn with_mtc(mut self, mtc: Arc<crate::mtc_issue::LogIssuer>, ca_der: Vec<u8>) -> AppState {
        self.mtc = Some(mtc);
        self.mtc_ca_der = Some(Arc::new(ca_der));
        self
    }
}

use crate::nonce;
