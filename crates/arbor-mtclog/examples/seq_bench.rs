//! Sequencer benchmark on the durable filesystem backend (fsync on every
//! write): durable entries/s for one round over 1k/10k/100k pending entries,
//! then submit→answer latency (p50/p99) at a steady submission rate with the
//! default 100 ms sequencing interval.
//! `cargo run --release -p arbor-mtclog --example seq_bench [rate/s] [seconds]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use arbor_mtc::TrustAnchorId;
use arbor_mtclog::{
    Ed25519MessageSigner, FileLock, FsStorage, IssuanceLog, LogConfig, LogKeys, SystemClock,
};
use arbor_tlog::keys::Ed25519Signer;

/// A log entry of realistic size (a TBSCertificateLogEntry is a few hundred bytes).
fn entry(i: u64) -> Vec<u8> {
    let mut e = vec![0u8; 300];
    e[..8].copy_from_slice(&i.to_be_bytes());
    e
}

async fn new_log(dir: &std::path::Path, interval: Duration) -> Arc<IssuanceLog> {
    let ca_id = TrustAnchorId::from_components(&[32473, 1]).expect("ca id");
    let mut cfg = LogConfig::new(ca_id, 1);
    cfg.sequence_interval = interval;
    let keys = LogKeys {
        log_key: Arc::new(
            Ed25519Signer::from_seed(&cfg.origin().expect("origin"), &[1; 32]).expect("log key"),
        ),
        ca_cosigner: Arc::new(Ed25519MessageSigner::from_seed(&[2; 32]).expect("ca key")),
    };
    IssuanceLog::create(
        cfg,
        keys,
        Arc::new(FsStorage::new(dir.join("objects")).expect("storage")),
        Arc::new(FileLock::open(dir.join("lock")).expect("lock")),
        Arc::new(SystemClock),
    )
    .await
    .expect("create")
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);

    println!("== one round over N pending entries (fs backend, fsync) ==");
    for n in [1_000u64, 10_000, 100_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = new_log(dir.path(), Duration::from_secs(3600)).await;
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move { log.submit(entry(i)).await })
            })
            .collect();
        while (log.pending_len() as u64) < n {
            tokio::task::yield_now().await;
        }
        let t = Instant::now();
        log.run_round().await.expect("round");
        for task in tasks {
            task.await.expect("join").expect("sequenced");
        }
        let el = t.elapsed();
        println!(
            "pending {n:>6}: {:>8.1} ms, {:>9.0} durable entries/s",
            el.as_secs_f64() * 1e3,
            n as f64 / el.as_secs_f64()
        );
    }

    println!("== steady {rate}/s for {secs}s, sequence_interval 100 ms ==");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = new_log(dir.path(), Duration::from_millis(100)).await;
    let total = rate * secs;
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + gap * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            log.submit(entry(i)).await.expect("sequenced");
            t.elapsed()
        }));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    for t in tasks {
        lat.push(t.await.expect("join"));
    }
    lat.sort();
    println!(
        "{} entries: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, final size {}",
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        log.checkpoint().checkpoint.size
    );
}
