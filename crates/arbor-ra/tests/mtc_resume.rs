//! Resuming MTC issuance in the RA (draft-ietf-plants-merkle-tree-certs §9) over SQLite
//! behind the fault-injecting store and an in-memory issuance log: a store failure after
//! the log answered leaves the order in `processing` (not `invalid` beside an orphaned
//! entry); `recover` then adopts the logged entry without appending again, with the same
//! notBefore; an identical request of another order does not take an entry that already
//! has a certificate; an order whose request cannot be built still becomes `invalid`.

use arbor_ra::{
    FindFuture, IssueFuture, MtcIssueError, MtcIssued, MtcIssuer, MtcRequest, Profile, Ra,
    RaConfig, TestClock,
};
use arbor_store::{
    AccountRecord, AccountStatus, FaultKind, FaultyStore, Identifier, OrderRecord, OrderStatus,
    SqliteStore, Storage, WriteMethod,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const T0: i64 = 1_780_000_000;

/// An issuance log in memory: every `issue` appends; `find_logged` compares requests.
#[derive(Default)]
struct MemLog {
    entries: Mutex<Vec<MtcRequest>>,
}

fn issued(index: usize) -> MtcIssued {
    let serial = (1u64 << 48) | index as u64;
    MtcIssued {
        serial,
        der: serial.to_be_bytes().to_vec(),
        issuer_id: "mtc-1".into(),
    }
}

impl MtcIssuer for MemLog {
    fn issue<'a>(&'a self, req: &'a MtcRequest) -> IssueFuture<'a> {
        Box::pin(async move {
            let mut e = self.entries.lock().unwrap();
            e.push(req.clone());
            Ok(issued(e.len() - 1))
        })
    }

    fn find_logged<'a>(&'a self, req: &'a MtcRequest) -> FindFuture<'a> {
        Box::pin(async move {
            let e = self.entries.lock().unwrap();
            Ok((0..e.len())
                .filter(|&i| &e[i] == req)
                .map(|i| issued(i).serial)
                .collect())
        })
    }

    fn certify_logged<'a>(&'a self, req: &'a MtcRequest, serial: u64) -> IssueFuture<'a> {
        Box::pin(async move {
            let i = (serial & 0xffff_ffff_ffff) as usize;
            match self.entries.lock().unwrap().get(i) {
                Some(e) if e == req => Ok(issued(i)),
                _ => Err(MtcIssueError(format!("entry {i} is not this request's"))),
            }
        })
    }
}

async fn ra(dir: &std::path::Path, store: Arc<FaultyStore<SqliteStore>>, log: Arc<MemLog>) -> Ra {
    let ca_cfg = arbor_ca::CaConfig {
        aia_base_url: "http://127.0.0.1:1/aia".into(),
        crl_base_url: "http://127.0.0.1:1/crl".into(),
        organization: "Arbor Test CA".into(),
    };
    let hierarchy = arbor_ca::Hierarchy::load_or_generate(dir, &ca_cfg, T0).unwrap();
    let va = arbor_va::Va::new(arbor_va::VaConfig {
        resolver: arbor_va::ResolverConfig::Fixed("127.0.0.1".parse().unwrap()),
        http_port: 1,
        tls_port: 1,
        allow_loopback: true,
        timeout: Duration::from_secs(1),
        max_body: 1024,
    })
    .unwrap();
    let mut cfg = RaConfig::default();
    cfg.profiles.push(Profile::mtc());
    let ra = Ra::new(
        store,
        va,
        Arc::new(hierarchy),
        cfg,
        Arc::new(TestClock::new(T0 + 5_000)),
    );
    assert!(ra.set_mtc_issuer(log));
    ra
}

/// An order left in `processing` since `T0` with a CSR for `name`.
async fn processing_order(store: &dyn Storage, id: &str, name: &str, csr: &[u8]) {
    let order = OrderRecord {
        id: id.into(),
        account_id: "acct".into(),
        status: OrderStatus::Processing,
        expires: T0 + 86_400,
        identifiers: vec![Identifier::dns(name)],
        not_before: None,
        not_after: None,
        authz_ids: Vec::new(),
        error: None,
        csr: Some(csr.to_vec()),
        cert_serial: None,
        profile: Some("mtc".into()),
        replaces: None,
        created_at: T0,
        processing_since: Some(T0),
    };
    store.insert_order(&order, &[]).await.unwrap();
}

#[tokio::test]
async fn store_failure_keeps_processing_and_recovery_adopts_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("arbor.db"))
        .await
        .unwrap();
    let store = Arc::new(FaultyStore::new(sqlite));
    store
        .insert_account(&AccountRecord {
            id: "acct".into(),
            jwk: "{}".into(),
            thumbprint: "tp".into(),
            status: AccountStatus::Valid,
            contact: Vec::new(),
            tos_agreed: true,
            eab_kid: None,
            eab_jws: None,
            created_at: T0,
            created_ip: None,
        })
        .await
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    // Empty subject: rcgen's default CN is not a SAN, which the CSR parser refuses.
    let mut params = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).unwrap().der().to_vec();
    arbor_ca::parse_csr(&csr).expect("CSR");
    processing_order(store.as_ref(), "o1", "a.example", &csr).await;
    let log = Arc::new(MemLog::default());

    // The log appends, then the certificate commit fails: the order stays processing.
    let ra1 = ra(dir.path(), store.clone(), log.clone()).await;
    store.fail_method(WriteMethod::InsertCertificate, FaultKind::Before, 1);
    assert_eq!(ra1.recover().await.unwrap(), 1);
    let o = store.get_order("o1").await.unwrap().unwrap();
    assert_eq!(
        o.status,
        OrderStatus::Processing,
        "not invalid: {:?}",
        o.error
    );
    assert_eq!(log.entries.lock().unwrap().len(), 1);
    assert_eq!(
        log.entries.lock().unwrap()[0].not_before,
        T0,
        "processing_since"
    );

    // The next start-up adopts entry 0 (its serial is already reserved) and appends nothing.
    let ra2 = ra(dir.path(), store.clone(), log.clone()).await;
    assert_eq!(ra2.recover().await.unwrap(), 1);
    let o = store.get_order("o1").await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Valid);
    assert_eq!(o.cert_serial.as_deref(), Some("01000000000000"));
    assert_eq!(log.entries.lock().unwrap().len(), 1, "no second entry");
    let c = store
        .get_certificate("01000000000000")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.order_id.as_str(), c.not_before), ("o1", T0));
    assert_eq!(c.not_after, T0 + 7 * 86_400 - 1);

    // Another order with the identical request finds entry 0 taken and gets its own.
    processing_order(store.as_ref(), "o2", "a.example", &csr).await;
    assert_eq!(ra2.recover().await.unwrap(), 1);
    let o2 = store.get_order("o2").await.unwrap().unwrap();
    assert_eq!(o2.status, OrderStatus::Valid);
    assert_eq!(o2.cert_serial.as_deref(), Some("01000000000001"));
    assert_eq!(log.entries.lock().unwrap().len(), 2);

    // An order whose request cannot even be built was never logged: it fails as before.
    processing_order(store.as_ref(), "o3", "a.example", b"not a CSR").await;
    assert_eq!(ra2.recover().await.unwrap(), 1);
    let o3 = store.get_order("o3").await.unwrap().unwrap();
    assert_eq!(o3.status, OrderStatus::Invalid);
    assert_eq!(log.entries.lock().unwrap().len(), 2);
    assert_eq!(store.injected().len(), 1);
}
