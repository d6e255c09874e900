//! An in-process http-01 responder (RFC 8555 §8.3): serves
//! `GET /.well-known/acme-challenge/{token}` with the key authorization from a shared
//! token → key-authorization map. Used by the benchmark and the tests, bound to loopback.
//!
//! It counts the requests it answers so tests can assert the CA really fetched the token.

use crate::error::ClientError;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The path prefix of http-01 tokens (RFC 8555 §8.3).
pub const CHALLENGE_PATH_PREFIX: &str = "/.well-known/acme-challenge/";

#[derive(Debug, Default)]
struct Shared {
    tokens: RwLock<HashMap<String, String>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A running http-01 responder. Stops when dropped.
#[derive(Debug)]
pub struct Http01Responder {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Http01Responder {
    /// Binds `addr` (e.g. `127.0.0.1:5002`; port 0 picks a free one) and starts serving.
    pub async fn start(addr: SocketAddr) -> Result<Http01Responder, ClientError> {
        use axum::serve::ListenerExt;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/.well-known/acme-challenge/{token}", get(serve_token))
            .with_state(shared.clone());
        let listener = listener.tap_io(|s| {
            // Nagle + delayed ACK would add ~40 ms to every validation.
            let _ = s.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "http-01 responder stopped");
            }
        });
        Ok(Http01Responder { shared, addr, task })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Publishes `key_authorization` for `token`.
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.tokens_mut()
            .insert(token.to_string(), key_authorization.to_string());
    }

    /// Withdraws `token`.
    pub fn remove(&self, token: &str) {
        self.tokens_mut().remove(token);
    }

    /// Number of tokens currently published.
    pub fn len(&self) -> usize {
        self.shared
            .tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether no token is published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests answered with a key authorization.
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::Relaxed)
    }

    /// Requests for unknown tokens (answered 404).
    pub fn misses(&self) -> u64 {
        self.shared.misses.load(Ordering::Relaxed)
    }

    fn tokens_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, String>> {
        // Map updates are single inserts/removes: a poisoned lock still holds a valid map.
        self.shared
            .tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Http01Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_token(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    let found = shared
        .tokens
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&token)
        .cloned();
    match found {
        Some(ka) => {
            shared.hits.fetch_add(1, Ordering::Relaxed);
            ([(header::CONTENT_TYPE, "application/octet-stream")], ka).into_response()
        }
        None => {
            shared.misses.fetch_add(1, Ordering::Relaxed);
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_raw(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_and_withdraws_tokens() {
        let r = Http01Responder::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        r.insert("tok_1", "tok_1.THUMB");
        let path = format!("{CHALLENGE_PATH_PREFIX}tok_1");
        let got = get_raw(r.local_addr(), &path).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(got.ends_with("\r\n\r\ntok_1.THUMB"), "{got}");
        r.remove("tok_1");
        assert!(r.is_empty());
        let got = get_raw(r.local_addr(), &path).await;
        assert!(got.starts_with("HTTP/1.1 404"), "{got}");
        assert_eq!((r.hits(), r.misses()), (1, 1));
    }
}
