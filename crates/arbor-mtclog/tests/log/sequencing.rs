use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use arbor_mtclog::reader::TileReader;
use arbor_tlog::{subtree_consistency_proof, verify_subtree_consistency};

use crate::common::*;

const ROUNDS: [usize; 7] = [1, 2, 5, 250, 7, 300, 1];

fn round_of(i: u64) -> usize {
    let mut start = 0u64;
    for (r, n) in ROUNDS.iter().enumerate() {
        if i < start + *n as u64 {
            return r;
        }
        start += *n as u64;
    }
    usize::MAX
}

fn first_of(i: u64) -> u64 {
    ROUNDS[..round_of(i)].iter().map(|n| *n as u64).sum()
}

#[tokio::test]
async fn rounds_prove_against_checkpoints() {
    let env = Env::new();
    let cfg = config();
    let log = env.create(&cfg).await;
    let (mut prev, _) = env.check(&cfg, None);
    assert_eq!(prev.size, 0);
    let mut total = 0u64;
    for (round, n) in ROUNDS.into_iter().enumerate() {
        let batch = entries(&format!("r{round}"), n);
        let answers = submit_round(&log, batch.clone()).await;
        let mut idx = BTreeSet::new();
        for (e, a) in batch.iter().zip(answers) {
            let a = a.unwrap();
            check_answer(&cfg, e, &a);
            assert_eq!(a.checkpoint.checkpoint.size, total + n as u64);
            // The signed subtree is consistent with the checkpoint.
            let storage = log.storage().clone();
            let size = a.checkpoint.checkpoint.size;
            let proof = subtree_consistency_proof(
                &TileReader::new(storage.as_ref(), size),
                a.subtree.start,
                a.subtree.end,
                size,
            )
            .unwrap();
            verify_subtree_consistency(
                a.subtree.start,
                a.subtree.end,
                size,
                &a.subtree.hash,
                &a.checkpoint.checkpoint.root_hash,
                &proof,
            )
            .unwrap();
            idx.insert(a.index);
        }
        assert_eq!(idx, (total..total + n as u64).collect());
        total += n as u64;
        let (cp, all) = env.check(&cfg, Some(&prev));
        assert_eq!(cp.size, total);
        assert_eq!(all.len() as u64, total);
        assert_eq!(log.checkpoint().checkpoint, cp);
        prev = cp;
    }
    // Proofs served from the published tiles.
    let cp = log.checkpoint().checkpoint.clone();
    for i in [0, 1, 255, 256, cp.size - 1] {
        let proof = log.inclusion_proof(i, cp.size).await.unwrap();
        let e = format!("r{}-{}", round_of(i), i - first_of(i)).into_bytes();
        arbor_tlog::verify_inclusion(
            i,
            cp.size,
            &arbor_tlog::leaf_hash(&e),
            &proof,
            &cp.root_hash,
        )
        .unwrap();
    }
    let p = log.consistency_proof(265, cp.size).await.unwrap();
    let old =
        arbor_tlog::tree_hash(&TileReader::new(log.storage().as_ref(), cp.size), 265).unwrap();
    arbor_tlog::verify_consistency(265, cp.size, &old, &cp.root_hash, &p).unwrap();
    assert!(log.inclusion_proof(0, cp.size + 1).await.is_err());
    // Oversized entries are refused up front.
    assert!(matches!(
        log.submit(vec![0; 70_000]).await,
        Err(arbor_mtclog::LogError::EntryTooLarge(70_000))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_submits_get_distinct_indexes() {
    let env = Env::new();
    let mut cfg = config();
    cfg.sequence_interval = Duration::from_millis(5);
    let log = env.create(&cfg).await;
    let mut tasks = Vec::new();
    for t in 0..50 {
        let log = log.clone();
        let cfg = cfg.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..20 {
                let e = format!("t{t}-{i}").into_bytes();
                let s = log.submit(e.clone()).await.unwrap();
                check_answer(&cfg, &e, &s);
                got.push((s.index, e));
            }
            got
        }));
    }
    let mut seen = std::collections::BTreeMap::new();
    for t in tasks {
        for (i, e) in t.await.unwrap() {
            assert!(seen.insert(i, e).is_none(), "index {i} given twice");
        }
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (0..1000).collect::<Vec<_>>()
    );
    let (cp, all) = env.check(&cfg, None);
    assert_eq!(cp.size, 1000);
    for (i, e) in seen {
        assert_eq!(all[i as usize], e, "entry {i} stored where it was promised");
    }
    drop(Arc::clone(&log));
}

#[tokio::test]
async fn filesystem_backend_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config();
    let clock = Arc::new(arbor_mtclog::ManualClock::new(T0_MS));
    let open_backends = || {
        let s: Arc<dyn arbor_mtclog::LogStorage> =
            Arc::new(arbor_mtclog::FsStorage::new(dir.path().join("objects")).unwrap());
        let l: Arc<dyn arbor_mtclog::LockBackend> =
            Arc::new(arbor_mtclog::FileLock::open(dir.path().join("lock")).unwrap());
        (s, l)
    };
    let (s, l) = open_backends();
    let log = arbor_mtclog::IssuanceLog::create(cfg.clone(), keys(&cfg), s, l, clock.clone())
        .await
        .unwrap();
    let batch = entries("fs", 300);
    for (e, a) in batch.iter().zip(submit_round(&log, batch.clone()).await) {
        check_answer(&cfg, e, &a.unwrap());
    }
    let first = log.checkpoint().checkpoint.clone();
    drop(log);
    // Dropping the log released the lock file, so a new instance may open it.
    let (s, l) = open_backends();
    let log = arbor_mtclog::IssuanceLog::open(cfg.clone(), keys(&cfg), s, l, clock.clone())
        .await
        .unwrap();
    assert_eq!(log.checkpoint().checkpoint, first);
    let batch = entries("fs2", 10);
    for a in submit_round(&log, batch).await {
        assert!(a.unwrap().index >= 300);
    }
    let s = log.storage().clone();
    let cp = log.checkpoint().checkpoint.clone();
    assert_eq!(cp.size, 310);
    assert!(s.get("tile/0/001.p/54").unwrap().is_some());
    assert!(s.get("staging/310").unwrap().is_none());
}
