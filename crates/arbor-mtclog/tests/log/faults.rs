//! Sunlight's fault matrix: fail each write of a sequencing round either
//! before or after it lands, then check whether the tree advanced and whether
//! the log stopped, restart, run the full-log check, and keep going.

use arbor_mtclog::LogError;
use arbor_mtclog::storage::fault::FaultMode;
use arbor_tlog::checkpoint::sign_checkpoint;

use crate::common::*;

/// Writes of a round that adds 10 entries on top of 300: staging, lock CAS,
/// tiles and bundles, checkpoint, staging delete.
async fn writes_per_round() -> Vec<String> {
    let env = Env::new();
    let cfg = config();
    let log = env.create(&cfg).await;
    submit_round(&log, entries("a", 300)).await;
    let before = env.plan.write_log().len();
    submit_round(&log, entries("b", 10)).await;
    env.plan.write_log()[before..].to_vec()
}

#[tokio::test]
async fn every_write_failing_before_or_after_landing() {
    let writes = writes_per_round().await;
    assert_eq!(writes.first().map(String::as_str), Some("staging/310"));
    assert_eq!(writes.get(1).map(String::as_str), Some("lock"));
    assert!(writes.contains(&"checkpoint".to_string()));
    let cas_at = 1u64;
    for k in 0..writes.len() as u64 {
        for mode in [FaultMode::Before, FaultMode::After] {
            let what = format!("write {k} ({}) {mode:?}", writes[k as usize]);
            let env = Env::new();
            let cfg = config();
            let log = env.create(&cfg).await;
            submit_round(&log, entries("a", 300)).await;
            let (cp1, _) = env.check(&cfg, None);

            env.plan.fail_nth_write(k, mode);
            let answers = submit_round(&log, entries("b", 10)).await;
            env.plan.clear();
            // The staging delete is best effort: its failure fails nothing.
            let last = k as usize == writes.len() - 1;
            if last {
                assert!(answers.iter().all(Result::is_ok), "{what}");
            } else {
                for a in &answers {
                    assert!(
                        matches!(a, Err(LogError::RoundFailed { .. })),
                        "{what}: {a:?}"
                    );
                }
            }
            let committed = k > cas_at || (k == cas_at && mode == FaultMode::After);
            let fatal = k >= cas_at && !last;
            assert_eq!(log.is_stopped(), fatal, "{what}");
            if fatal {
                assert!(matches!(
                    log.submit(b"x".to_vec()).await,
                    Err(LogError::Stopped)
                ));
            } else {
                // A non-fatal failure leaves the log usable without restart.
                for a in submit_round(&log, entries("c", 3)).await {
                    a.unwrap();
                }
            }
            drop(log);

            let log = env
                .open(&cfg)
                .await
                .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
            let (cp2, all) = env.check(&cfg, Some(&cp1));
            let want = 300 + if committed { 10 } else { 0 } + if fatal { 0 } else { 3 };
            assert_eq!(cp2.size, want, "{what}");
            assert_eq!(all.len() as u64, want);
            // Keep going after the restart.
            let batch = entries("d", 5);
            for (e, a) in batch.iter().zip(submit_round(&log, batch.clone()).await) {
                check_answer(&cfg, e, &a.unwrap());
            }
            env.check(&cfg, Some(&cp2));
        }
    }
}

#[tokio::test]
async fn startup_refuses_inconsistent_state() {
    let cfg = config();
    let setup = || async {
        let env = Env::new();
        let log = env.create(&cfg).await;
        submit_round(&log, entries("a", 20)).await;
        let old_note = log.checkpoint().note.clone();
        submit_round(&log, entries("b", 5)).await;
        drop(log);
        (env, old_note)
    };
    let refuse = |r: Result<_, LogError>, what: &str| match r {
        Err(LogError::Inconsistent(_)) => {}
        Err(e) => panic!("{what}: unexpected error {e}"),
        Ok(_) => panic!("{what}: opened"),
    };

    // A consistent log opens.
    let (env, _) = setup().await;
    assert!(env.open(&cfg).await.is_ok());
    // Creating over an existing log is refused.
    assert!(matches!(
        arbor_mtclog::IssuanceLog::create(
            cfg.clone(),
            keys(&cfg),
            env.storage(),
            env.lock(),
            env.clock()
        )
        .await,
        Err(LogError::AlreadyExists)
    ));

    // Public checkpoint forks from the lock (same size, other root).
    let (env, _) = setup().await;
    let mut forked = env.check(&cfg, None).0;
    forked.root_hash[0] ^= 1;
    let k = keys(&cfg);
    let note = sign_checkpoint(&forked, &[k.log_key.as_ref()]).unwrap();
    env.mem.force_put("checkpoint", &note);
    refuse(env.open(&cfg).await, "same-size fork");

    // Public checkpoint ahead of the lock (the lock was rewound).
    let (env, old_note) = setup().await;
    env.mem_lock.force_set(Some(old_note));
    refuse(env.open(&cfg).await, "lock rewound");

    // Lock ahead of the public checkpoint with no staging bundle to replay.
    let (env, old_note) = setup().await;
    env.mem.force_put("checkpoint", &old_note);
    refuse(env.open(&cfg).await, "public behind without staging");

    // A corrupted right-edge tile.
    let (env, _) = setup().await;
    let mut tile = arbor_mtclog::LogStorage::get(&env.mem, "tile/0/000.p/25")
        .unwrap()
        .unwrap();
    tile[0] ^= 1;
    env.mem.force_put("tile/0/000.p/25", &tile);
    refuse(env.open(&cfg).await, "corrupted tile");

    // A lock checkpoint signed by another key.
    let (env, _) = setup().await;
    let other =
        arbor_tlog::keys::Ed25519Signer::from_seed(&cfg.origin().unwrap(), &[9; 32]).unwrap();
    let cp = env.check(&cfg, None).0;
    env.mem_lock
        .force_set(Some(sign_checkpoint(&cp, &[&other]).unwrap()));
    refuse(env.open(&cfg).await, "foreign lock signature");

    // Opening without a lock checkpoint is not creating.
    let env = Env::new();
    assert!(matches!(env.open(&cfg).await, Err(LogError::NotCreated)));
}
