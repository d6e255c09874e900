//! RA policy settings. Each default names its source.

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
    /// Certificate validity (90 days, BR §6.3.2 caps it at 200 days from 2026-03-15).
    pub cert_validity_secs: i64,
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
            cert_validity_secs: 90 * 86_400,
            terms_of_service: None,
            external_account_required: false,
            max_identifiers: 100,
            max_contacts: 10,
            orders_per_page: 100,
        }
    }
}
