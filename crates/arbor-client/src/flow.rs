//! The whole issuance cycle with http-01 (RFC 8555 §7.1 overview): newOrder → each
//! authorization → publish key authorization and answer the challenge → poll the order to
//! `ready` → finalize with a fresh CSR → poll to `valid` → download the chain.
//!
//! Used by the benchmark and the tests; the cron client composes the same steps itself.

use crate::account::Account;
use crate::csr::csr_p256;
use crate::error::ClientError;
use crate::order::{CertificateChain, PollOptions};
use crate::responder::Http01Responder;
use arbor_proto::Identifier;
use arbor_proto::objects::{AuthzStatus, OrderStatus};

/// The challenge type this flow answers.
pub const HTTP_01: &str = "http-01";

/// A certificate obtained by [`issue_http01`].
#[derive(Debug)]
pub struct Issued {
    /// The order URL.
    pub order_url: String,
    /// The downloaded chain.
    pub chain: CertificateChain,
    /// The certificate's private key (PKCS#8 PEM).
    pub key_pem: String,
}

/// Runs one complete order for `identifiers`, answering http-01 through `responder`.
/// `profile`/`replaces` are passed to newOrder when given.
pub async fn issue_http01(
    account: &Account,
    responder: &Http01Responder,
    identifiers: &[Identifier],
    profile: Option<&str>,
    poll: &PollOptions,
) -> Result<Issued, ClientError> {
    let order = account.new_order(identifiers, profile, None).await?;
    let mut published = Vec::new();
    let result = async {
        for authz_url in &order.value.authorizations {
            let authz = account.authorization(authz_url).await?;
            if authz.value.status == AuthzStatus::Valid {
                continue; // reused authorization (§7.1.4)
            }
            let ch = authz
                .value
                .challenges
                .iter()
                .find(|c| c.typ == HTTP_01)
                .ok_or_else(|| ClientError::NoSuchChallenge {
                    authz: authz_url.clone(),
                    typ: HTTP_01.to_string(),
                })?;
            responder.insert(&ch.token, &account.key_authorization(&ch.token));
            published.push(ch.token.clone());
            account.respond_challenge(&ch.url).await?;
        }
        let ready = match account
            .poll_order(&order.url, OrderStatus::Ready, poll)
            .await
        {
            Ok(o) => o,
            Err(e) => return Err(explain_invalid(account, &order.value.authorizations, e).await),
        };
        if ready.status != OrderStatus::Ready {
            // Already past ready: finalized by someone else, with a key we do not hold.
            return Err(ClientError::OrderAlreadyFinalized(order.url.clone()));
        }
        let csr = csr_p256(identifiers)?;
        let mut current = account.finalize(&ready.finalize, &csr.der).await?.value;
        if current.status != OrderStatus::Valid {
            current = account
                .poll_order(&order.url, OrderStatus::Valid, poll)
                .await?;
        }
        let cert_url = current
            .certificate
            .ok_or_else(|| ClientError::NoCertificateUrl(order.url.clone()))?;
        let chain = account.certificate(&cert_url).await?;
        Ok(Issued {
            order_url: order.url.clone(),
            chain,
            key_pem: csr.key_pem,
        })
    }
    .await;
    for t in &published {
        responder.remove(t);
    }
    result
}

/// If an order went invalid without saying why, look for the failed challenge's error.
async fn explain_invalid(account: &Account, authzs: &[String], err: ClientError) -> ClientError {
    match err {
        ClientError::Invalid {
            what,
            url,
            problem: None,
        } => {
            for a in authzs {
                if let Ok(f) = account.authorization(a).await
                    && let Some(p) = f.value.challenges.iter().find_map(|c| c.error.clone())
                {
                    return ClientError::Invalid {
                        what,
                        url,
                        problem: Some(Box::new(p)),
                    };
                }
            }
            ClientError::Invalid {
                what,
                url,
                problem: None,
            }
        }
        other => other,
    }
}
