//! The hostile test mode: each knob does what it says, so client tests that rely on it
//! really face rejected nonces, 503s, shuffled lists and asynchronous finalization.

use arbor_proto::b64;
use arbor_proto::sign::KeyKind;
use arbor_ra::{RaConfig, RateLimits};
use arbor_server::HostileKnobs;
use arbor_testkit::{Raw, TestCa};
use serde_json::json;

fn ra() -> RaConfig {
    RaConfig {
        rate_limits: RateLimits::off(),
        async_finalize_ms: Some(300),
        ..RaConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knobs_fire() {
    let knobs = HostileKnobs {
        nonce_reject_percent: 50,
        unavailable_percent: 20,
        shuffle: true,
        mixed_retry_after: true,
    };
    let ca = TestCa::start_hostile(ra(), knobs).await;
    let mut raw = ca.raw(KeyKind::P256).await;
    // Register, retrying like a client must.
    let mut kid = None;
    for _ in 0..50 {
        let r = raw.register().await;
        if r.status == 201 || r.status == 200 {
            kid = raw.kid.clone();
            break;
        }
    }
    assert!(kid.is_some(), "registration eventually succeeds");
    let (mut bad_nonce, mut unavailable, mut ok) = (0, 0, 0);
    let mut retry_forms = std::collections::HashSet::new();
    for _ in 0..60 {
        let r = raw.signed(&kid.clone().unwrap(), None).await;
        match (r.status, r.problem_type().as_str()) {
            (200, _) => ok += 1,
            (400, "badNonce") => bad_nonce += 1,
            (503, _) => {
                unavailable += 1;
                let ra = r.header("retry-after").expect("503 carries Retry-After");
                retry_forms.insert(ra.parse::<u64>().is_ok());
                assert!(r.header("replay-nonce").is_some());
            }
            other => panic!("unexpected {other:?}: {}", r.text()),
        }
    }
    assert!(
        ok > 5 && bad_nonce > 5 && unavailable > 2,
        "ok {ok} badNonce {bad_nonce} 503 {unavailable}"
    );
    assert_eq!(retry_forms.len(), 2, "both Retry-After forms seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_finalize_and_shuffle() {
    let knobs = HostileKnobs {
        shuffle: true,
        ..HostileKnobs::default()
    };
    let ca = TestCa::start_hostile(ra(), knobs).await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let names: Vec<String> = (0..6).map(|i| format!("s{i}.example.com")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = raw.new_order(&refs).await;
    let url = r.header("location").unwrap();
    let first = r.json()["authorizations"].clone();
    let mut shuffled = false;
    for _ in 0..10 {
        if raw.signed(&url, None).await.json()["authorizations"] != first {
            shuffled = true;
            break;
        }
    }
    assert!(shuffled, "authorizations come back in varying order");
    raw.solve_http01(&r.json(), &ca.responder).await;
    let o = raw.signed(&url, None).await.json();
    let (csr, _) = Raw::csr(&refs);
    let f = raw
        .signed(
            o["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr)})),
        )
        .await;
    assert_eq!(f.status, 200);
    assert_eq!(f.json()["status"], "processing");
    assert!(f.header("retry-after").is_some());
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = raw.signed(&url, None).await.json()["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "valid" {
            break;
        }
    }
    assert_eq!(status, "valid");
}
