//! The RFC 8555 §7.1 resource objects as they go over the wire: directory, account, order,
//! authorization, challenge, and the request payloads the server accepts.
//!
//! Request payloads that the RFC fixes closely use `deny_unknown_fields` only where an
//! unknown field would change meaning; otherwise unknown fields are ignored (§7.3 says
//! servers MUST ignore unrecognized fields in most objects).

use crate::{Identifier, Problem};
use serde::{Deserialize, Serialize};

/// Status of an account (§7.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Valid,
    Deactivated,
    Revoked,
}

/// Status of an order (§7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
}

/// Status of an authorization (§7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthzStatus {
    Pending,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
}

/// Status of a challenge (§7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeStatus {
    Pending,
    Processing,
    Valid,
    Invalid,
}

macro_rules! status_str {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The wire name.
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
            /// Parses the wire name.
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some(Self::$v),)* _ => None } }
        }
    };
}
status_str!(AccountStatus { Valid => "valid", Deactivated => "deactivated", Revoked => "revoked" });
status_str!(OrderStatus { Pending => "pending", Ready => "ready", Processing => "processing", Valid => "valid", Invalid => "invalid" });
status_str!(AuthzStatus { Pending => "pending", Valid => "valid", Invalid => "invalid", Deactivated => "deactivated", Expired => "expired", Revoked => "revoked" });
status_str!(ChallengeStatus { Pending => "pending", Processing => "processing", Valid => "valid", Invalid => "invalid" });

/// Directory `meta` (§7.1.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caa_identities: Vec<String>,
    #[serde(default)]
    pub external_account_required: bool,
    /// draft-aaron-acme-profiles: profile name → description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The directory object (§7.1.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub new_nonce: String,
    pub new_account: String,
    pub new_order: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_authz: Option<String>,
    pub revoke_cert: String,
    pub key_change: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_info: Option<String>,
    /// draft-ietf-plants-merkle-tree-certs PR #207 (design B): where landmark-relative
    /// certificates are requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_relative_certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<DirectoryMeta>,
}

/// An account object as returned (§7.1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub status: AccountStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service_agreed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account_binding: Option<serde_json::Value>,
    #[serde(default)]
    pub orders: String,
}

/// The newAccount / account-update payload (§7.3, §7.3.2, §7.3.6).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRequest {
    #[serde(default)]
    pub contact: Option<Vec<String>>,
    #[serde(default)]
    pub terms_of_service_agreed: Option<bool>,
    #[serde(default)]
    pub only_return_existing: Option<bool>,
    #[serde(default)]
    pub external_account_binding: Option<serde_json::Value>,
    #[serde(default)]
    pub status: Option<String>,
}

/// The account's orders list (§7.1.2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrdersList {
    pub orders: Vec<String>,
}

/// An order object as returned (§7.1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub status: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub identifiers: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    pub authorizations: Vec<String>,
    pub finalize: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// PR #207 (design B): the MTC log's landmark document, on valid MTC orders.
    #[serde(
        default,
        rename = "landmarkURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub landmark_url: Option<String>,
}

/// The newOrder payload (§7.4).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrderRequest {
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub not_after: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub replaces: Option<String>,
}

/// The finalize payload (§7.4).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FinalizeRequest {
    pub csr: String,
}

/// An authorization object as returned (§7.1.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    pub identifier: Identifier,
    pub status: AuthzStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub challenges: Vec<Challenge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wildcard: Option<bool>,
}

/// A challenge object as returned (§7.1.5, §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    #[serde(rename = "type")]
    pub typ: String,
    pub url: String,
    pub status: ChallengeStatus,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// The revokeCert payload (§7.6).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RevocationRequest {
    pub certificate: String,
    #[serde(default)]
    pub reason: Option<i64>,
}

/// The keyChange inner payload (§7.3.5).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChangeInner {
    pub account: String,
    pub old_key: serde_json::Value,
}

/// The key authorization `token || '.' || base64url(thumbprint)` (§8.1).
pub fn key_authorization(token: &str, thumbprint: &str) -> String {
    format!("{token}.{thumbprint}")
}
