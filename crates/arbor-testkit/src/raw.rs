//! A raw ACME client for tests: it signs exactly what it is told to, so tests can send
//! both correct requests and every kind of malformed one, and inspect status, headers and
//! problem documents.

use arbor_client::Http01Responder;
use arbor_proto::objects::Directory;
use arbor_proto::sign::{KeyKind, SigningKey};
use arbor_proto::{Problem, b64};
use serde_json::{Value, json};

/// A response as the test sees it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (Null if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// The problem document, if the body is one.
    pub fn problem(&self) -> Option<Problem> {
        serde_json::from_slice(&self.body).ok()
    }
    /// The problem's short type (`badNonce`, …), or "" if none.
    pub fn problem_type(&self) -> String {
        self.problem()
            .map(|p| {
                p.typ
                    .trim_start_matches(arbor_proto::problem::ACME_ERROR_NS)
                    .to_string()
            })
            .unwrap_or_default()
    }
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// All values of a header.
    pub fn headers_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first certificate (the leaf) of a `pem-certificate-chain` body, DER.
    pub fn leaf_der(&self) -> Vec<u8> {
        arbor_client::pem_chain_to_der(&self.text())
            .expect("a PEM certificate chain")
            .swap_remove(0)
    }
}

/// The raw client.
pub struct Raw {
    pub http: reqwest::Client,
    pub dir: Directory,
    pub key: SigningKey,
    pub kid: Option<String>,
}

impl Raw {
    /// Waits (up to 30 s) until a CA started as a separate process with data directory
    /// `data` has written its root and answers its directory at `directory`, then returns a
    /// raw client with a fresh P-256 key.
    pub async fn wait_ready(data: &std::path::Path, directory: &str) -> Raw {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(root) = std::fs::read(data.join("root.pem"))
                && let Ok(true) = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    Self::answers(directory, &root),
                )
                .await
            {
                return Raw::new(directory, &root, KeyKind::P256).await;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server did not come up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn answers(directory: &str, root: &[u8]) -> bool {
        let Ok(certs) = reqwest::Certificate::from_pem_bundle(root) else {
            return false;
        };
        let Ok(http) = reqwest::Client::builder().tls_certs_merge(certs).build() else {
            return false;
        };
        matches!(http.get(directory).send().await, Ok(r) if r.status() == 200)
    }

    /// Fetches the directory; generates a key of `kind`.
    pub async fn new(directory: &str, root_pem: &[u8], kind: KeyKind) -> Raw {
        let certs = reqwest::Certificate::from_pem_bundle(root_pem).expect("root pem");
        let http = reqwest::Client::builder()
            .tls_certs_merge(certs)
            .tcp_nodelay(true)
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let dir: Directory = http
            .get(directory)
            .send()
            .await
            .expect("directory")
            .json()
            .await
            .expect("directory json");
        Raw {
            http,
            dir,
            key: SigningKey::generate(kind).expect("key"),
            kid: None,
        }
    }

    /// A fresh nonce from newNonce.
    pub async fn nonce(&self) -> String {
        let r = self
            .http
            .head(&self.dir.new_nonce)
            .send()
            .await
            .expect("newNonce");
        r.headers()
            .get("replay-nonce")
            .and_then(|v| v.to_str().ok())
            .expect("Replay-Nonce")
            .to_string()
    }

    /// Posts `body` with `content_type`.
    pub async fn post_bytes(&self, url: &str, body: Vec<u8>, content_type: &str) -> Resp {
        let r = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        Self::read(r).await
    }

    /// Posts a JWS object as `application/jose+json`.
    pub async fn post_jws(&self, url: &str, jws: &Value) -> Resp {
        self.post_bytes(url, jws.to_string().into_bytes(), "application/jose+json")
            .await
    }

    /// Signs `payload` (None = POST-as-GET) for `url` with a fresh nonce, by kid once
    /// registered, and posts it.
    pub async fn signed(&self, url: &str, payload: Option<&Value>) -> Resp {
        let nonce = self.nonce().await;
        let bytes = payload.map(|p| p.to_string().into_bytes());
        let jws = self
            .key
            .sign_jws(bytes.as_deref(), url, Some(&nonce), self.kid.as_deref())
            .expect("sign");
        self.post_jws(url, &jws).await
    }

    /// Like [`Raw::signed`], with an `Accept` header (e.g. MTC's
    /// `application/pem-certificate-chain-with-properties`).
    pub async fn signed_accept(&self, url: &str, payload: Option<&Value>, accept: &str) -> Resp {
        let nonce = self.nonce().await;
        let bytes = payload.map(|p| p.to_string().into_bytes());
        let jws = self
            .key
            .sign_jws(bytes.as_deref(), url, Some(&nonce), self.kid.as_deref())
            .expect("sign");
        let r = self
            .http
            .post(url)
            .header("content-type", "application/jose+json")
            .header("accept", accept)
            .body(jws.to_string().into_bytes())
            .send()
            .await
            .expect("request");
        Self::read(r).await
    }

    /// Sends a GET.
    pub async fn get(&self, url: &str) -> Resp {
        let r = self.http.get(url).send().await.expect("request");
        Self::read(r).await
    }

    async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("body").to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Registers an account (agreeing to terms) and remembers its kid.
    pub async fn register(&mut self) -> Resp {
        let url = self.dir.new_account.clone();
        let saved = self.kid.take();
        let r = self
            .signed(&url, Some(&json!({"termsOfServiceAgreed": true})))
            .await;
        self.kid = r.header("location").or(saved);
        r
    }

    /// Creates an order for DNS names; returns the response.
    pub async fn new_order(&self, names: &[&str]) -> Resp {
        let ids: Vec<Value> = names
            .iter()
            .map(|n| json!({"type": "dns", "value": n}))
            .collect();
        self.signed(
            &self.dir.new_order.clone(),
            Some(&json!({ "identifiers": ids })),
        )
        .await
    }

    /// Answers every pending http-01 challenge of `order` through `responder`.
    pub async fn solve_http01(&self, order: &Value, responder: &Http01Responder) {
        let tp = self.key.public_jwk().thumbprint();
        for a in order["authorizations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let authz = self
                .signed(a.as_str().unwrap_or_default(), None)
                .await
                .json();
            if authz["status"] == "valid" {
                continue;
            }
            let ch = authz["challenges"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "http-01"))
                .cloned()
                .expect("http-01 challenge");
            let token = ch["token"].as_str().unwrap_or_default();
            responder.insert(token, &format!("{token}.{tp}"));
            let r = self
                .signed(ch["url"].as_str().unwrap_or_default(), Some(&json!({})))
                .await;
            assert_eq!(r.status, 200, "challenge response: {}", r.text());
        }
    }

    /// A CSR (DER) for `names` with a fresh P-256 key; returns (csr, key PEM).
    pub fn csr(names: &[&str]) -> (Vec<u8>, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        (Self::csr_with_key(names, &key), key.serialize_pem())
    }

    /// A CSR (DER) for `names` signed by `key`, with an empty subject (rcgen's default
    /// subject CN is not a SAN, which a CA must refuse).
    pub fn csr_with_key(names: &[&str], key: &rcgen::KeyPair) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.serialize_request(key).expect("csr").der().to_vec()
    }

    /// Full issuance for `names`: order, http-01, finalize. Returns the final order JSON
    /// and its URL.
    pub async fn issue(&self, names: &[&str], responder: &Http01Responder) -> (Value, String) {
        let r = self.new_order(names).await;
        assert_eq!(r.status, 201, "newOrder: {}", r.text());
        let url = r.header("location").expect("order Location");
        let order = r.json();
        self.solve_http01(&order, responder).await;
        let order = self.signed(&url, None).await.json();
        assert_eq!(order["status"], "ready", "order: {order}");
        let (csr, _) = Self::csr(names);
        let r = self
            .signed(
                order["finalize"].as_str().unwrap_or_default(),
                Some(&json!({"csr": b64::encode(&csr)})),
            )
            .await;
        assert_eq!(r.status, 200, "finalize: {}", r.text());
        (r.json(), url)
    }
}
