//! The rows Arbor stores. These are internal records, not wire objects: the front end
//! renders them into RFC 8555 JSON (`arbor_proto::objects`).

pub use arbor_proto::Identifier;
use arbor_proto::Problem;
pub use arbor_proto::objects::{AccountStatus, AuthzStatus, ChallengeStatus, OrderStatus};
use serde::{Deserialize, Serialize};

/// An ACME account (RFC 8555 §7.1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Random, unguessable id used in the account URL.
    pub id: String,
    /// The account's public JWK (canonical JSON text).
    pub jwk: String,
    /// RFC 7638 thumbprint of `jwk` (unique).
    pub thumbprint: String,
    pub status: AccountStatus,
    pub contact: Vec<String>,
    pub tos_agreed: bool,
    /// EAB key id this account was bound to, if any (§7.3.4).
    pub eab_kid: Option<String>,
    /// The EAB JWS as the client sent it, echoed on account reads.
    pub eab_jws: Option<serde_json::Value>,
    pub created_at: i64,
    pub created_ip: Option<String>,
}

/// An order (§7.1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub id: String,
    pub account_id: String,
    pub status: OrderStatus,
    pub expires: i64,
    /// Normalized identifiers, sorted, as requested.
    pub identifiers: Vec<Identifier>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    /// Authorization ids, one per identifier (same order as `identifiers`).
    pub authz_ids: Vec<String>,
    pub error: Option<Problem>,
    /// The CSR (DER) once finalize accepted it; kept so a crash in `processing` can resume.
    pub csr: Option<Vec<u8>>,
    /// Serial (hex) of the issued certificate.
    pub cert_serial: Option<String>,
    pub profile: Option<String>,
    pub replaces: Option<String>,
    pub created_at: i64,
    /// Set when finalize moved the order to `processing`.
    pub processing_since: Option<i64>,
}

/// One challenge inside an authorization (§7.1.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub typ: String,
    pub token: String,
    pub status: ChallengeStatus,
    pub validated: Option<i64>,
    pub error: Option<Problem>,
}

/// An authorization (§7.1.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthzRecord {
    pub id: String,
    pub account_id: String,
    /// The identifier authorized (a wildcard order's base name).
    pub identifier: Identifier,
    pub wildcard: bool,
    pub status: AuthzStatus,
    pub expires: i64,
    pub challenges: Vec<ChallengeRecord>,
    /// When a challenge succeeded (CAA recheck age, reuse window).
    pub validated_at: Option<i64>,
    pub created_at: i64,
}

/// An issued certificate (§7.4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateRecord {
    /// Serial number, lower-case hex without leading zero bytes' ambiguity (as in the DER).
    pub serial: String,
    pub account_id: String,
    pub order_id: String,
    /// Which issuer signed it (intermediate id).
    pub issuer_id: String,
    /// The leaf certificate, DER.
    pub der: Vec<u8>,
    /// SHA-256 of the leaf's SubjectPublicKeyInfo, hex (revocation by certificate key).
    pub spki_sha256: String,
    pub identifiers: Vec<Identifier>,
    pub not_before: i64,
    pub not_after: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<u8>,
    pub issued_at: i64,
    /// Id of the order whose ARI `replaces` field named this certificate (RFC 9773 §5);
    /// set once, by [`crate::Storage::set_replaced_by`].
    #[serde(default)]
    pub replaced_by: Option<String>,
}

/// An external account binding key (RFC 8555 §7.3.4), provisioned out of band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EabKeyRecord {
    /// The key identifier the client puts in the EAB JWS `kid`.
    pub kid: String,
    /// The MAC key (raw bytes, not base64url).
    pub hmac_key: Vec<u8>,
    pub created_at: i64,
    /// The account the key was bound to, once used (a key binds exactly one account).
    pub account_id: Option<String>,
}

/// The answer of a rate-limit check ([`crate::Storage::take_rate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Under the limit; `remaining` more events fit in the current window.
    Allowed { remaining: u32 },
    /// At or over the limit; a new event fits after `retry_after_secs` (at least 1).
    Denied { retry_after_secs: i64 },
}
