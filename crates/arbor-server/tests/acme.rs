//! End-to-end RFC 8555 tests over real HTTPS on 127.0.0.1 against an in-process CA:
//! the happy path for every resource, then a table of malformed requests each answered
//! with the right problem type and a 4xx (never a 5xx or a dropped connection).

use arbor_proto::b64;
use arbor_proto::sign::{KeyKind, SigningKey};
use arbor_testkit::{Raw, Resp, TestCa};
use serde_json::json;

fn pem_certs(text: &str) -> usize {
    text.matches("-----BEGIN CERTIFICATE-----").count()
}

fn openssl_verify(root_pem: &[u8], chain_pem: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, root_pem).unwrap();
    let blocks: Vec<String> = chain_pem
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(str::to_string)
        .collect();
    let leaf = dir.path().join("leaf.pem");
    let inter = dir.path().join("inter.pem");
    std::fs::write(&leaf, &blocks[0]).unwrap();
    std::fs::write(&inter, blocks[1..].concat()).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&root)
        .arg("-untrusted")
        .arg(&inter)
        .arg(&leaf)
        .output()
        .expect("openssl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_nonce_and_headers() {
    let ca = TestCa::start().await;
    let raw = ca.raw(KeyKind::P256).await;
    let d = raw.get(&ca.directory).await;
    assert_eq!(d.status, 200);
    let j = d.json();
    for k in [
        "newNonce",
        "newAccount",
        "newOrder",
        "revokeCert",
        "keyChange",
    ] {
        assert!(j[k].as_str().unwrap().starts_with(&ca.base), "{k}");
    }
    assert_eq!(j["meta"]["externalAccountRequired"], false);
    let head = raw.http.head(&raw.dir.new_nonce).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["cache-control"], "no-store");
    let get = raw.get(&raw.dir.new_nonce).await;
    assert_eq!(get.status, 204);
    assert!(get.header("replay-nonce").is_some());
    assert!(
        get.headers_all("link")
            .iter()
            .any(|l| l.contains("rel=\"index\""))
    );
    // Errors carry a nonce and the index link too.
    let e = raw.get(&format!("{}/nope", ca.base)).await;
    assert_eq!(e.status, 404);
    assert!(e.header("replay-nonce").is_some());
    assert_eq!(
        e.header("content-type").unwrap(),
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_issuance_download_and_chains() {
    let ca = TestCa::start().await;
    for kind in [
        KeyKind::P256,
        KeyKind::P384,
        KeyKind::Rsa2048,
        KeyKind::Ed25519,
    ] {
        let mut raw = ca.raw(kind).await;
        let r = raw.register().await;
        assert_eq!(r.status, 201, "{kind:?}: {}", r.text());
        let names = ["www.example.com", "example.com"];
        let (order, _) = raw.issue(&names, &ca.responder).await;
        assert_eq!(order["status"], "valid");
        let cert_url = order["certificate"].as_str().unwrap();
        let c = raw.signed(cert_url, None).await;
        assert_eq!(c.status, 200);
        assert_eq!(
            c.header("content-type").unwrap(),
            "application/pem-certificate-chain"
        );
        assert_eq!(pem_certs(&c.text()), 2);
        let (ok, msg) = openssl_verify(&ca.root_pem, &c.text());
        assert!(ok, "default chain: {msg}");
        let alt = c
            .headers_all("link")
            .into_iter()
            .find(|l| l.contains("rel=\"alternate\""))
            .expect("alternate link");
        let alt_url = alt
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_string();
        let a = raw.signed(&alt_url, None).await;
        assert_eq!(a.status, 200);
        let (ok, msg) = openssl_verify(&ca.root_alt_pem, &a.text());
        assert!(ok, "alternate chain: {msg}");
        let (ok, _) = openssl_verify(&ca.root_alt_pem, &c.text());
        assert!(
            !ok,
            "default chain must not verify under the alternate root"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_update_existing_rollover_deactivate() {
    let ca = TestCa::start().await;
    let mut raw = ca.raw(KeyKind::P256).await;
    let r = raw.register().await;
    assert_eq!(r.status, 201);
    let kid = raw.kid.clone().unwrap();
    // Same key again: 200 and the same account.
    let again = raw.register().await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("location").unwrap(), kid);
    // onlyReturnExisting with the known key.
    raw.kid = None;
    let e = raw
        .signed(
            &raw.dir.new_account.clone(),
            Some(&json!({"onlyReturnExisting": true})),
        )
        .await;
    assert_eq!(e.status, 200);
    raw.kid = Some(kid.clone());
    // Update contacts.
    let u = raw
        .signed(&kid, Some(&json!({"contact": ["mailto:ops@example.com"]})))
        .await;
    assert_eq!(u.status, 200, "{}", u.text());
    assert_eq!(u.json()["contact"][0], "mailto:ops@example.com");
    // Key rollover.
    let new_key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let url = raw.dir.key_change.clone();
    let inner_payload = json!({"account": kid, "oldKey": raw.key.public_jwk().to_value()});
    let inner = new_key
        .sign_jws(Some(inner_payload.to_string().as_bytes()), &url, None, None)
        .unwrap();
    let r = raw.signed(&url, Some(&inner)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Old key no longer works; new one does.
    let old = raw.signed(&kid, None).await;
    assert!(old.status >= 400);
    raw.key = new_key;
    assert_eq!(raw.signed(&kid, None).await.status, 200);
    // Rolling over to a key another account holds: 409 + Location of that account.
    let mut other = ca.raw(KeyKind::P256).await;
    other.register().await;
    let inner_payload = json!({"account": kid, "oldKey": raw.key.public_jwk().to_value()});
    let inner = other
        .key
        .sign_jws(Some(inner_payload.to_string().as_bytes()), &url, None, None)
        .unwrap();
    let r = raw.signed(&url, Some(&inner)).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.header("location"), other.kid.clone());
    // Deactivate; then every request is unauthorized.
    let d = raw
        .signed(&kid, Some(&json!({"status": "deactivated"})))
        .await;
    assert_eq!(d.status, 200);
    assert_eq!(d.json()["status"], "deactivated");
    let after = raw.new_order(&["a.example.com"]).await;
    assert_eq!(after.status, 403);
    assert_eq!(after.problem_type(), "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_list_paginates_and_authz_reuse_and_deactivation() {
    let ca = TestCa::start_with(arbor_ra::RaConfig {
        orders_per_page: 3,
        ..Default::default()
    })
    .await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let mut urls = Vec::new();
    for i in 0..7 {
        let r = raw.new_order(&[&format!("n{i}.example.com")]).await;
        assert_eq!(r.status, 201);
        urls.push(r.header("location").unwrap());
    }
    let acct = raw.signed(&raw.kid.clone().unwrap(), None).await.json();
    let mut next = Some(acct["orders"].as_str().unwrap().to_string());
    let mut seen = Vec::new();
    while let Some(u) = next.take() {
        let page = raw.signed(&u, None).await;
        assert_eq!(page.status, 200);
        for o in page.json()["orders"].as_array().unwrap() {
            seen.push(o.as_str().unwrap().to_string());
        }
        next = page
            .headers_all("link")
            .into_iter()
            .find(|l| l.contains("rel=\"next\""))
            .map(|l| {
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string()
            });
    }
    seen.sort();
    urls.sort();
    assert_eq!(seen, urls);
    // Pre-authorization (§7.4.1): newAuthz, then an order for the name reuses it once valid.
    let new_authz = raw.dir.new_authz.clone().expect("newAuthz advertised");
    let pa = raw
        .signed(
            &new_authz,
            Some(&json!({"identifier": {"type": "dns", "value": "pre.example.com"}})),
        )
        .await;
    assert_eq!(pa.status, 201, "{}", pa.text());
    let pa_url = pa.header("location").unwrap();
    let ch = pa.json()["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "http-01")
        .cloned()
        .unwrap();
    let token = ch["token"].as_str().unwrap();
    ca.responder.insert(
        token,
        &format!("{token}.{}", raw.key.public_jwk().thumbprint()),
    );
    let v = raw
        .signed(ch["url"].as_str().unwrap(), Some(&json!({})))
        .await;
    assert_eq!(v.json()["status"], "valid");
    let o = raw.new_order(&["pre.example.com"]).await.json();
    assert_eq!(o["status"], "ready");
    assert_eq!(o["authorizations"][0], pa_url.as_str());
    let w = raw
        .signed(
            &new_authz,
            Some(&json!({"identifier": {"type": "dns", "value": "*.pre.example.com"}})),
        )
        .await;
    assert_eq!(w.status, 400);
    assert_eq!(w.problem_type(), "rejectedIdentifier");
    // A second order for the same name reuses the pending authorization.
    let a = raw.new_order(&["n0.example.com"]).await.json();
    let b = raw.new_order(&["n0.example.com"]).await.json();
    assert_eq!(a["authorizations"], b["authorizations"]);
    // Deactivating it makes the orders invalid.
    let authz = a["authorizations"][0].as_str().unwrap();
    let d = raw
        .signed(authz, Some(&json!({"status": "deactivated"})))
        .await;
    assert_eq!(d.json()["status"], "deactivated");
    let o = raw.signed(&urls[0], None).await.json();
    assert!(o["status"] == "invalid" || o["status"] == "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_finalize_issues_exactly_once() {
    let ca = TestCa::start().await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let r = raw.new_order(&["race.example.com"]).await;
    let url = r.header("location").unwrap();
    raw.solve_http01(&r.json(), &ca.responder).await;
    let order = raw.signed(&url, None).await.json();
    assert_eq!(order["status"], "ready");
    let fin = order["finalize"].as_str().unwrap().to_string();
    let (csr, _) = Raw::csr(&["race.example.com"]);
    let payload = json!({"csr": b64::encode(&csr)});
    // Sign 16 requests first, then fire them together.
    let mut bodies = Vec::new();
    for _ in 0..16 {
        let n = raw.nonce().await;
        bodies.push(
            raw.key
                .sign_jws(
                    Some(payload.to_string().as_bytes()),
                    &fin,
                    Some(&n),
                    raw.kid.as_deref(),
                )
                .unwrap(),
        );
    }
    let results: Vec<Resp> =
        futures::future::join_all(bodies.iter().map(|b| raw.post_jws(&fin, b))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one finalize succeeds");
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!(r.problem_type(), "orderNotReady", "{}", r.text());
    }
    let order = raw.signed(&url, None).await.json();
    assert_eq!(order["status"], "valid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_three_ways() {
    let ca = TestCa::start().await;
    let mut owner = ca.raw(KeyKind::P256).await;
    owner.register().await;
    let revoke_url = owner.dir.revoke_cert.clone();
    let get_der = |chain: String| {
        let first = chain
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap()
            .to_string();
        let b: String = first.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64ct::Encoding;
        base64ct::Base64::decode_vec(&b).unwrap()
    };
    // 1. by the issuing account, reason keyCompromise
    let (o, _) = owner.issue(&["r1.example.com"], &ca.responder).await;
    let der1 = get_der(
        owner
            .signed(o["certificate"].as_str().unwrap(), None)
            .await
            .text(),
    );
    let r = owner
        .signed(
            &revoke_url,
            Some(&json!({"certificate": b64::encode(&der1), "reason": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let again = owner
        .signed(
            &revoke_url,
            Some(&json!({"certificate": b64::encode(&der1)})),
        )
        .await;
    assert_eq!(again.problem_type(), "alreadyRevoked");
    // 2. by the certificate's key (jwk-signed)
    let names = ["r2.example.com"];
    let r = owner.new_order(&names).await;
    let url = r.header("location").unwrap();
    owner.solve_http01(&r.json(), &ca.responder).await;
    let order = owner.signed(&url, None).await.json();
    let cert_key = SigningKey::generate(KeyKind::P256).unwrap();
    let kp = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(
        &cert_key.to_pem(),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    )
    .unwrap();
    let csr = Raw::csr_with_key(&names, &kp);
    let fin = owner
        .signed(
            order["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr)})),
        )
        .await
        .json();
    let der2 = get_der(
        owner
            .signed(fin["certificate"].as_str().unwrap(), None)
            .await
            .text(),
    );
    let mut by_key = ca.raw(KeyKind::P256).await;
    by_key.key = cert_key;
    let r = by_key
        .signed(
            &revoke_url,
            Some(&json!({"certificate": b64::encode(&der2), "reason": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // 3. by another account: refused until it holds valid authorizations for every name
    let (o3, _) = owner.issue(&["r3.example.com"], &ca.responder).await;
    let der3 = get_der(
        owner
            .signed(o3["certificate"].as_str().unwrap(), None)
            .await
            .text(),
    );
    let mut other = ca.raw(KeyKind::P256).await;
    other.register().await;
    let r = other
        .signed(
            &revoke_url,
            Some(&json!({"certificate": b64::encode(&der3)})),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.problem_type(), "unauthorized");
    let o = other.new_order(&["r3.example.com"]).await.json();
    other.solve_http01(&o, &ca.responder).await;
    let r = other
        .signed(
            &revoke_url,
            Some(&json!({"certificate": b64::encode(&der3), "reason": 4})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The CRL lists the revoked serials.
    let crl_url = format!(
        "http://{}/crl/{}.crl",
        ca.running.public_addr,
        ca.running.state.ra.hierarchy().intermediate.id
    );
    let crl = reqwest::get(&crl_url).await.unwrap();
    assert_eq!(crl.status(), 200);
    let crl_der = crl.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.crl");
    std::fs::write(&p, &crl_der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_uppercase();
    for der in [&der1, &der2, &der3] {
        let c = <x509_cert::Certificate as der::Decode>::from_der(der).unwrap();
        let serial = hex::encode_upper(c.tbs_certificate().serial_number().as_bytes());
        assert!(text.contains(&serial), "CRL lists {serial}");
    }
}

/// What a malformed request must get back.
struct Case {
    name: &'static str,
    status: u16,
    problem: &'static str,
    resp: Resp,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_table() {
    let ca = TestCa::start().await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let kid = raw.kid.clone().unwrap();
    let new_order = raw.dir.new_order.clone();
    let new_account = raw.dir.new_account.clone();
    let revoke = raw.dir.revoke_cert.clone();
    let order_payload = json!({"identifiers": [{"type": "dns", "value": "ok.example.com"}]});
    let b64p = b64::encode(order_payload.to_string().as_bytes());
    let mut cases: Vec<Case> = Vec::new();
    macro_rules! case {
        ($name:expr, $status:expr, $problem:expr, $resp:expr) => {
            cases.push(Case {
                name: $name,
                status: $status,
                problem: $problem,
                resp: $resp,
            });
        };
    }
    let hdr = |alg: &str, nonce: &str, url: &str| json!({"alg": alg, "nonce": nonce, "url": url, "kid": kid});

    // --- JWS structure and algorithms ---
    let n = raw.nonce().await;
    let unsigned = json!({"protected": b64::encode(hdr("none", &n, &new_order).to_string().as_bytes()), "payload": b64p, "signature": ""});
    case!(
        "alg none",
        400,
        "badSignatureAlgorithm",
        raw.post_jws(&new_order, &unsigned).await
    );
    let n = raw.nonce().await;
    let hs = json!({"protected": b64::encode(hdr("HS256", &n, &new_order).to_string().as_bytes()), "payload": b64p, "signature": b64::encode(b"0123456789abcdef0123456789abcdef")});
    case!(
        "alg HS256 (MAC)",
        400,
        "badSignatureAlgorithm",
        raw.post_jws(&new_order, &hs).await
    );
    let n = raw.nonce().await;
    let unk = raw
        .key
        .sign_with_header(&hdr("ES999", &n, &new_order), &b64p)
        .unwrap();
    case!(
        "unknown alg",
        400,
        "badSignatureAlgorithm",
        raw.post_jws(&new_order, &unk).await
    );
    let n = raw.nonce().await;
    let mismatch = raw
        .key
        .sign_with_header(&hdr("RS256", &n, &new_order), &b64p)
        .unwrap();
    case!(
        "alg does not match key",
        400,
        "malformed",
        raw.post_jws(&new_order, &mismatch).await
    );
    let n = raw.nonce().await;
    let mut forged = raw
        .key
        .sign_with_header(&hdr("ES256", &n, &new_order), &b64p)
        .unwrap();
    forged["payload"] = json!(b64::encode(
        br#"{"identifiers":[{"type":"dns","value":"evil.example.com"}]}"#
    ));
    let r = raw.post_jws(&new_order, &forged).await;
    assert!(r.status == 400 || r.status == 403, "forged: {}", r.status);
    case!("forged payload", r.status, "malformed", r);
    let n = raw.nonce().await;
    let good = raw
        .key
        .sign_with_header(&hdr("ES256", &n, &new_order), &b64p)
        .unwrap();
    let general = json!({"payload": good["payload"], "signatures": [{"protected": good["protected"], "signature": good["signature"]}]});
    case!(
        "general JWS serialization",
        400,
        "malformed",
        raw.post_jws(&new_order, &general).await
    );
    let n = raw.nonce().await;
    let mut unprot = raw
        .key
        .sign_with_header(&hdr("ES256", &n, &new_order), &b64p)
        .unwrap();
    unprot["header"] = json!({"kid": "x"});
    case!(
        "unprotected header",
        400,
        "malformed",
        raw.post_jws(&new_order, &unprot).await
    );
    case!(
        "body not JSON",
        400,
        "malformed",
        raw.post_bytes(&new_order, b"hello".to_vec(), "application/jose+json")
            .await
    );
    case!(
        "JSON array body",
        400,
        "malformed",
        raw.post_bytes(&new_order, b"[]".to_vec(), "application/jose+json")
            .await
    );
    let n = raw.nonce().await;
    let both = raw.key.sign_with_header(&json!({"alg": "ES256", "nonce": n, "url": new_order, "kid": kid, "jwk": raw.key.public_jwk().to_value()}), &b64p).unwrap();
    case!(
        "jwk and kid",
        400,
        "malformed",
        raw.post_jws(&new_order, &both).await
    );
    let n = raw.nonce().await;
    let neither = raw
        .key
        .sign_with_header(
            &json!({"alg": "ES256", "nonce": n, "url": new_order}),
            &b64p,
        )
        .unwrap();
    case!(
        "neither jwk nor kid",
        400,
        "malformed",
        raw.post_jws(&new_order, &neither).await
    );
    let n = raw.nonce().await;
    let jwk_on_order = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            Some(&n),
            None,
        )
        .unwrap();
    case!(
        "jwk on newOrder",
        400,
        "malformed",
        raw.post_jws(&new_order, &jwk_on_order).await
    );
    let n = raw.nonce().await;
    let kid_on_acct = raw
        .key
        .sign_jws(Some(b"{}"), &new_account, Some(&n), Some(&kid))
        .unwrap();
    case!(
        "kid on newAccount",
        400,
        "malformed",
        raw.post_jws(&new_account, &kid_on_acct).await
    );

    // --- nonces and URLs ---
    let n = raw.nonce().await;
    let once = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            Some(&n),
            Some(&kid),
        )
        .unwrap();
    assert_eq!(raw.post_jws(&new_order, &once).await.status, 201);
    case!(
        "replayed nonce",
        400,
        "badNonce",
        raw.post_jws(&new_order, &once).await
    );
    let no_nonce = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            None,
            Some(&kid),
        )
        .unwrap();
    case!(
        "missing nonce",
        400,
        "badNonce",
        raw.post_jws(&new_order, &no_nonce).await
    );
    let made_up = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            Some("AAAAAAAAAAAAAAAAAAAAAA"),
            Some(&kid),
        )
        .unwrap();
    case!(
        "unknown nonce",
        400,
        "badNonce",
        raw.post_jws(&new_order, &made_up).await
    );
    let n = raw.nonce().await;
    let wrong_url = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &format!("{}/acme/new-orderx", ca.base),
            Some(&n),
            Some(&kid),
        )
        .unwrap();
    case!(
        "url mismatch",
        403,
        "unauthorized",
        raw.post_jws(&new_order, &wrong_url).await
    );
    let n = raw.nonce().await;
    let no_url = raw
        .key
        .sign_with_header(&json!({"alg": "ES256", "nonce": n, "kid": kid}), &b64p)
        .unwrap();
    case!(
        "missing url",
        400,
        "malformed",
        raw.post_jws(&new_order, &no_url).await
    );
    let n = raw.nonce().await;
    let ghost = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            Some(&n),
            Some(&format!("{}/acme/acct/nobody", ca.base)),
        )
        .unwrap();
    case!(
        "unknown account",
        400,
        "accountDoesNotExist",
        raw.post_jws(&new_order, &ghost).await
    );
    let n = raw.nonce().await;
    let ghost2 = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            Some(&n),
            Some("not-a-url"),
        )
        .unwrap();
    case!(
        "kid not an account URL",
        400,
        "accountDoesNotExist",
        raw.post_jws(&new_order, &ghost2).await
    );

    // --- transport ---
    let n = raw.nonce().await;
    let ok_body = raw
        .key
        .sign_jws(
            Some(order_payload.to_string().as_bytes()),
            &new_order,
            Some(&n),
            Some(&kid),
        )
        .unwrap();
    case!(
        "Content-Type application/json",
        415,
        "malformed",
        raw.post_bytes(
            &new_order,
            ok_body.to_string().into_bytes(),
            "application/json"
        )
        .await
    );
    case!(
        "oversized body",
        413,
        "malformed",
        raw.post_bytes(&new_order, vec![b'{'; 200_000], "application/jose+json")
            .await
    );
    let g = raw.get(&new_order).await;
    case!("GET on newOrder", 405, "malformed", g);
    case!(
        "unknown resource",
        404,
        "malformed",
        raw.signed(&format!("{}/acme/nothing", ca.base), None).await
    );

    // --- keys ---
    let mut rsa_small = serde_json::Map::new();
    rsa_small.insert("kty".into(), json!("RSA"));
    rsa_small.insert("n".into(), json!(b64::encode(&[0xc5u8; 128])));
    rsa_small.insert("e".into(), json!("AQAB"));
    let n = raw.nonce().await;
    let weak = raw
        .key
        .sign_with_header(
            &json!({"alg": "RS256", "nonce": n, "url": new_account, "jwk": rsa_small}),
            &b64::encode(b"{}"),
        )
        .unwrap();
    case!(
        "RSA-1024 account key",
        400,
        "badPublicKey",
        raw.post_jws(&new_account, &weak).await
    );
    let mut with_d = raw.key.public_jwk().to_value();
    with_d["d"] = json!("AAAA");
    let n = raw.nonce().await;
    let priv_jwk = raw
        .key
        .sign_with_header(
            &json!({"alg": "ES256", "nonce": n, "url": new_account, "jwk": with_d}),
            &b64::encode(b"{}"),
        )
        .unwrap();
    case!(
        "private key in jwk",
        400,
        "malformed",
        raw.post_jws(&new_account, &priv_jwk).await
    );

    // --- accounts ---
    let mut fresh = ca.raw(KeyKind::P256).await;
    case!(
        "onlyReturnExisting, no account",
        400,
        "accountDoesNotExist",
        fresh
            .signed(&new_account, Some(&json!({"onlyReturnExisting": true})))
            .await
    );
    case!(
        "unsupported contact",
        400,
        "unsupportedContact",
        fresh
            .signed(&new_account, Some(&json!({"contact": ["tel:+1555"]})))
            .await
    );
    case!(
        "invalid contact",
        400,
        "invalidContact",
        fresh
            .signed(
                &new_account,
                Some(&json!({"contact": ["mailto:not-an-address"]}))
            )
            .await
    );
    case!(
        "account status change to valid",
        400,
        "malformed",
        raw.signed(&kid, Some(&json!({"status": "revoked"}))).await
    );
    fresh.register().await;
    case!(
        "another account's URL",
        403,
        "unauthorized",
        fresh.signed(&kid, None).await
    );

    // --- orders ---
    case!(
        "no identifiers",
        400,
        "malformed",
        raw.signed(&new_order, Some(&json!({"identifiers": []})))
            .await
    );
    case!(
        "bad DNS name",
        400,
        "rejectedIdentifier",
        raw.signed(
            &new_order,
            Some(&json!({"identifiers": [{"type": "dns", "value": "bad_name.example.com"}]}))
        )
        .await
    );
    case!(
        "unsupported identifier type",
        400,
        "unsupportedIdentifier",
        raw.signed(
            &new_order,
            Some(&json!({"identifiers": [{"type": "email", "value": "a@example.com"}]}))
        )
        .await
    );
    let multi = raw.signed(&new_order, Some(&json!({"identifiers": [{"type": "dns", "value": "-x.example.com"}, {"type": "dns", "value": "a..example.com"}]}))).await;
    assert_eq!(
        multi.problem().unwrap().subproblems.len(),
        2,
        "subproblems: {}",
        multi.text()
    );
    case!(
        "two bad names (subproblems)",
        400,
        "rejectedIdentifier",
        multi
    );
    case!("notBefore", 400, "malformed", raw.signed(&new_order, Some(&json!({"identifiers": [{"type": "dns", "value": "a.example.com"}], "notBefore": "2030-01-01T00:00:00Z"}))).await);
    case!(
        "identifiers not a list",
        400,
        "malformed",
        raw.signed(&new_order, Some(&json!({"identifiers": "a.example.com"})))
            .await
    );
    case!(
        "newOrder as POST-as-GET",
        400,
        "malformed",
        raw.signed(&new_order, None).await
    );
    let pending = raw.new_order(&["pending.example.com"]).await;
    let pending_order = pending.json();
    let pending_url = pending.header("location").unwrap();
    case!(
        "another account's order",
        404,
        "malformed",
        fresh.signed(&pending_url, None).await
    );
    let (csr_ok, _) = Raw::csr(&["pending.example.com"]);
    case!(
        "finalize pending order",
        403,
        "orderNotReady",
        raw.signed(
            pending_order["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr_ok)}))
        )
        .await
    );

    // --- CSRs (on a ready order) ---
    let r = raw.new_order(&["csr.example.com"]).await;
    let ready = r.json();
    raw.solve_http01(&ready, &ca.responder).await;
    let fin = ready["finalize"].as_str().unwrap().to_string();
    case!(
        "csr not base64url",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": "!!!"}))).await
    );
    case!(
        "csr garbage DER",
        400,
        "badCSR",
        raw.signed(
            &fin,
            Some(&json!({"csr": b64::encode(b"\x30\x03\x02\x01\x00")}))
        )
        .await
    );
    let (wrong_names, _) = Raw::csr(&["other.example.com"]);
    case!(
        "csr names differ",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": b64::encode(&wrong_names)})))
            .await
    );
    let (extra, _) = Raw::csr(&["csr.example.com", "extra.example.com"]);
    case!(
        "csr extra name",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": b64::encode(&extra)})))
            .await
    );
    let mut bad_sig = Raw::csr(&["csr.example.com"]).0;
    let last = bad_sig.len() - 3;
    bad_sig[last] ^= 0x55;
    case!(
        "csr bad signature",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": b64::encode(&bad_sig)})))
            .await
    );
    let acct_kp = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(
        &raw.key.to_pem(),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    )
    .unwrap();
    let acct_csr = Raw::csr_with_key(&["csr.example.com"], &acct_kp);
    case!(
        "csr uses the account key",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": b64::encode(&acct_csr)})))
            .await
    );
    let mut cn_params = rcgen::CertificateParams::new(vec!["csr.example.com".to_string()]).unwrap();
    cn_params.distinguished_name = rcgen::DistinguishedName::new();
    cn_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "elsewhere.example.com");
    let cn_csr = cn_params
        .serialize_request(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    case!(
        "csr CN not among SANs",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": b64::encode(cn_csr.der())})))
            .await
    );
    let rsa1024 = openssl_rsa1024_csr("csr.example.com");
    case!(
        "csr RSA-1024 key",
        400,
        "badCSR",
        raw.signed(&fin, Some(&json!({"csr": b64::encode(&rsa1024)})))
            .await
    );
    case!(
        "finalize without csr field",
        400,
        "malformed",
        raw.signed(&fin, Some(&json!({"certificate": "x"}))).await
    );

    // --- revocation ---
    case!(
        "revoke garbage certificate",
        400,
        "malformed",
        raw.signed(
            &revoke,
            Some(&json!({"certificate": b64::encode(b"\x30\x00")}))
        )
        .await
    );
    let (o, _) = raw.issue(&["rv.example.com"], &ca.responder).await;
    let chain = raw
        .signed(o["certificate"].as_str().unwrap(), None)
        .await
        .text();
    let b: String = chain
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = {
        use base64ct::Encoding;
        base64ct::Base64::decode_vec(&b).unwrap()
    };
    case!(
        "revoke reason 6 (certificateHold)",
        400,
        "badRevocationReason",
        raw.signed(
            &revoke,
            Some(&json!({"certificate": b64::encode(&der), "reason": 6}))
        )
        .await
    );
    case!(
        "revoke reason out of range",
        400,
        "badRevocationReason",
        raw.signed(
            &revoke,
            Some(&json!({"certificate": b64::encode(&der), "reason": 99}))
        )
        .await
    );
    case!(
        "revoke by unrelated account",
        403,
        "unauthorized",
        fresh
            .signed(&revoke, Some(&json!({"certificate": b64::encode(&der)})))
            .await
    );

    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let got = c.resp.problem_type();
        if c.resp.status != c.status || got != c.problem || c.resp.header("replay-nonce").is_none()
        {
            failures.push(format!(
                "{}: want {} {}, got {} {} ({})",
                c.name,
                c.status,
                c.problem,
                c.resp.status,
                got,
                c.resp.text()
            ));
        }
        assert!(c.resp.status < 500, "{} got a 5xx", c.name);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("bad-input table: {} cases passed", cases.len());
}

/// A CSR with an RSA-1024 key, made by openssl (aws-lc refuses to sign with one).
fn openssl_rsa1024_csr(name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let csr = dir.path().join("c.der");
    let ok = std::process::Command::new("openssl")
        .args([
            "req", "-new", "-newkey", "rsa:1024", "-nodes", "-subj", "/", "-outform", "DER",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{name}"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::read(csr).unwrap()
}
