//! Authorizations and challenges (RFC 8555 §7.5, §7.5.1, §7.5.2, §8): reading with lazy
//! expiry, client deactivation, and answering a challenge by asking the VA.
//!
//! Validation runs while the challenge POST is open (bounded by the VA's timeout) and its
//! result is committed before the reply; a crash mid-validation leaves the challenge
//! `pending`, so the client simply responds again. No challenge is left stuck in
//! `processing` across a restart.

use crate::error::Result;
use crate::{Ra, RaError};
use arbor_proto::objects::key_authorization;
use arbor_proto::{Problem, ProblemType};
use arbor_store::{AccountRecord, AuthzRecord, AuthzStatus, ChallengeRecord, ChallengeStatus};

impl Ra {
    pub(crate) async fn load_authz(&self, id: &str) -> Result<AuthzRecord> {
        self.inner
            .store
            .get_authz(id)
            .await?
            .ok_or(RaError::NotFound("authorization"))
    }

    /// The authorization's status as of `now` (pending/valid turn expired, §7.1.6).
    pub fn authz_status(&self, a: &AuthzRecord, now: i64) -> AuthzStatus {
        match a.status {
            AuthzStatus::Pending | AuthzStatus::Valid if a.expires <= now => AuthzStatus::Expired,
            s => s,
        }
    }

    /// Loads an authorization owned by `acct`, with its status as of now.
    pub async fn get_authz(&self, acct: &AccountRecord, id: &str) -> Result<AuthzRecord> {
        let mut a = self.load_authz(id).await?;
        if a.account_id != acct.id {
            return Err(RaError::NotFound("authorization"));
        }
        a.status = self.authz_status(&a, self.now());
        Ok(a)
    }

    /// Client-initiated deactivation (§7.5.2): only pending or valid authorizations.
    pub async fn deactivate_authz(&self, acct: &AccountRecord, id: &str) -> Result<AuthzRecord> {
        let mut a = self.get_authz(acct, id).await?;
        match a.status {
            AuthzStatus::Pending | AuthzStatus::Valid => {
                a.status = AuthzStatus::Deactivated;
                self.inner.store.update_authz(&a).await?;
                Ok(a)
            }
            s => Err(RaError::Malformed(format!(
                "authorization is {} and cannot be deactivated",
                s.as_str()
            ))),
        }
    }

    /// The client says a challenge is ready (§7.5.1): validate it and commit the outcome.
    /// `account_url` is the account's URL as CAA `accounturi` must name it (RFC 8657).
    /// Returns the updated authorization and the index of the challenge in it.
    pub async fn respond_challenge(
        &self,
        acct: &AccountRecord,
        authz_id: &str,
        chall_id: &str,
        account_url: &str,
    ) -> Result<(AuthzRecord, usize)> {
        let mut a = self.get_authz(acct, authz_id).await?;
        let idx = a
            .challenges
            .iter()
            .position(|c| c.id == chall_id)
            .ok_or(RaError::NotFound("challenge"))?;
        if a.status != AuthzStatus::Pending || a.challenges[idx].status != ChallengeStatus::Pending
        {
            // Nothing to do: answering again is idempotent (§7.5.1).
            return Ok((a, idx));
        }
        let jwk = crate::account_key(acct)?;
        let chall = a.challenges[idx].clone();
        let key_auth = key_authorization(&chall.token, &jwk.thumbprint());
        let outcome = self.validate(&a, &chall, &key_auth, account_url).await;
        let now = self.now();
        // Re-read so a concurrent deactivation is not overwritten.
        let mut fresh = self.load_authz(authz_id).await?;
        if fresh.status != AuthzStatus::Pending {
            fresh.status = self.authz_status(&fresh, now);
            return Ok((fresh, idx));
        }
        let mut failed = false;
        let c = &mut fresh.challenges[idx];
        match outcome {
            Ok(()) => {
                c.status = ChallengeStatus::Valid;
                c.validated = Some(now);
                fresh.status = AuthzStatus::Valid;
                fresh.validated_at = Some(now);
                fresh.expires = now + self.inner.cfg.valid_authz_lifetime_secs;
            }
            Err(p) => {
                failed = true;
                c.status = ChallengeStatus::Invalid;
                c.error = Some(p);
                fresh.status = AuthzStatus::Invalid;
            }
        }
        self.inner.store.update_authz(&fresh).await?;
        if failed {
            self.note_failed_validation(&acct.id, &fresh.identifier)
                .await?;
        }
        a = fresh;
        Ok((a, idx))
    }

    async fn validate(
        &self,
        a: &AuthzRecord,
        c: &ChallengeRecord,
        key_auth: &str,
        account_url: &str,
    ) -> std::result::Result<(), Problem> {
        let va = &self.inner.va;
        let res = match c.typ.as_str() {
            "http-01" if !a.wildcard => va.validate_http01(&a.identifier, &c.token, key_auth).await,
            "dns-01" => va.validate_dns01(&a.identifier, key_auth).await,
            "tls-alpn-01" if !a.wildcard => va.validate_tls_alpn01(&a.identifier, key_auth).await,
            other => {
                return Err(Problem::new(
                    ProblemType::Malformed,
                    format!("challenge type {other} cannot validate this identifier"),
                ));
            }
        };
        let to_problem = |e: arbor_va::ValidationError| {
            tracing::info!(authz = %a.id, identifier = %a.identifier.value, error = %e, "validation failed");
            Problem::new(e.problem_type(), e.to_string())
        };
        res.map_err(to_problem)?;
        // CAA is checked once control is proven (RFC 8659 §3, RFC 8657 for the method and
        // account binding), and again at finalize if the result is older than 8 hours.
        va.check_caa(
            &a.identifier,
            a.wildcard,
            &self.inner.cfg.caa_identities,
            account_url,
            &c.typ,
        )
        .await
        .map_err(to_problem)
    }
}
