//! The registration authority (RA): accounts, orders, authorizations and the order state
//! machine of RFC 8555 §7.1.6, plus issuance policy. It decides; the VA validates, the CA
//! signs and the store remembers. It knows nothing of HTTP: the front end authenticates the
//! request (JWS, nonce) and hands the RA an authenticated account.
//!
//! Every method that changes state returns only after the store has committed the change.
#![forbid(unsafe_code)]

mod account;
mod ari;
mod authz;
mod clock;
mod config;
mod error;
mod finalize;
mod ids;
mod mtc;
mod order;
mod profile;
mod ratelimit;
mod revoke;

pub use account::account_key;
pub use ari::{CertId, RENEWAL_INFO_RETRY_AFTER_SECS, RenewalWindow, window_for};
pub use clock::{Clock, SystemClock, TestClock};
pub use config::RaConfig;
pub use error::{RaError, SubError};
pub use finalize::CAA_RECHECK_SECS;
pub use ids::{new_id, new_serial, new_token, random_key};
pub use mtc::{
    CRASH_AT_ENV, FindFuture, IssueFuture, MtcIssueError, MtcIssued, MtcIssuer, MtcRequest,
    serial_hex,
};
pub use profile::{BR_MAX_VALIDITY_SECS, Profile};
pub use ratelimit::{Limit, RateLimits, registered_domain};
pub use revoke::RevocationAuth;

use arbor_ca::Hierarchy;
use arbor_store::Storage;
use arbor_va::Va;
use std::sync::Arc;

/// The registration authority. Cheap to clone.
#[derive(Clone)]
pub struct Ra {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Storage>,
    va: Va,
    ca: Arc<Hierarchy>,
    cfg: RaConfig,
    clock: Arc<dyn Clock>,
    mtc: std::sync::OnceLock<Arc<dyn MtcIssuer>>,
}

impl Ra {
    /// Builds the RA over its collaborators.
    pub fn new(
        store: Arc<dyn Storage>,
        va: Va,
        ca: Arc<Hierarchy>,
        cfg: RaConfig,
        clock: Arc<dyn Clock>,
    ) -> Ra {
        Ra {
            inner: Arc::new(Inner {
                store,
                va,
                ca,
                cfg,
                clock,
                mtc: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Current time, Unix seconds (injected clock).
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The configuration.
    pub fn config(&self) -> &RaConfig {
        &self.inner.cfg
    }

    /// The certificate hierarchy.
    pub fn hierarchy(&self) -> &Hierarchy {
        &self.inner.ca
    }

    /// Plugs in the MTC issuance log used by MTC profiles (once, at start-up). Returns
    /// false if one was already set.
    pub fn set_mtc_issuer(&self, issuer: Arc<dyn MtcIssuer>) -> bool {
        self.inner.mtc.set(issuer).is_ok()
    }

    /// Whether an MTC issuer is plugged in.
    pub fn has_mtc(&self) -> bool {
        self.inner.mtc.get().is_some()
    }

    /// The store (read access for the front end's renderers).
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.inner.store
    }
}
