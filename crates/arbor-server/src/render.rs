//! Stored records → RFC 8555 §7.1 wire objects, and the URL layout of every resource.
//! URLs are built from the request's own `https://host` so that clients using
//! `localhost` or `127.0.0.1` each get URLs they can sign for.

use arbor_proto::objects::{Account, Authorization, Challenge, Order, OrdersList};
use arbor_store::{AccountRecord, AuthzRecord, ChallengeRecord, OrderRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// RFC 3339 text of a Unix time (§7.1 timestamps).
pub fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Paths of every resource (the stable URL layout).
pub mod paths {
    pub const DIRECTORY: &str = "/dir";
    pub const NEW_NONCE: &str = "/acme/new-nonce";
    pub const NEW_ACCOUNT: &str = "/acme/new-account";
    pub const NEW_ORDER: &str = "/acme/new-order";
    pub const NEW_AUTHZ: &str = "/acme/new-authz";
    pub const REVOKE_CERT: &str = "/acme/revoke-cert";
    pub const KEY_CHANGE: &str = "/acme/key-change";
    pub const RENEWAL_INFO: &str = "/acme/renewal-info";
}

pub fn account_url(base: &str, id: &str) -> String {
    format!("{base}/acme/acct/{id}")
}
pub fn orders_url(base: &str, id: &str) -> String {
    format!("{base}/acme/acct/{id}/orders")
}
pub fn order_url(base: &str, id: &str) -> String {
    format!("{base}/acme/order/{id}")
}
pub fn finalize_url(base: &str, id: &str) -> String {
    format!("{base}/acme/order/{id}/finalize")
}
pub fn authz_url(base: &str, id: &str) -> String {
    format!("{base}/acme/authz/{id}")
}
pub fn chall_url(base: &str, authz: &str, chall: &str) -> String {
    format!("{base}/acme/chall/{authz}/{chall}")
}
pub fn cert_url(base: &str, serial: &str) -> String {
    format!("{base}/acme/cert/{serial}")
}
/// The alternate chain `n` (1-based) of a certificate.
pub fn cert_alt_url(base: &str, serial: &str, n: usize) -> String {
    format!("{base}/acme/cert/{serial}/{n}")
}

/// An account object.
pub fn account(base: &str, a: &AccountRecord) -> Account {
    Account {
        status: a.status,
        contact: a.contact.clone(),
        terms_of_service_agreed: Some(a.tos_agreed),
        external_account_binding: a.eab_jws.clone(),
        orders: orders_url(base, &a.id),
    }
}

/// An order object.
pub fn order(base: &str, o: &OrderRecord) -> Order {
    Order {
        status: o.status,
        expires: Some(rfc3339(o.expires)),
        identifiers: o.identifiers.clone(),
        not_before: o.not_before.map(rfc3339),
        not_after: o.not_after.map(rfc3339),
        error: o.error.clone(),
        authorizations: o.authz_ids.iter().map(|id| authz_url(base, id)).collect(),
        finalize: finalize_url(base, &o.id),
        certificate: o.cert_serial.as_deref().map(|s| cert_url(base, s)),
        profile: o.profile.clone(),
        replaces: o.replaces.clone(),
        landmark_url: None,
    }
}

/// A challenge object.
pub fn challenge(base: &str, authz_id: &str, c: &ChallengeRecord) -> Challenge {
    Challenge {
        typ: c.typ.clone(),
        url: chall_url(base, authz_id, &c.id),
        status: c.status,
        token: c.token.clone(),
        validated: c.validated.map(rfc3339),
        error: c.error.clone(),
    }
}

/// An authorization object.
pub fn authz(base: &str, a: &AuthzRecord) -> Authorization {
    Authorization {
        identifier: a.identifier.clone(),
        status: a.status,
        expires: Some(rfc3339(a.expires)),
        challenges: a
            .challenges
            .iter()
            .map(|c| challenge(base, &a.id, c))
            .collect(),
        wildcard: a.wildcard.then_some(true),
    }
}

/// The orders list.
pub fn orders_list(base: &str, ids: &[String]) -> OrdersList {
    OrdersList {
        orders: ids.iter().map(|id| order_url(base, id)).collect(),
    }
}
