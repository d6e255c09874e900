//! Shared state of the front end: the RA, the nonce store and front-end settings.

use crate::nonce::NonceStore;
use arbor_ra::Ra;
use std::sync::Arc;

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
}

impl Default for FrontEndConfig {
    fn default() -> Self {
        FrontEndConfig {
            terms_of_service: None,
            website: None,
            caa_identities: Vec::new(),
            max_body: 50_000,
            public_http_base: "http://127.0.0.1:14080".into(),
        }
    }
}

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub ra: Ra,
    pub nonces: Arc<NonceStore>,
    pub cfg: Arc<FrontEndConfig>,
}

impl AppState {
    /// Builds the state.
    pub fn new(ra: Ra, cfg: FrontEndConfig) -> AppState {
        AppState {
            ra,
            nonces: Arc::new(NonceStore::new(nonce::DEFAULT_CAPACITY)),
            cfg: Arc::new(cfg),
        }
    }
}

use crate::nonce;
