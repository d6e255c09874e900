//! http-01 (RFC 8555 §8.3) with the client's own listener: an [`Http01Responder`] bound to
//! `bind_address:http_port` only for the duration of the pass, serving
//! `/.well-known/acme-challenge/<token>` with the key authorization.

use crate::cron::error::CronError;
use crate::responder::Http01Responder;
use std::net::SocketAddr;

/// A started standalone solver.
#[derive(Debug)]
pub struct Standalone {
    responder: Http01Responder,
}

impl Standalone {
    /// Binds the listener.
    pub async fn start(addr: SocketAddr) -> Result<Standalone, CronError> {
        let responder = Http01Responder::start(addr)
            .await
            .map_err(|e| CronError::Solver {
                kind: "http-01",
                reason: format!("cannot listen on {addr}: {e}"),
            })?;
        Ok(Standalone { responder })
    }

    /// Publishes `token`.
    pub fn add(&self, token: &str, key_authorization: &str) {
        self.responder.insert(token, key_authorization);
    }

    /// Withdraws `token`.
    pub fn remove(&self, token: &str) {
        self.responder.remove(token);
    }
}
