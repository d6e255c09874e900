//! End-to-end RFC 8555 tests over real HTTPS on 127.0.0.1 against an in-process CA: the
//! happy path for every resource. The malformed-request table is in `bad_input.rs`.

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
    // 1. by the issuing account, reason keyCompromise
    let (o, _) = owner.issue(&["r1.example.com"], &ca.responder).await;
    let der1 = owner
        .signed(o["certificate"].as_str().unwrap(), None)
        .await
        .leaf_der();
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
    let der2 = owner
        .signed(fin["certificate"].as_str().unwrap(), None)
        .await
        .leaf_der();
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
    let der3 = owner
        .signed(o3["certificate"].as_str().unwrap(), None)
        .await
        .leaf_der();
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
