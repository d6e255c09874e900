//! Accounts: creation, lookup by key, update, deactivation and key rollover
//! (RFC 8555 §7.3, §7.3.2, §7.3.5, §7.3.6).

use crate::error::Result;
use crate::{Ra, RaError, new_id};
use arbor_proto::jwk::PublicJwk;
use arbor_proto::objects::AccountRequest;
use arbor_store::{AccountRecord, AccountStatus, StoreError};

/// The public key of a stored account (the canonical JWK text written at creation or
/// rollover). A stored key that no longer parses is an internal error.
pub fn account_key(acct: &AccountRecord) -> Result<PublicJwk> {
    serde_json::from_str::<serde_json::Value>(&acct.jwk)
        .map_err(|e| e.to_string())
        .and_then(|v| PublicJwk::from_value(&v).map_err(|e| e.to_string()))
        .map_err(|e| RaError::Internal(format!("stored account key: {e}")))
}

/// Longest contact URL accepted (Boulder: 254 octets for an address).
pub const MAX_CONTACT_LEN: usize = 320;

impl Ra {
    /// newAccount (§7.3). Returns the account and whether it was created now (201) or
    /// already existed for this key (200). `eab_kid` is set when the front end verified an
    /// external account binding.
    pub async fn new_account(
        &self,
        jwk: &PublicJwk,
        req: &AccountRequest,
        eab: Option<(String, serde_json::Value)>,
        ip: Option<String>,
    ) -> Result<(AccountRecord, bool)> {
        let store = &self.inner.store;
        let tp = jwk.thumbprint();
        if let Some(existing) = store.get_account_by_thumbprint(&tp).await? {
            return Ok((existing, false));
        }
        if req.only_return_existing == Some(true) {
            return Err(RaError::AccountDoesNotExist(
                "no account exists with the provided key".into(),
            ));
        }
        if self.inner.cfg.terms_of_service.is_some() && req.terms_of_service_agreed != Some(true) {
            return Err(RaError::UserActionRequired(
                "you must agree to the terms of service (termsOfServiceAgreed: true)".into(),
            ));
        }
        if self.inner.cfg.external_account_required && eab.is_none() {
            return Err(RaError::ExternalAccountRequired(
                "this server requires an external account binding".into(),
            ));
        }
        let contact = self.check_contacts(req.contact.as_deref().unwrap_or(&[]))?;
        self.limit_new_account(ip.as_deref()).await?;
        let (eab_kid, eab_jws) = match eab {
            Some((k, j)) => (Some(k), Some(j)),
            None => (None, None),
        };
        let bind = eab_kid.clone();
        let acct = AccountRecord {
            id: new_id(),
            jwk: jwk.to_value().to_string(),
            thumbprint: tp.clone(),
            status: AccountStatus::Valid,
            contact,
            tos_agreed: req.terms_of_service_agreed == Some(true),
            eab_kid,
            eab_jws,
            created_at: self.now(),
            created_ip: ip,
        };
        let inserted = match &bind {
            Some(kid) => store.insert_account_with_eab(&acct, kid).await,
            None => store.insert_account(&acct).await,
        };
        match inserted {
            Ok(()) => Ok((acct, true)),
            Err(StoreError::NotFound(_)) => Err(RaError::Unauthorized(
                "the external account key id is unknown".into(),
            )),
            Err(StoreError::Duplicate("eab binding")) => Err(RaError::Unauthorized(
                "the external account key is already bound to another account".into(),
            )),
            // A concurrent newAccount with the same key won the race: return its account.
            Err(StoreError::Duplicate(_)) => match store.get_account_by_thumbprint(&tp).await? {
                Some(a) => Ok((a, false)),
                None => Err(RaError::Internal("account vanished after duplicate".into())),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Account update and deactivation (§7.3.2, §7.3.6).
    pub async fn update_account(
        &self,
        mut acct: AccountRecord,
        req: &AccountRequest,
    ) -> Result<AccountRecord> {
        let mut changed = false;
        if let Some(status) = &req.status {
            match status.as_str() {
                "deactivated" => {
                    acct.status = AccountStatus::Deactivated;
                    changed = true;
                }
                "valid" if acct.status == AccountStatus::Valid => {}
                other => {
                    return Err(RaError::Malformed(format!(
                        "account status can only be changed to \"deactivated\", not {other:?}"
                    )));
                }
            }
        }
        if let Some(c) = &req.contact {
            acct.contact = self.check_contacts(c)?;
            changed = true;
        }
        if req.terms_of_service_agreed == Some(true) && !acct.tos_agreed {
            acct.tos_agreed = true;
            changed = true;
        }
        if changed {
            self.inner.store.update_account(&acct).await?;
        }
        Ok(acct)
    }

    /// Key rollover (§7.3.5): the caller has verified both signatures and that the inner
    /// JWS names this account and its current key.
    pub async fn change_key(
        &self,
        mut acct: AccountRecord,
        new_key: &PublicJwk,
    ) -> Result<AccountRecord> {
        let tp = new_key.thumbprint();
        if let Some(other) = self.inner.store.get_account_by_thumbprint(&tp).await? {
            return Err(RaError::KeyInUse {
                account_url_id: other.id,
            });
        }
        acct.jwk = new_key.to_value().to_string();
        acct.thumbprint = tp;
        match self.inner.store.update_account(&acct).await {
            Ok(()) => Ok(acct),
            Err(StoreError::Duplicate(_)) => {
                let other = self
                    .inner
                    .store
                    .get_account_by_thumbprint(&acct.thumbprint)
                    .await?
                    .map(|a| a.id)
                    .unwrap_or_default();
                Err(RaError::KeyInUse {
                    account_url_id: other,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The HMAC key of an EAB key id, if provisioned.
    pub async fn eab_key(&self, kid: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.store.get_eab_key(kid).await?.map(|k| k.hmac_key))
    }

    /// Provisions a new EAB key (`arbor admin eab add`): returns (kid, HMAC key).
    pub async fn add_eab_key(&self) -> Result<(String, Vec<u8>)> {
        let kid = crate::new_id();
        let key = crate::ids::random_key();
        self.inner
            .store
            .insert_eab_key(&kid, &key, self.now())
            .await?;
        Ok((kid, key))
    }

    /// Loads an account by id for an authenticated request.
    pub async fn account(&self, id: &str) -> Result<Option<AccountRecord>> {
        Ok(self.inner.store.get_account(id).await?)
    }

    /// Loads an account by key thumbprint.
    pub async fn account_by_key(&self, jwk: &PublicJwk) -> Result<Option<AccountRecord>> {
        Ok(self
            .inner
            .store
            .get_account_by_thumbprint(&jwk.thumbprint())
            .await?)
    }

    /// One page of an account's order ids (§7.1.2.1) and the cursor of the next page.
    pub async fn list_orders(
        &self,
        acct: &AccountRecord,
        cursor: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>)> {
        let per = self.inner.cfg.orders_per_page;
        let mut ids = self
            .inner
            .store
            .list_orders(&acct.id, cursor, per + 1)
            .await?;
        let next = if ids.len() > per {
            ids.truncate(per);
            ids.last().cloned()
        } else {
            None
        };
        Ok((ids, next))
    }

    /// Validates contact URLs (§7.3: mailto is required; others are unsupported here).
    fn check_contacts(&self, contacts: &[String]) -> Result<Vec<String>> {
        if contacts.len() > self.inner.cfg.max_contacts {
            return Err(RaError::Malformed(format!(
                "too many contacts: {} (at most {})",
                contacts.len(),
                self.inner.cfg.max_contacts
            )));
        }
        let mut out = Vec::with_capacity(contacts.len());
        for c in contacts {
            let Some(addr) = c.strip_prefix("mailto:") else {
                return Err(RaError::UnsupportedContact(format!(
                    "contact {c:?}: only mailto: URLs are supported"
                )));
            };
            if c.len() > MAX_CONTACT_LEN {
                return Err(RaError::InvalidContact(format!(
                    "contact {c:?} is too long"
                )));
            }
            if addr.contains(',') || addr.contains('?') || addr.contains('%') {
                return Err(RaError::InvalidContact(format!(
                    "contact {c:?}: exactly one address without hfields is allowed"
                )));
            }
            let Some((local, domain)) = addr.rsplit_once('@') else {
                return Err(RaError::InvalidContact(format!(
                    "contact {c:?} is not an email address"
                )));
            };
            if local.is_empty()
                || local
                    .chars()
                    .any(|ch| ch.is_whitespace() || ch.is_control())
                || arbor_proto::Identifier::dns(domain).normalize().is_err()
            {
                return Err(RaError::InvalidContact(format!(
                    "contact {c:?} is not a valid email address"
                )));
            }
            out.push(c.clone());
        }
        Ok(out)
    }
}
