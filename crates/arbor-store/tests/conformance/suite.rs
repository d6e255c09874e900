//! The backend-independent conformance checks: each takes a fresh, empty store.

use std::collections::HashSet;
use std::sync::Arc;

use arbor_store::*;

use super::fixtures::*;

pub async fn account_roundtrip(s: &dyn Storage) {
    let a = account("acct1", "tp1");
    s.insert_account(&a).await.unwrap();
    assert_eq!(s.get_account("acct1").await.unwrap(), Some(a.clone()));
    assert_eq!(
        s.get_account_by_thumbprint("tp1").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.get_account("nope").await.unwrap(), None);
    assert_eq!(s.get_account_by_thumbprint("nope").await.unwrap(), None);

    // Key change + deactivation: the old thumbprint no longer finds it.
    let mut b = a.clone();
    b.thumbprint = "tp1-new".into();
    b.status = AccountStatus::Deactivated;
    b.contact.clear();
    s.update_account(&b).await.unwrap();
    assert_eq!(s.get_account("acct1").await.unwrap(), Some(b.clone()));
    assert_eq!(s.get_account_by_thumbprint("tp1").await.unwrap(), None);
    assert_eq!(
        s.get_account_by_thumbprint("tp1-new").await.unwrap(),
        Some(b)
    );

    let ghost = account("ghost", "tp-ghost");
    assert!(matches!(
        s.update_account(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn duplicate_thumbprint(s: &dyn Storage) {
    s.insert_account(&account("a1", "same")).await.unwrap();
    let r = s.insert_account(&account("a2", "same")).await;
    assert!(
        matches!(r, Err(StoreError::Duplicate("account key"))),
        "{r:?}"
    );
    assert_eq!(s.get_account("a2").await.unwrap(), None);

    // Rolling a key over to one another account holds is refused too.
    s.insert_account(&account("a3", "other")).await.unwrap();
    let mut a3 = account("a3", "same");
    a3.contact = vec!["mailto:changed@example.org".into()];
    let r = s.update_account(&a3).await;
    assert!(
        matches!(r, Err(StoreError::Duplicate("account key"))),
        "{r:?}"
    );
    assert_eq!(
        s.get_account("a3").await.unwrap().unwrap().thumbprint,
        "other"
    );
}

pub async fn order_and_authz_roundtrip(s: &dyn Storage) {
    let o = seed_order(s, "acct", "o1").await;
    assert_eq!(s.get_order("o1").await.unwrap(), Some(o.clone()));
    let az = s.get_authz(&o.authz_ids[0]).await.unwrap().unwrap();
    assert_eq!(az.identifier, Identifier::dns("a.example.com"));
    assert_eq!(az.challenges.len(), 1);
    assert_eq!(s.get_authz("missing").await.unwrap(), None);

    let mut az2 = az.clone();
    az2.status = AuthzStatus::Invalid;
    az2.challenges[0].status = ChallengeStatus::Invalid;
    az2.challenges[0].error = Some(arbor_proto::Problem::new(
        arbor_proto::ProblemType::Connection,
        "connection refused",
    ));
    s.update_authz(&az2).await.unwrap();
    assert_eq!(s.get_authz(&az.id).await.unwrap(), Some(az2));

    let mut o2 = o.clone();
    o2.status = OrderStatus::Invalid;
    o2.error = Some(arbor_proto::Problem::new(
        arbor_proto::ProblemType::Unauthorized,
        "no",
    ));
    s.update_order(&o2).await.unwrap();
    assert_eq!(s.get_order("o1").await.unwrap(), Some(o2));

    let ghost = order("ghost", "acct", OrderStatus::Ready, 1);
    assert!(matches!(
        s.update_order(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
    let lone = authz("ghost-az", "acct", "x.example", AuthzStatus::Valid, 2);
    assert!(matches!(
        s.update_authz(&lone).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn insert_order_is_atomic(s: &dyn Storage) {
    let o = seed_order(s, "acct", "o1").await;
    // A second order reusing an existing authz id must fail and leave nothing behind.
    let o2 = order("o2", "acct", OrderStatus::Pending, 1_700_000_200);
    let fresh = authz(
        "o2-az1",
        "acct",
        "c.example.com",
        AuthzStatus::Pending,
        1_800_000_000,
    );
    let clash = authz(
        &o.authz_ids[0],
        "acct",
        "d.example.com",
        AuthzStatus::Pending,
        1,
    );
    assert!(s.insert_order(&o2, &[fresh, clash]).await.is_err());
    assert_eq!(s.get_order("o2").await.unwrap(), None);
    assert_eq!(s.get_authz("o2-az1").await.unwrap(), None);
}

pub async fn serial_and_certificate(s: &dyn Storage) {
    let o = seed_order(s, "acct", "o1").await;
    s.reserve_serial("0abc", "o1", 1_700_000_300).await.unwrap();
    let r = s.reserve_serial("0abc", "o1", 1_700_000_301).await;
    assert!(matches!(r, Err(StoreError::Duplicate("serial"))), "{r:?}");

    // A certificate whose serial was never reserved is refused.
    let stray = cert("dead", "acct", "o1");
    assert!(s.insert_certificate(&stray, &o).await.is_err());
    assert_eq!(s.get_certificate("dead").await.unwrap(), None);

    let c = cert("0abc", "acct", "o1");
    let mut valid = o.clone();
    valid.status = OrderStatus::Valid;
    valid.cert_serial = Some("0abc".into());
    s.insert_certificate(&c, &valid).await.unwrap();
    assert_eq!(s.get_certificate("0abc").await.unwrap(), Some(c.clone()));
    assert_eq!(s.get_order("o1").await.unwrap(), Some(valid.clone()));

    let r = s.insert_certificate(&c, &valid).await;
    assert!(matches!(r, Err(StoreError::Duplicate("serial"))), "{r:?}");
    assert_eq!(s.get_certificate("ffff").await.unwrap(), None);
}

pub async fn revoke_twice(s: &dyn Storage) {
    let o = seed_order(s, "acct", "o1").await;
    for serial in ["01", "02"] {
        s.reserve_serial(serial, "o1", 1).await.unwrap();
        s.insert_certificate(&cert(serial, "acct", "o1"), &o)
            .await
            .unwrap();
    }
    assert!(s.list_revoked("int-1").await.unwrap().is_empty());
    assert!(s.revoke_certificate("01", 4, 1_700_000_500).await.unwrap());
    assert!(!s.revoke_certificate("01", 1, 1_700_000_600).await.unwrap());
    let got = s.get_certificate("01").await.unwrap().unwrap();
    assert_eq!(
        (got.revoked_at, got.revoked_reason),
        (Some(1_700_000_500), Some(4))
    );
    let revoked = s.list_revoked("int-1").await.unwrap();
    assert_eq!(
        revoked
            .iter()
            .map(|c| c.serial.as_str())
            .collect::<Vec<_>>(),
        ["01"]
    );
    assert!(s.list_revoked("int-2").await.unwrap().is_empty());
    assert!(s.revoke_certificate("99", 0, 1).await.is_err());
}

pub async fn list_orders_pagination(s: &dyn Storage) {
    s.insert_account(&account("acct", "tp")).await.unwrap();
    s.insert_account(&account("other", "tp-o")).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..25 {
        // Three orders share each timestamp, so the id tie-break is exercised.
        let o = order(
            &format!("ord-{i:02}"),
            "acct",
            OrderStatus::Pending,
            1000 + i / 3,
        );
        s.insert_order(&o, &[]).await.unwrap();
        expected.push((o.created_at, o.id));
    }
    s.insert_order(&order("foreign", "other", OrderStatus::Pending, 1010), &[])
        .await
        .unwrap();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let page = s.list_orders("acct", cursor.as_deref(), 10).await.unwrap();
        sizes.push(page.len());
        if page.is_empty() {
            break;
        }
        cursor = page.last().cloned();
        got.extend(page);
    }
    assert_eq!(sizes, [10, 10, 5, 0]);
    assert_eq!(got, expected);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 25);
    assert!(s.list_orders("nobody", None, 10).await.unwrap().is_empty());
}

pub async fn find_reusable_authz(s: &dyn Storage) {
    let now = 1_750_000_000;
    s.insert_account(&account("acct", "tp")).await.unwrap();
    s.insert_account(&account("other", "tp-o")).await.unwrap();
    let name = Identifier::dns("www.example.com");
    let mk = |id: &str, acct: &str, status, expires, created| {
        let mut a = authz(id, acct, "www.example.com", status, expires);
        a.created_at = created;
        a
    };
    let o = order("o", "acct", OrderStatus::Pending, 1);
    let oo = order("oo", "other", OrderStatus::Pending, 1);
    s.insert_order(
        &oo,
        &[mk("theirs", "other", AuthzStatus::Valid, now + 99, 50)],
    )
    .await
    .unwrap();
    s.insert_order(
        &o,
        &[
            mk("expired", "acct", AuthzStatus::Valid, now, 90),
            mk("invalid", "acct", AuthzStatus::Invalid, now + 99, 91),
            mk("pending", "acct", AuthzStatus::Pending, now + 99, 92),
        ],
    )
    .await
    .unwrap();
    let find = |pending| s.find_reusable_authz("acct", &name, now, pending);
    assert_eq!(find(false).await.unwrap(), None);
    assert!(!s.has_valid_authz("acct", &name, now).await.unwrap());
    assert_eq!(find(true).await.unwrap().unwrap().id, "pending");

    let o2 = order("o2", "acct", OrderStatus::Pending, 2);
    let old = mk("valid-old", "acct", AuthzStatus::Valid, now + 10, 10);
    let new = mk("valid-new", "acct", AuthzStatus::Valid, now + 10, 20);
    let mut wild = mk("wild", "acct", AuthzStatus::Valid, now + 10, 30);
    wild.wildcard = true;
    s.insert_order(&o2, &[old, new, wild]).await.unwrap();
    assert_eq!(find(false).await.unwrap().unwrap().id, "valid-new");
    assert_eq!(find(true).await.unwrap().unwrap().id, "valid-new");
    assert!(s.has_valid_authz("acct", &name, now).await.unwrap());
    assert!(!s.has_valid_authz("acct", &name, now + 10).await.unwrap());
    let star = Identifier::dns("*.www.example.com");
    let w = s
        .find_reusable_authz("acct", &star, now, false)
        .await
        .unwrap();
    assert_eq!(w.unwrap().id, "wild");
    let other_name = Identifier::dns("example.com");
    assert_eq!(
        s.find_reusable_authz("acct", &other_name, now, true)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_reusable_authz("nobody", &name, now, true)
            .await
            .unwrap(),
        None
    );
}

pub async fn list_processing_orders(s: &dyn Storage) {
    s.insert_account(&account("acct", "tp")).await.unwrap();
    for (id, st) in [
        ("p1", OrderStatus::Processing),
        ("r1", OrderStatus::Ready),
        ("p2", OrderStatus::Processing),
        ("v1", OrderStatus::Valid),
    ] {
        let mut o = order(id, "acct", st, 5);
        o.processing_since = (st == OrderStatus::Processing).then_some(6);
        s.insert_order(&o, &[]).await.unwrap();
    }
    let mut got: Vec<_> = s.list_processing_orders().await.unwrap();
    got.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        got.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["p1", "p2"]
    );
    assert_eq!(got[0].processing_since, Some(6));
}

/// 16 tasks race to move one order from `ready` to `processing`: exactly one wins.
pub async fn cas_order_race(s: Arc<dyn Storage>) {
    let o = seed_order(&*s, "acct", "o1").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let s = Arc::clone(&s);
        let mut next = o.clone();
        next.status = OrderStatus::Processing;
        next.processing_since = Some(i);
        tasks.spawn(async move { (i, s.cas_order(&next, OrderStatus::Ready).await.unwrap()) });
    }
    let mut winners = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (i, won) = r.unwrap();
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = s.get_order("o1").await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Processing);
    assert_eq!(stored.processing_since, Some(winners[0]));
}

/// Concurrent writes (grouped into shared transactions by batching backends) each get
/// their own correct answer: one duplicate must not fail its neighbours.
pub async fn concurrent_writes_isolated(s: Arc<dyn Storage>) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let s = Arc::clone(&s);
        // Accounts 0..10 share one thumbprint; the rest are unique.
        let tp = if i < 10 {
            "shared".to_string()
        } else {
            format!("tp{i}")
        };
        tasks.spawn(async move { (i, s.insert_account(&account(&format!("a{i}"), &tp)).await) });
    }
    let (mut ok, mut dup) = (Vec::new(), 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            (i, Ok(())) => ok.push(i),
            (i, Err(StoreError::Duplicate("account key"))) if i < 10 => dup += 1,
            (i, Err(e)) => panic!("account {i}: {e}"),
        }
    }
    assert_eq!((ok.len(), dup), (31, 9));
    for i in ok {
        assert!(s.get_account(&format!("a{i}")).await.unwrap().is_some());
    }
}

/// Concurrent multi-statement writes: orders whose authorization ids clash fail whole
/// (no order row left behind), without disturbing the orders written beside them.
pub async fn concurrent_orders_isolated(s: Arc<dyn Storage>) {
    s.insert_account(&account("acct", "tp")).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let s = Arc::clone(&s);
        tasks.spawn(async move {
            let o = order(&format!("o{i}"), "acct", OrderStatus::Pending, i);
            // Orders 0..6 all try to create the same authorization id.
            let az_id = if i < 6 {
                "shared-az".to_string()
            } else {
                format!("az{i}")
            };
            let az = authz(&az_id, "acct", "a.example.com", AuthzStatus::Pending, 99);
            (i, s.insert_order(&o, &[az]).await.is_ok())
        });
    }
    let mut shared_ok = 0;
    while let Some(r) = tasks.join_next().await {
        let (i, ok) = r.unwrap();
        let stored = s.get_order(&format!("o{i}")).await.unwrap();
        assert_eq!(
            stored.is_some(),
            ok,
            "order {i}: reply and storage disagree"
        );
        if i < 6 {
            shared_ok += usize::from(ok);
        } else {
            assert!(ok, "order {i} failed beside a clashing neighbour");
        }
    }
    assert_eq!(shared_ok, 1);
    assert_eq!(s.list_orders("acct", None, 100).await.unwrap().len(), 25);
}
