//! Accounts (RFC 8555 §7.3): creation with optional external account binding (§7.3.4),
//! finding an existing account by key (§7.3.1 `onlyReturnExisting`), contact update
//! (§7.3.2), key rollover (§7.3.5) and deactivation (§7.3.6).
//!
//! An [`Account`] is the handle every other request is signed with (`kid` = account URL).

use crate::client::AcmeClient;
use crate::error::ClientError;
use arbor_proto::objects::{self, KeyChangeInner};
use arbor_proto::sign::SigningKey;
use std::sync::Arc;

/// External account binding credentials issued by the CA (§7.3.4).
#[derive(Clone)]
pub struct ExternalAccountBinding {
    /// The key identifier the CA gave out.
    pub kid: String,
    /// The raw (decoded) MAC key.
    pub hmac_key: Vec<u8>,
    /// The MAC algorithm, e.g. `HS256`.
    pub alg: String,
}

impl std::fmt::Debug for ExternalAccountBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The MAC key is a secret: never print it.
        f.debug_struct("ExternalAccountBinding")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// An ACME account: the client, the account key and the account URL.
#[derive(Clone)]
pub struct Account {
    pub(crate) client: AcmeClient,
    pub(crate) key: Arc<SigningKey>,
    pub(crate) url: String,
    object: objects::Account,
    created: bool,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("url", &self.url)
            .field("status", &self.object.status)
            .finish_non_exhaustive()
    }
}

impl AcmeClient {
    /// Registers a new account for `key` (§7.3). If the key already has an account the
    /// server returns it (200) and [`Account::was_created`] is false.
    pub async fn new_account(
        &self,
        key: SigningKey,
        contact: &[String],
        terms_of_service_agreed: bool,
        eab: Option<&ExternalAccountBinding>,
    ) -> Result<Account, ClientError> {
        let url = self.directory().new_account.clone();
        let external_account_binding = match eab {
            Some(e) => Some(arbor_proto::eab::eab_sign(
                &e.alg,
                &e.kid,
                &e.hmac_key,
                &url,
                &key.public_jwk().to_value(),
            )?),
            None => None,
        };
        let mut req = serde_json::Map::new();
        if !contact.is_empty() {
            req.insert("contact".into(), contact.into());
        }
        if terms_of_service_agreed {
            req.insert("termsOfServiceAgreed".into(), true.into());
        }
        if let Some(b) = external_account_binding {
            req.insert("externalAccountBinding".into(), b);
        }
        self.account_request(key, &url, &req).await
    }

    /// Finds the existing account of `key` without creating one (§7.3.1); the server
    /// answers `accountDoesNotExist` if there is none.
    pub async fn find_account(&self, key: SigningKey) -> Result<Account, ClientError> {
        let url = self.directory().new_account.clone();
        let req = serde_json::json!({ "onlyReturnExisting": true });
        self.account_request(key, &url, &req).await
    }

    /// Rebuilds an account handle from a stored key and account URL with one POST-as-GET
    /// to the account URL, which proves the pair is valid and fetches the account object.
    pub async fn load_account(&self, key: SigningKey, url: &str) -> Result<Account, ClientError> {
        let raw = self.post(&key, Some(url), url, None, None).await?;
        Ok(Account {
            client: self.clone(),
            key: Arc::new(key),
            url: url.to_string(),
            object: raw.json()?,
            created: false,
        })
    }

    async fn account_request(
        &self,
        key: SigningKey,
        url: &str,
        req: &impl serde::Serialize,
    ) -> Result<Account, ClientError> {
        let payload = to_json(url, req)?;
        let raw = self.post(&key, None, url, Some(&payload), None).await?;
        Ok(Account {
            client: self.clone(),
            url: raw.require_location()?,
            object: raw.json()?,
            created: raw.status == 201,
            key: Arc::new(key),
        })
    }
}

impl Account {
    /// The account URL (the `kid` of every request).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The account key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The client this account talks through.
    pub fn client(&self) -> &AcmeClient {
        &self.client
    }

    /// The account object as last returned by the server.
    pub fn object(&self) -> &objects::Account {
        &self.object
    }

    /// Whether the server created the account (201) rather than returning an existing one.
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// `token.thumbprint` for this account's key (§8.1).
    pub fn key_authorization(&self, token: &str) -> String {
        objects::key_authorization(token, &self.key.public_jwk().thumbprint())
    }

    /// A signed POST to `url` as this account; `None` payload is POST-as-GET.
    pub async fn post(
        &self,
        url: &str,
        payload: Option<&[u8]>,
        accept: Option<&str>,
    ) -> Result<crate::http::RawResponse, ClientError> {
        self.client
            .post(&self.key, Some(&self.url), url, payload, accept)
            .await
    }

    /// Fetches the account object again (POST-as-GET to the account URL).
    pub async fn refresh(&mut self) -> Result<&objects::Account, ClientError> {
        let url = self.url.clone();
        self.object = self.post(&url, None, None).await?.json()?;
        Ok(&self.object)
    }

    /// Replaces the contact list (§7.3.2).
    pub async fn update_contact(&mut self, contact: &[String]) -> Result<(), ClientError> {
        let req = serde_json::json!({ "contact": contact });
        let url = self.url.clone();
        let payload = to_json(&url, &req)?;
        self.object = self.post(&url, Some(&payload), None).await?.json()?;
        Ok(())
    }

    /// Deactivates the account (§7.3.6). The handle is useless afterwards.
    pub async fn deactivate(&mut self) -> Result<(), ClientError> {
        let req = serde_json::json!({ "status": "deactivated" });
        let url = self.url.clone();
        let payload = to_json(&url, &req)?;
        self.object = self.post(&url, Some(&payload), None).await?.json()?;
        Ok(())
    }

    /// Rolls the account over to `new_key` (§7.3.5): an inner JWS signed by the new key
    /// (no nonce, `jwk` header) wrapped in an outer JWS signed by the current key.
    pub async fn change_key(&mut self, new_key: SigningKey) -> Result<(), ClientError> {
        let url = self.client.directory().key_change.clone();
        let inner_payload = to_json(
            &url,
            &KeyChangeInner {
                account: self.url.clone(),
                old_key: self.key.public_jwk().to_value(),
            },
        )?;
        let inner = new_key.sign_jws(Some(&inner_payload), &url, None, None)?;
        let outer_payload = to_json(&url, &inner)?;
        self.post(&url, Some(&outer_payload), None).await?;
        self.key = Arc::new(new_key);
        Ok(())
    }
}

/// Serializes a request payload; failures name the URL it was meant for.
pub(crate) fn to_json<T: serde::Serialize>(url: &str, v: &T) -> Result<Vec<u8>, ClientError> {
    serde_json::to_vec(v).map_err(|source| ClientError::BadJson {
        url: url.to_string(),
        source,
    })
}
