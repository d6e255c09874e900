//! Throughput probe for the SQLite store: concurrent issuance sequences
//! (take_rate → insert_order → get_order → cas_order → reserve_serial → insert_certificate),
//! the write pattern of one RFC 8555 §7.4 order. Prints orders/s and process CPU per order;
//! asserts nothing about timing.
//!
//! `cargo run --release -p arbor-store --example store_bench -- [workers] [orders]`

use std::sync::Arc;
use std::time::Instant;

use arbor_store::*;

fn order(id: &str) -> OrderRecord {
    OrderRecord {
        id: id.into(),
        account_id: "acct".into(),
        status: OrderStatus::Ready,
        expires: 1_800_000_000,
        identifiers: vec![Identifier::dns(format!("{id}.example.com"))],
        not_before: None,
        not_after: None,
        authz_ids: vec![format!("{id}-az")],
        error: None,
        csr: None,
        cert_serial: None,
        profile: None,
        replaces: None,
        created_at: 1_700_000_000,
        processing_since: None,
    }
}

fn authz(o: &OrderRecord) -> AuthzRecord {
    AuthzRecord {
        id: o.authz_ids[0].clone(),
        account_id: "acct".into(),
        identifier: o.identifiers[0].clone(),
        wildcard: false,
        status: AuthzStatus::Valid,
        expires: 1_800_000_000,
        challenges: Vec::new(),
        validated_at: Some(1_700_000_000),
        created_at: 1_700_000_000,
    }
}

/// Write calls in one [`issue`] sequence (take_rate, insert_order, cas_order,
/// reserve_serial, insert_certificate).
const WRITES_PER_ORDER: f64 = 5.0;

async fn issue(s: &dyn Storage, n: usize) -> Result<()> {
    let id = &format!("o{n}");
    // The newOrder rate check, spread over 1000 accounts' keys; a denial is still counted
    // work, so the bench carries on either way.
    let key = format!("newOrder:acct{}", n % 1000);
    let _ = s.take_rate(&key, 300, 3 * 3600, 1_700_000_000).await?;
    let mut o = order(id);
    s.insert_order(&o, &[authz(&o)]).await?;
    let _ = s.get_order(id).await?;
    o.status = OrderStatus::Processing;
    o.csr = Some(vec![0x30; 600]);
    if !s.cas_order(&o, OrderStatus::Ready).await? {
        return Err(StoreError::Backend("lost a cas with no rival".into()));
    }
    let serial = format!("{:032x}", n + 1);
    s.reserve_serial(&serial, id, 1_700_000_001).await?;
    o.status = OrderStatus::Valid;
    o.cert_serial = Some(serial.clone());
    let cert = CertificateRecord {
        serial,
        account_id: "acct".into(),
        order_id: id.into(),
        issuer_id: "int".into(),
        der: vec![0x30; 1100],
        spki_sha256: "00".repeat(32),
        identifiers: o.identifiers.clone(),
        not_before: 1_700_000_000,
        not_after: 1_707_776_000,
        revoked_at: None,
        revoked_reason: None,
        issued_at: 1_700_000_001,
        replaced_by: None,
    };
    s.insert_certificate(&cert, &o).await
}

/// User + system CPU seconds of this process, from /proc (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on every mainstream Linux configuration.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let workers = args.next().and_then(|r| r.ok()).unwrap_or(32).max(1);
    let orders = args.next().and_then(|r| r.ok()).unwrap_or(4000).max(1);
    let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(e.to_string()))?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
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
            created_at: 0,
            created_ip: None,
        })
        .await?;

    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            for i in (w..orders).step_by(workers) {
                issue(&*store, i).await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| StoreError::Backend(e.to_string()))??;
    }
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    println!(
        "{orders} orders, {workers} workers: {:.0} orders/s, {:.0} writes/s, {:.3} ms CPU/order",
        orders as f64 / wall,
        WRITES_PER_ORDER * orders as f64 / wall,
        1000.0 * cpu / orders as f64,
    );
    Ok(())
}
