//! Conformance checks for the schema-v2 methods: external account binding keys
//! (RFC 8555 §7.3.4), durable rate limits, and the ARI `replaced_by` compare-and-swap
//! (RFC 9773 §5). Each takes a fresh, empty store.

use std::sync::Arc;

use arbor_store::*;

use super::fixtures::*;

const T0: i64 = 1_750_000_000;

pub async fn eab_roundtrip(s: &dyn Storage) {
    assert_eq!(s.get_eab_key("kid-1").await.unwrap(), None);
    let mac: Vec<u8> = (0u8..32).map(|b| b.wrapping_mul(37)).collect();
    s.insert_eab_key("kid-1", &mac, T0).await.unwrap();
    let stored = s.get_eab_key("kid-1").await.unwrap().unwrap();
    assert_eq!(
        stored,
        EabKeyRecord {
            kid: "kid-1".into(),
            hmac_key: mac.clone(),
            created_at: T0,
            account_id: None,
        }
    );
    let r = s.insert_eab_key("kid-1", b"other", T0 + 1).await;
    assert!(matches!(r, Err(StoreError::Duplicate("eab kid"))), "{r:?}");
    assert_eq!(s.get_eab_key("kid-1").await.unwrap().unwrap().hmac_key, mac);

    // Binding: the account is created, carries the kid, and the key points back at it.
    let mut a = account("acct", "tp");
    a.eab_kid = None;
    s.insert_account_with_eab(&a, "kid-1").await.unwrap();
    let got = s.get_account("acct").await.unwrap().unwrap();
    assert_eq!(got.eab_kid.as_deref(), Some("kid-1"));
    assert_eq!((got.thumbprint.as_str(), got.contact), ("tp", a.contact));
    assert_eq!(
        s.get_eab_key("kid-1").await.unwrap().unwrap().account_id,
        Some("acct".into())
    );
}

pub async fn eab_binding_errors(s: &dyn Storage) {
    // Unknown kid: nothing is created.
    let r = s
        .insert_account_with_eab(&account("a1", "tp1"), "nope")
        .await;
    assert!(matches!(r, Err(StoreError::NotFound("eab key"))), "{r:?}");
    assert_eq!(s.get_account("a1").await.unwrap(), None);

    s.insert_eab_key("k1", b"mac-1", T0).await.unwrap();
    s.insert_eab_key("k2", b"mac-2", T0).await.unwrap();
    s.insert_account(&account("plain", "tp-plain"))
        .await
        .unwrap();
    // Account key already registered: the EAB key stays unbound.
    let r = s
        .insert_account_with_eab(&account("a2", "tp-plain"), "k1")
        .await;
    assert!(
        matches!(r, Err(StoreError::Duplicate("account key"))),
        "{r:?}"
    );
    assert_eq!(s.get_eab_key("k1").await.unwrap().unwrap().account_id, None);
    assert_eq!(s.get_account("a2").await.unwrap(), None);

    s.insert_account_with_eab(&account("a3", "tp3"), "k1")
        .await
        .unwrap();
    // A bound key cannot bind a second account; that account is not created.
    let r = s.insert_account_with_eab(&account("a4", "tp4"), "k1").await;
    assert!(
        matches!(r, Err(StoreError::Duplicate("eab binding"))),
        "{r:?}"
    );
    assert_eq!(s.get_account("a4").await.unwrap(), None);
    assert_eq!(s.get_account_by_thumbprint("tp4").await.unwrap(), None);
    // The other key still binds.
    s.insert_account_with_eab(&account("a4", "tp4"), "k2")
        .await
        .unwrap();
    assert_eq!(
        s.get_eab_key("k2").await.unwrap().unwrap().account_id,
        Some("a4".into())
    );
}

pub async fn rate_window_slides(s: &dyn Storage) {
    let (key, limit, window) = ("newOrder:acct", 3, 100);
    let allowed = |remaining| RateDecision::Allowed { remaining };
    let denied = |retry_after_secs| RateDecision::Denied { retry_after_secs };
    assert_eq!(
        s.check_rate(key, limit, window, T0).await.unwrap(),
        allowed(2)
    );
    // check_rate records nothing.
    assert_eq!(
        s.check_rate(key, limit, window, T0).await.unwrap(),
        allowed(2)
    );
    assert_eq!(
        s.take_rate(key, limit, window, T0).await.unwrap(),
        allowed(2)
    );
    assert_eq!(
        s.take_rate(key, limit, window, T0 + 10).await.unwrap(),
        allowed(1)
    );
    assert_eq!(
        s.take_rate(key, limit, window, T0 + 20).await.unwrap(),
        allowed(0)
    );
    // Full: the event at T0 leaves the window at T0 + 100.
    assert_eq!(
        s.take_rate(key, limit, window, T0 + 30).await.unwrap(),
        denied(70)
    );
    assert_eq!(
        s.check_rate(key, limit, window, T0 + 99).await.unwrap(),
        denied(1)
    );
    // A denial records nothing, so the window opens exactly on time.
    assert_eq!(
        s.take_rate(key, limit, window, T0 + 100).await.unwrap(),
        allowed(0)
    );
    assert_eq!(
        s.take_rate(key, limit, window, T0 + 101).await.unwrap(),
        denied(9)
    );
    // Other keys and other limits are independent.
    assert_eq!(
        s.take_rate("newOrder:other", limit, window, T0 + 101)
            .await
            .unwrap(),
        allowed(2)
    );
    assert_eq!(
        s.check_rate(key, 10, window, T0 + 101).await.unwrap(),
        allowed(6)
    );
    // A limit of zero admits nothing.
    assert!(matches!(
        s.take_rate("closed", 0, window, T0).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 100
        }
    ));
    // Long after, everything has left the window.
    assert_eq!(
        s.take_rate(key, limit, window, T0 + 1_000).await.unwrap(),
        allowed(2)
    );
}

pub async fn rate_record_counts(s: &dyn Storage) {
    let key = "failedValidation:acct:example.com";
    for at in [T0, T0 + 1, T0 + 2, T0 + 3] {
        s.record_rate(key, at).await.unwrap();
    }
    // Four recorded, limit 2: a new one fits once the 3rd oldest (T0 + 2) has left.
    assert_eq!(
        s.check_rate(key, 2, 60, T0 + 10).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 52
        }
    );
    assert_eq!(
        s.take_rate(key, 4, 60, T0 + 10).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 50
        }
    );
    assert_eq!(
        s.take_rate(key, 5, 60, T0 + 10).await.unwrap(),
        RateDecision::Allowed { remaining: 0 }
    );
    assert_eq!(
        s.check_rate(key, 2, 60, T0 + 62).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 1
        }
    );
    assert_eq!(
        s.check_rate(key, 2, 60, T0 + 63).await.unwrap(),
        RateDecision::Allowed { remaining: 0 }
    );
}

pub async fn rate_prune(s: &dyn Storage) {
    for at in 0..10 {
        s.record_rate("a", T0 + at).await.unwrap();
        s.record_rate("b", T0 + at).await.unwrap();
    }
    assert_eq!(s.prune_rate(T0).await.unwrap(), 0);
    assert_eq!(s.prune_rate(T0 + 5).await.unwrap(), 10);
    assert_eq!(s.prune_rate(T0 + 5).await.unwrap(), 0);
    // What is left still counts: five per key in a window that covers them all.
    assert_eq!(
        s.check_rate("a", 100, 1_000, T0 + 10).await.unwrap(),
        RateDecision::Allowed { remaining: 94 }
    );
    assert_eq!(s.prune_rate(i64::MAX).await.unwrap(), 10);
    assert_eq!(
        s.check_rate("b", 1, 1_000, T0 + 10).await.unwrap(),
        RateDecision::Allowed { remaining: 0 }
    );
}

pub async fn set_replaced_by_cas(s: &dyn Storage) {
    let o = seed_order(s, "acct", "o1").await;
    s.reserve_serial("0a", "o1", 1).await.unwrap();
    s.insert_certificate(&cert("0a", "acct", "o1"), &o)
        .await
        .unwrap();
    assert_eq!(
        s.get_certificate("0a").await.unwrap().unwrap().replaced_by,
        None
    );

    // Wrong expectation: no change.
    assert!(!s.set_replaced_by("0a", "r1", Some("zz")).await.unwrap());
    assert!(s.set_replaced_by("0a", "r1", None).await.unwrap());
    assert!(!s.set_replaced_by("0a", "r2", None).await.unwrap());
    let got = s.get_certificate("0a").await.unwrap().unwrap();
    assert_eq!(got.replaced_by.as_deref(), Some("r1"));
    assert_eq!(got.der, cert("0a", "acct", "o1").der);
    // Handing over from a failed renewal order to a new one.
    assert!(s.set_replaced_by("0a", "r2", Some("r1")).await.unwrap());
    assert!(!s.set_replaced_by("0a", "r3", Some("r1")).await.unwrap());
    assert_eq!(
        s.get_certificate("0a")
            .await
            .unwrap()
            .unwrap()
            .replaced_by
            .as_deref(),
        Some("r2")
    );
    let r = s.set_replaced_by("ff", "r1", None).await;
    assert!(
        matches!(r, Err(StoreError::NotFound("certificate"))),
        "{r:?}"
    );
    // Revocation leaves the field alone.
    assert!(s.revoke_certificate("0a", 4, T0).await.unwrap());
    let got = s.get_certificate("0a").await.unwrap().unwrap();
    assert_eq!(
        (got.replaced_by.as_deref(), got.revoked_reason),
        (Some("r2"), Some(4))
    );
}

/// 2 × `limit` tasks take one key at the same instant: exactly `limit` are allowed, each
/// with a distinct `remaining`, and the rest are told to wait the whole window.
pub async fn take_rate_race(s: Arc<dyn Storage>) {
    const LIMIT: u32 = 20;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2 * LIMIT {
        let s = Arc::clone(&s);
        tasks.spawn(async move { s.take_rate("race", LIMIT, 3_600, T0).await.unwrap() });
    }
    let (mut remaining, mut denied) = (Vec::new(), Vec::new());
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            RateDecision::Allowed { remaining: n } => remaining.push(n),
            RateDecision::Denied { retry_after_secs } => denied.push(retry_after_secs),
        }
    }
    remaining.sort_unstable();
    assert_eq!(remaining, (0..LIMIT).collect::<Vec<_>>());
    assert_eq!(denied, vec![3_600; LIMIT as usize]);
    assert_eq!(
        s.check_rate("race", LIMIT, 3_600, T0 + 1).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 3_599
        }
    );
}

/// Eight new accounts race to bind one EAB key: exactly one is created and bound.
pub async fn eab_binding_race(s: Arc<dyn Storage>) {
    s.insert_eab_key("shared", b"mac", T0).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let s = Arc::clone(&s);
        tasks.spawn(async move {
            let a = account(&format!("a{i}"), &format!("tp{i}"));
            (i, s.insert_account_with_eab(&a, "shared").await)
        });
    }
    let mut winners = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(StoreError::Duplicate("eab binding"))) => {}
            (i, Err(e)) => panic!("account {i}: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let bound = s.get_eab_key("shared").await.unwrap().unwrap().account_id;
    assert_eq!(bound, Some(format!("a{}", winners[0])));
    for i in 0..8 {
        let exists = s.get_account(&format!("a{i}")).await.unwrap().is_some();
        assert_eq!(exists, i == winners[0], "account a{i}");
    }
}
