//! The ACME client core: the directory (RFC 8555 §7.1.1), nonces (§7.2, §6.5), and the one
//! place that sends signed POSTs (§6.2), retrying `badNonce` rejections with the fresh nonce
//! the error reply carries (§6.5: "clients SHOULD retry").
//!
//! Resource operations (accounts, orders, revocation) live in their own modules and all go
//! through [`AcmeClient::post_with`].

use crate::error::ClientError;
use crate::http::{HttpOptions, JOSE_JSON, RawResponse, build_http};
use crate::nonce::{DEFAULT_NONCE_POOL_CAP, NoncePool};
use arbor_proto::ProblemType;
use arbor_proto::jws::JwsError;
use arbor_proto::objects::Directory;
use arbor_proto::sign::SigningKey;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many times a request rejected with `badNonce` is re-signed and resent by default.
pub const DEFAULT_MAX_NONCE_RETRIES: u32 = 5;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Transport settings (timeouts, User-Agent).
    pub http: HttpOptions,
    /// Resends after `badNonce` before giving up.
    pub max_nonce_retries: u32,
    /// Spare nonces kept.
    pub nonce_pool_cap: usize,
    /// Resends after `503 Service Unavailable` with a short `Retry-After` (RFC 9110
    /// §15.6.4) before giving up and reporting the error.
    pub max_unavailable_retries: u32,
    /// The longest `Retry-After` waited for inline on a 503; longer ones are returned to
    /// the caller (the cron client saves them and resumes on a later run).
    pub max_inline_retry_after: std::time::Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            http: HttpOptions::default(),
            max_nonce_retries: DEFAULT_MAX_NONCE_RETRIES,
            nonce_pool_cap: DEFAULT_NONCE_POOL_CAP,
            max_unavailable_retries: 3,
            max_inline_retry_after: std::time::Duration::from_secs(10),
        }
    }
}

/// Counters of what the client has done, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (all methods).
    pub requests: u64,
    /// `newNonce` requests (pool was empty).
    pub nonce_fetches: u64,
    /// Requests resent because the server answered `badNonce`.
    pub bad_nonce_retries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    nonce_fetches: AtomicU64,
    bad_nonce_retries: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    directory_url: String,
    directory: Directory,
    nonces: NoncePool,
    opts: ClientOptions,
    counters: Counters,
}

/// A connection to one ACME server. Cheap to clone; clones share the HTTP pool and nonces.
#[derive(Debug, Clone)]
pub struct AcmeClient {
    inner: Arc<Inner>,
}

impl AcmeClient {
    /// Connects to `directory_url` (https only) and fetches the directory. `extra_root_pem`
    /// adds trust roots (e.g. a test CA's listener root) to the platform's.
    pub async fn new(
        directory_url: &str,
        extra_root_pem: Option<&[u8]>,
    ) -> Result<AcmeClient, ClientError> {
        Self::with_options(directory_url, extra_root_pem, ClientOptions::default()).await
    }

    /// Like [`AcmeClient::new`] with explicit options.
    pub async fn with_options(
        directory_url: &str,
        extra_root_pem: Option<&[u8]>,
        opts: ClientOptions,
    ) -> Result<AcmeClient, ClientError> {
        match reqwest::Url::parse(directory_url) {
            Ok(u) if u.scheme() == "https" => {}
            _ => return Err(ClientError::BadDirectoryUrl(directory_url.to_string())),
        }
        let http = build_http(extra_root_pem, &opts.http)?;
        let resp = http.get(directory_url).send().await?;
        let raw = RawResponse::read(directory_url, resp).await?;
        if raw.status != 200 {
            return Err(raw.into_error());
        }
        let directory: Directory = raw.json()?;
        let client = AcmeClient {
            inner: Arc::new(Inner {
                http,
                directory_url: directory_url.to_string(),
                directory,
                nonces: NoncePool::new(opts.nonce_pool_cap),
                opts,
                counters: Counters::default(),
            }),
        };
        client.count_request();
        Ok(client)
    }

    /// The directory as fetched at construction.
    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// The directory URL.
    pub fn directory_url(&self) -> &str {
        &self.inner.directory_url
    }

    /// What the client has done so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            nonce_fetches: c.nonce_fetches.load(Ordering::Relaxed),
            bad_nonce_retries: c.bad_nonce_retries.load(Ordering::Relaxed),
        }
    }

    fn count_request(&self) {
        self.inner.counters.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a pooled nonce or asks `newNonce` for one (§7.2, HEAD).
    pub async fn nonce(&self) -> Result<String, ClientError> {
        if let Some(n) = self.inner.nonces.take() {
            return Ok(n);
        }
        let url = &self.inner.directory.new_nonce;
        self.count_request();
        self.inner
            .counters
            .nonce_fetches
            .fetch_add(1, Ordering::Relaxed);
        let resp = self.inner.http.head(url).send().await?;
        let raw = RawResponse::read(url, resp).await?;
        if !(200..300).contains(&raw.status) {
            return Err(raw.into_error());
        }
        raw.nonce.ok_or(ClientError::MissingHeader {
            url: url.clone(),
            header: "Replay-Nonce",
        })
    }

    /// An unauthenticated GET (e.g. RFC 9773 `renewalInfo`); returns the reply if its
    /// status is 2xx, else the typed error.
    pub async fn get(&self, url: &str) -> Result<RawResponse, ClientError> {
        self.count_request();
        let resp = self.inner.http.get(url).send().await?;
        let raw = RawResponse::read(url, resp).await?;
        if (200..300).contains(&raw.status) {
            Ok(raw)
        } else {
            Err(raw.into_error())
        }
    }

    /// Sends a JWS-signed POST to `url`; `sign` builds the JWS for a given nonce. Retries on
    /// `badNonce`; returns the reply if its status is 2xx, else the typed error.
    pub async fn post_with<F>(
        &self,
        url: &str,
        accept: Option<&str>,
        sign: F,
    ) -> Result<RawResponse, ClientError>
    where
        F: Fn(&str) -> Result<serde_json::Value, JwsError>,
    {
        let mut rejected = 0u32;
        let mut unavailable = 0u32;
        loop {
            let nonce = self.nonce().await?;
            let jws = sign(&nonce)?;
            let body = serde_json::to_vec(&jws).map_err(|source| ClientError::BadJson {
                url: url.to_string(),
                source,
            })?;
            let mut req = self
                .inner
                .http
                .post(url)
                .header(CONTENT_TYPE, JOSE_JSON)
                .body(body);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            self.count_request();
            let raw = RawResponse::read(url, req.send().await?).await?;
            if let Some(n) = &raw.nonce {
                self.inner.nonces.put(n.clone());
            }
            if (200..300).contains(&raw.status) {
                return Ok(raw);
            }
            if raw.status == 503
                && unavailable < self.inner.opts.max_unavailable_retries
                && let Some(wait) = raw.retry_after
                && wait <= self.inner.opts.max_inline_retry_after
            {
                unavailable += 1;
                tracing::debug!(
                    url,
                    ?wait,
                    "503 with a short Retry-After; waiting and resending"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let err = raw.into_error();
            if err.problem_type() != Some(ProblemType::BadNonce) {
                return Err(err);
            }
            rejected += 1;
            if rejected > self.inner.opts.max_nonce_retries {
                return Err(ClientError::NonceRetriesExhausted(rejected));
            }
            self.inner
                .counters
                .bad_nonce_retries
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(url, rejected, "badNonce, retrying with a fresh nonce");
        }
    }

    /// A signed POST with `key`: `kid` is the account URL, or `None` to embed the JWK
    /// (newAccount, revocation by certificate key). `payload` `None` is POST-as-GET (§6.3).
    pub async fn post(
        &self,
        key: &SigningKey,
        kid: Option<&str>,
        url: &str,
        payload: Option<&[u8]>,
        accept: Option<&str>,
    ) -> Result<RawResponse, ClientError> {
        self.post_with(url, accept, |nonce| {
            key.sign_jws(payload, url, Some(nonce), kid)
        })
        .await
    }
}
