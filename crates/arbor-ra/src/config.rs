//! RA policy settings. Each default names its source.

use crate::profile::Profile;
use crate::ratelimit::RateLimits;

/// Policy knobs of the registration authority.
#[derive(Debug, Clone)]
pub struct RaConfig {
    /// How long a new order stays usable (Boulder: 7 days).
    pub order_lifetime_secs: i64,
    /// How long a pending authorization stays usable (Boulder: 7 days).
    pub pending_authz_lifetime_secs: i64,
    /// How long a valid authorization may be reused. BR §4.2.1 caps data reuse at 398 days
    /// (200 days from 2026-03-15); Arbor keeps 30 days like Let's Encrypt.
    pub valid_authz_lifetime_secs: i64,
    /// The profiles offered (draft-aaron-acme-profiles); never empty.
    pub profiles: Vec<Profile>,
    /// The profile of orders that name none.
    pub default_profile: String,
    /// Issuer domain names this CA recognises in CAA `issue`/`issuewild` (RFC 8659 §4.2),
    /// also shown as `meta.caaIdentities`.
    pub caa_identities: Vec<String>,
    /// Test mode only: finalize answers `processing` and issues in the background after
    /// this many milliseconds, so clients must poll (with `Retry-After`).
    pub async_finalize_ms: Option<u64>,
    /// Test mode only: percent of reusable authorizations actually reused (Pebble's
    /// `PEBBLE_AUTHZREUSE`); 100 = always.
    pub authz_reuse_percent: u8,
    /// Rate limits (stored, so they survive restarts).
    pub rate_limits: RateLimits,
    /// Whether accounts must agree to the terms of service.
    pub terms_of_service: Option<String>,
    /// Whether a new account requires external account binding (§7.3.4).
    pub external_account_required: bool,
    /// Maximum identifiers in one order (Let's Encrypt: 100).
    pub max_identifiers: usize,
    /// Contact schemes accepted (RFC 8555 §7.3: servers MUST support mailto).
    pub max_contacts: usize,
    /// Orders per page in an account's orders list (§7.1.2.1).
    pub orders_per_page: usize,
}

impl Default for RaConfig {
    fn default() -> Self {
        RaConfig {
            order_lifetime_secs: 7 * 86_400,
            pending_authz_lifetime_secs: 7 * 86_400,
            valid_authz_lifetime_secs: 30 * 86_400,
            profiles: vec![Profile::classic(), Profile::shortlived()],
            default_profile: "classic".into(),
            rate_limits: RateLimits::default(),
            async_finalize_ms: None,
            authz_reuse_percent: 100,
            caa_identities: vec!["arbor.test".into()],
            terms_of_service: None,
            external_account_required: false,
            max_identifiers: 100,
            max_contacts: 10,
            orders_per_page: 100,
        }
    }
}

impl RaConfig {
    /// The profile called `name`.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }
}
