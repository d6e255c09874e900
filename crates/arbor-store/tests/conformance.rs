//! The storage conformance suite, run against every backend (SQLite, and SQLite behind a
//! fault-free `FaultyStore`), plus durability and fault-injection tests.

#[path = "conformance/fixtures.rs"]
mod fixtures;
#[path = "conformance/policy.rs"]
mod policy;
#[path = "conformance/suite.rs"]
mod suite;

use std::path::Path;
use std::sync::Arc;

use arbor_store::*;
use fixtures::*;

async fn sqlite(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("nested/dir/arbor.db"))
        .await
        .unwrap()
}

/// Runs each named suite function against both backends, each on a fresh database.
macro_rules! conformance {
    ($($suite:ident :: $name:ident),* $(,)?) => {
        mod on_sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = sqlite(dir.path()).await;
                    $suite::$name(&store).await;
                    store.close().await;
                }
            )*
        }
        mod on_faulty_sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = FaultyStore::new(sqlite(dir.path()).await);
                    $suite::$name(&store).await;
                    assert!(store.injected().is_empty());
                    store.into_inner().close().await;
                }
            )*
        }
    };
}

conformance!(
    suite::account_roundtrip,
    suite::duplicate_thumbprint,
    suite::order_and_authz_roundtrip,
    suite::insert_order_is_atomic,
    suite::serial_and_certificate,
    suite::revoke_twice,
    suite::list_orders_pagination,
    suite::find_reusable_authz,
    suite::list_processing_orders,
    policy::eab_roundtrip,
    policy::eab_binding_errors,
    policy::rate_window_slides,
    policy::rate_record_counts,
    policy::rate_prune,
    policy::set_replaced_by_cas,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_rate_race_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    policy::take_rate_race(Arc::new(sqlite(dir.path()).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_rate_race_faulty() {
    let dir = tempfile::tempdir().unwrap();
    policy::take_rate_race(Arc::new(FaultyStore::new(sqlite(dir.path()).await))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eab_binding_race_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    policy::eab_binding_race(Arc::new(sqlite(dir.path()).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eab_binding_race_faulty() {
    let dir = tempfile::tempdir().unwrap();
    policy::eab_binding_race(Arc::new(FaultyStore::new(sqlite(dir.path()).await))).await;
}

#[tokio::test]
async fn rate_events_and_eab_keys_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path()).await;
    let t = 1_750_000_000;
    for i in 0..3 {
        let d = store.take_rate("k", 3, 600, t + i).await.unwrap();
        assert_eq!(
            d,
            RateDecision::Allowed {
                remaining: 2 - i as u32
            }
        );
    }
    store.record_rate("f", t).await.unwrap();
    store.insert_eab_key("kid-a", b"secret-a", t).await.unwrap();
    store.insert_eab_key("kid-b", b"secret-b", t).await.unwrap();
    store
        .insert_account_with_eab(&account("acct", "tp"), "kid-a")
        .await
        .unwrap();
    let o = seed_order(&store, "acct", "o1").await;
    store.reserve_serial("0b", "o1", t).await.unwrap();
    store
        .insert_certificate(&cert("0b", "acct", "o1"), &o)
        .await
        .unwrap();
    assert!(store.set_replaced_by("0b", "o9", None).await.unwrap());
    drop(store);

    let store = sqlite(dir.path()).await;
    // The limit is still reached after the restart.
    assert_eq!(
        store.take_rate("k", 3, 600, t + 10).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 590
        }
    );
    assert_eq!(
        store.check_rate("f", 1, 600, t + 10).await.unwrap(),
        RateDecision::Denied {
            retry_after_secs: 590
        }
    );
    let a = store.get_eab_key("kid-a").await.unwrap().unwrap();
    assert_eq!(
        (a.hmac_key.as_slice(), a.account_id.as_deref()),
        (&b"secret-a"[..], Some("acct"))
    );
    let b = store.get_eab_key("kid-b").await.unwrap().unwrap();
    assert_eq!(
        (b.hmac_key.as_slice(), b.account_id),
        (&b"secret-b"[..], None)
    );
    let r = store.insert_eab_key("kid-a", b"x", t).await;
    assert!(matches!(r, Err(StoreError::Duplicate("eab kid"))));
    assert_eq!(
        store
            .get_account("acct")
            .await
            .unwrap()
            .unwrap()
            .eab_kid
            .as_deref(),
        Some("kid-a")
    );
    let c = store.get_certificate("0b").await.unwrap().unwrap();
    assert_eq!(c.replaced_by.as_deref(), Some("o9"));
    store.close().await;
}

#[tokio::test]
async fn rate_and_eab_faults() {
    let dir = tempfile::tempdir().unwrap();
    let t = 1_750_000_000;
    let reopened = with_faults(dir.path(), async |s| {
        s.insert_eab_key("kid", b"mac", t).await.unwrap();
        // Failed before: no event recorded, so the single slot is still free.
        s.fail_method(WriteMethod::TakeRate, FaultKind::Before, 1);
        assert!(s.take_rate("one", 1, 60, t).await.is_err());
        // Failed after: the event landed even though the caller saw an error.
        s.fail_method(WriteMethod::TakeRate, FaultKind::After, 1);
        assert!(s.take_rate("two", 1, 60, t).await.is_err());
        s.fail_method(WriteMethod::InsertAccountWithEab, FaultKind::Before, 1);
        assert!(
            s.insert_account_with_eab(&account("a", "tp"), "kid")
                .await
                .is_err()
        );
        s.fail_method(WriteMethod::SetReplacedBy, FaultKind::Before, 1);
        assert!(s.set_replaced_by("nope", "o", None).await.is_err());
        let methods: Vec<_> = s.injected().iter().map(|f| f.method).collect();
        assert_eq!(
            methods,
            [
                WriteMethod::TakeRate,
                WriteMethod::TakeRate,
                WriteMethod::InsertAccountWithEab,
                WriteMethod::SetReplacedBy
            ]
        );
    })
    .await;
    assert_eq!(
        reopened.take_rate("one", 1, 60, t).await.unwrap(),
        RateDecision::Allowed { remaining: 0 }
    );
    assert!(matches!(
        reopened.take_rate("two", 1, 60, t).await.unwrap(),
        RateDecision::Denied { .. }
    ));
    assert_eq!(reopened.get_account("a").await.unwrap(), None);
    assert_eq!(
        reopened
            .get_eab_key("kid")
            .await
            .unwrap()
            .unwrap()
            .account_id,
        None
    );
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_order_race_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    suite::cas_order_race(Arc::new(sqlite(dir.path()).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_order_race_faulty() {
    let dir = tempfile::tempdir().unwrap();
    suite::cas_order_race(Arc::new(FaultyStore::new(sqlite(dir.path()).await))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_isolated_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_writes_isolated(Arc::new(sqlite(dir.path()).await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_isolated_faulty() {
    let dir = tempfile::tempdir().unwrap();
    let store = FaultyStore::new(sqlite(dir.path()).await);
    suite::concurrent_writes_isolated(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_isolated_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_orders_isolated(Arc::new(sqlite(dir.path()).await)).await;
}

#[tokio::test]
async fn durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path()).await;
    let o = seed_order(&store, "acct", "o1").await;
    store.reserve_serial("0a", "o1", 1).await.unwrap();
    let c = cert("0a", "acct", "o1");
    store.insert_certificate(&c, &o).await.unwrap();
    // Dropped without close(): the writer winds down on its own.
    drop(store);

    let store = sqlite(dir.path()).await;
    assert_eq!(store.get_order("o1").await.unwrap(), Some(o));
    assert_eq!(store.get_certificate("0a").await.unwrap(), Some(c));
    assert!(
        store
            .get_account_by_thumbprint("tp-acct")
            .await
            .unwrap()
            .is_some()
    );
    // Uniqueness survives the reopen too.
    let r = store.reserve_serial("0a", "o1", 2).await;
    assert!(matches!(r, Err(StoreError::Duplicate("serial"))));
    store.close().await;
}

#[tokio::test]
async fn schema_version_recorded() {
    let dir = tempfile::tempdir().unwrap();
    sqlite(dir.path()).await.close().await;
    let out = std::process::Command::new("sqlite3")
        .arg(dir.path().join("nested/dir/arbor.db"))
        .arg("SELECT version FROM schema_version; PRAGMA journal_mode;")
        .output();
    // The sqlite3 CLI is an independent reader when installed; skip the check otherwise.
    if let Some(out) = out.ok().filter(|o| o.status.success()) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            [
                arbor_store::sqlite::SCHEMA_VERSION.to_string().as_str(),
                "wal"
            ]
        );
    }
}

/// Wraps a fresh SQLite store, runs `f`, closes, and reopens the file plain.
async fn with_faults<F>(dir: &Path, f: F) -> SqliteStore
where
    F: AsyncFnOnce(&FaultyStore<SqliteStore>),
{
    let store = FaultyStore::new(sqlite(dir).await);
    f(&store).await;
    store.into_inner().close().await;
    sqlite(dir).await
}

#[tokio::test]
async fn fail_before_persists_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reopened = with_faults(dir.path(), async |s| {
        s.insert_account(&account("acct", "tp")).await.unwrap();
        s.fail_method(WriteMethod::InsertOrder, FaultKind::Before, 1);
        let o = order("o1", "acct", OrderStatus::Pending, 1);
        let az = authz("o1-az1", "acct", "a.example.com", AuthzStatus::Pending, 9);
        assert!(matches!(
            s.insert_order(&o, &[az]).await,
            Err(StoreError::Backend(_))
        ));
        assert_eq!(s.get_order("o1").await.unwrap(), None);
        // The fault fired once; the retry goes through.
        let o2 = order("o2", "acct", OrderStatus::Pending, 2);
        s.insert_order(&o2, &[]).await.unwrap();
        let fired = s.injected();
        assert_eq!(fired.len(), 1);
        assert_eq!(
            (fired[0].call, fired[0].method),
            (2, WriteMethod::InsertOrder)
        );
    })
    .await;
    assert_eq!(reopened.get_order("o1").await.unwrap(), None);
    assert_eq!(reopened.get_authz("o1-az1").await.unwrap(), None);
    assert!(reopened.get_order("o2").await.unwrap().is_some());
    reopened.close().await;
}

#[tokio::test]
async fn fail_after_persists() {
    let dir = tempfile::tempdir().unwrap();
    let reopened = with_faults(dir.path(), async |s| {
        s.insert_account(&account("acct", "tp")).await.unwrap();
        s.fail_next_write(FaultKind::After);
        let o = order("o1", "acct", OrderStatus::Pending, 1);
        let az = authz("o1-az1", "acct", "a.example.com", AuthzStatus::Pending, 9);
        assert!(matches!(
            s.insert_order(&o, &[az]).await,
            Err(StoreError::Backend(_))
        ));
        assert!(s.get_order("o1").await.unwrap().is_some());
    })
    .await;
    assert!(reopened.get_order("o1").await.unwrap().is_some());
    assert!(reopened.get_authz("o1-az1").await.unwrap().is_some());
    reopened.close().await;
}

#[tokio::test]
async fn certificate_faults_keep_order_and_cert_together() {
    let dir = tempfile::tempdir().unwrap();
    let reopened = with_faults(dir.path(), async |s| {
        let o = seed_order(s, "acct", "o1").await;
        let o2 = seed_order(s, "acct", "o2").await;
        for (serial, id) in [("01", "o1"), ("02", "o2")] {
            s.reserve_serial(serial, id, 1).await.unwrap();
        }
        let valid = |o: &OrderRecord, serial: &str| {
            let mut v = o.clone();
            v.status = OrderStatus::Valid;
            v.cert_serial = Some(serial.into());
            v
        };
        s.fail_method(WriteMethod::InsertCertificate, FaultKind::Before, 1);
        s.fail_nth_write(s.write_count() + 2, FaultKind::After);
        assert!(
            s.insert_certificate(&cert("01", "acct", "o1"), &valid(&o, "01"))
                .await
                .is_err()
        );
        assert!(
            s.insert_certificate(&cert("02", "acct", "o2"), &valid(&o2, "02"))
                .await
                .is_err()
        );
        assert_eq!(s.injected().len(), 2);
    })
    .await;
    // Failed before: neither the certificate nor the order flip landed.
    assert_eq!(reopened.get_certificate("01").await.unwrap(), None);
    assert_eq!(
        reopened.get_order("o1").await.unwrap().unwrap().status,
        OrderStatus::Ready
    );
    // Failed after: both landed.
    assert!(reopened.get_certificate("02").await.unwrap().is_some());
    assert_eq!(
        reopened.get_order("o2").await.unwrap().unwrap().status,
        OrderStatus::Valid
    );
    reopened.close().await;
}

#[tokio::test]
async fn faults_leave_reads_alone_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let s = FaultyStore::new(sqlite(dir.path()).await);
    s.fail_method(WriteMethod::InsertAccount, FaultKind::Before, 5);
    assert!(s.get_account("x").await.unwrap().is_none());
    assert!(s.insert_account(&account("a", "tp")).await.is_err());
    s.clear();
    s.insert_account(&account("a", "tp")).await.unwrap();
    assert_eq!(s.write_count(), 2);
    assert_eq!(s.injected().len(), 1);
    s.into_inner().close().await;
}

/// The account cache: an account update whose caller gave up waiting (its future dropped
/// once the write was queued, as when a client disconnects) still commits, and reads after
/// the commit never see the cached old row (a deactivated account must stay deactivated).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_account_write_is_never_served_stale() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path()).await;
    let a = account("acct", "tp");
    store.insert_account(&a).await.unwrap();
    assert_eq!(store.get_account("acct").await.unwrap(), Some(a.clone()));
    let mut b = a.clone();
    b.status = AccountStatus::Deactivated;
    {
        // Poll once (the write is queued), then drop the future without awaiting it.
        use std::future::Future;
        let mut fut = std::pin::pin!(store.update_account(&b));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            fut.as_mut().poll(&mut cx).is_pending(),
            "the caller gives up before the commit"
        );
    }
    // The uncached lookup shows when the queued write has committed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.get_account_by_thumbprint("tp").await.unwrap() != Some(b.clone()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the write never committed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(store.get_account("acct").await.unwrap(), Some(b));
    store.close().await;
}
