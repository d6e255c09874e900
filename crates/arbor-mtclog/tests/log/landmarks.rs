use std::time::Duration;

use arbor_mtc::formats::LandmarkDocument;
use arbor_mtclog::reader::TileReader;
use arbor_mtclog::{Clock, LandmarkStatus};
use arbor_tlog::cosignature::{MessageVerifier, subtree_v1_message};
use arbor_tlog::{leaf_hash, subtree_hash, verify_subtree_inclusion};

use crate::common::*;

#[tokio::test]
async fn landmarks_follow_the_driven_clock() {
    let env = Env::new();
    let cfg = config();
    let hour = cfg.landmark_interval;
    let life = cfg.max_cert_lifetime.as_secs();
    let log = env.create(&cfg).await;
    assert_eq!(log.landmark_document(), "0\n0 0\n");
    assert_eq!(log.landmark_for(0).await.unwrap(), LandmarkStatus::NotYet);

    let first = entries("a", 10);
    submit_round(&log, first.clone()).await;
    // Not due yet.
    assert_eq!(log.tick_landmarks().await.unwrap(), None);
    assert_eq!(log.landmark_for(3).await.unwrap(), LandmarkStatus::NotYet);
    env.clock.advance(hour);
    assert_eq!(log.tick_landmarks().await.unwrap(), Some(1));
    let t1 = env.clock.now_secs();
    // Due again only after another interval; no growth → no landmark.
    env.clock.advance(hour);
    assert_eq!(log.tick_landmarks().await.unwrap(), None);

    let second = entries("b", 20);
    submit_round(&log, second.clone()).await;
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(
        log.tick_landmarks().await.unwrap(),
        None,
        "interval restarts after a skip"
    );
    env.clock.advance(hour);
    assert_eq!(log.tick_landmarks().await.unwrap(), Some(2));
    let t2 = env.clock.now_secs();

    let doc = log.landmark_document();
    assert_eq!(doc, format!("2\n30 {}\n10 {}\n0 0\n", t2 + life, t1 + life));
    let parsed = LandmarkDocument::parse(&doc).unwrap();
    assert_eq!(parsed.latest().unwrap().tree_size, 30);
    assert_eq!(
        arbor_mtclog::LogStorage::get(&env.mem, "landmarks")
            .unwrap()
            .unwrap(),
        doc.as_bytes()
    );

    let all: Vec<(u64, &Vec<u8>)> = first
        .iter()
        .chain(second.iter())
        .enumerate()
        .map(|(i, e)| (i as u64, e))
        .collect();
    let storage = log.storage().clone();
    let reader = TileReader::new(storage.as_ref(), 30);
    let ca = ca_signer().verifier();
    for (i, e) in all {
        let LandmarkStatus::Covered(p) = log.landmark_for(i).await.unwrap() else {
            panic!("entry {i} not covered");
        };
        assert_eq!(p.number, if i < 10 { 1 } else { 2 });
        assert_eq!(p.trust_anchor_id, ca_id().landmark_id(1, p.number).unwrap());
        let mtc_sub = parsed.subtree_for_index(i).unwrap();
        assert_eq!(
            (mtc_sub.landmark, mtc_sub.start, mtc_sub.end),
            (p.number, p.subtree.start, p.subtree.end)
        );
        assert_eq!(
            p.subtree.hash,
            subtree_hash(&reader, p.subtree.start, p.subtree.end).unwrap()
        );
        verify_subtree_inclusion(
            p.subtree.start,
            p.subtree.end,
            i,
            &leaf_hash(e),
            &p.inclusion_proof,
            &p.subtree.hash,
        )
        .unwrap();
        let msg = subtree_v1_message(
            &ca_id().note_name(),
            0,
            &cfg.origin().unwrap(),
            p.subtree.start,
            p.subtree.end,
            &p.subtree.hash,
        )
        .unwrap();
        assert!(ca.verify_message(&msg, &p.subtree.signatures[0].signature));
    }
    assert_eq!(log.landmark_for(30).await.unwrap(), LandmarkStatus::NotYet);

    // Landmarks survive a restart unchanged.
    let before = log.landmarks();
    drop(log);
    let log = env.open(&cfg).await.unwrap();
    assert_eq!(log.landmarks(), before);
    assert_eq!(log.landmark_document(), doc);

    // After the lifetime passes, landmark 1 is expired.
    env.clock
        .advance(Duration::from_secs(life) - hour + Duration::from_secs(1));
    assert_eq!(
        log.landmark_for(3).await.unwrap(),
        LandmarkStatus::Expired { number: 1 }
    );
    assert!(matches!(
        log.landmark_for(12).await.unwrap(),
        LandmarkStatus::Covered(_)
    ));
}

#[tokio::test]
async fn landmark_write_faults_keep_numbering_and_republish() {
    use arbor_mtclog::storage::fault::FaultMode;
    let env = Env::new();
    let cfg = config();
    let log = env.create(&cfg).await;
    submit_round(&log, entries("a", 10)).await;
    env.clock.advance(cfg.landmark_interval);
    // The durable list cannot be written: no landmark, retried at the next tick.
    env.plan.fail_prefix("state/landmarks", FaultMode::Before);
    assert!(log.tick_landmarks().await.is_err());
    assert_eq!(log.landmarks().len(), 1);
    env.plan.clear();
    assert_eq!(log.tick_landmarks().await.unwrap(), Some(1));

    // The list is written but the document is not: the landmark exists, and
    // the next start re-publishes the document.
    submit_round(&log, entries("b", 5)).await;
    env.clock.advance(cfg.landmark_interval);
    env.plan.fail_prefix("landmarks", FaultMode::Before);
    assert!(log.tick_landmarks().await.is_err());
    env.plan.clear();
    assert_eq!(log.landmarks().len(), 3);
    let stale = arbor_mtclog::LogStorage::get(&env.mem, "landmarks")
        .unwrap()
        .unwrap();
    assert!(stale.starts_with(b"1\n"));
    drop(log);
    let log = env.open(&cfg).await.unwrap();
    let doc = arbor_mtclog::LogStorage::get(&env.mem, "landmarks")
        .unwrap()
        .unwrap();
    assert_eq!(doc, log.landmark_document().as_bytes());
    assert!(doc.starts_with(b"2\n15 "));
}

#[tokio::test]
async fn interrupted_create_is_finished_by_open() {
    use arbor_mtclog::storage::fault::FaultMode;
    let env = Env::new();
    let cfg = config();
    env.plan.fail_prefix("checkpoint", FaultMode::Before);
    assert!(
        arbor_mtclog::IssuanceLog::create(
            cfg.clone(),
            keys(&cfg),
            env.storage(),
            env.lock(),
            env.clock()
        )
        .await
        .is_err()
    );
    env.plan.clear();
    let log = env.open(&cfg).await.unwrap();
    assert_eq!(log.checkpoint().checkpoint.size, 0);
    assert_eq!(log.landmark_document(), "0\n0 0\n");
    submit_round(&log, entries("a", 3)).await;
    env.check(&cfg, None);
}

#[tokio::test]
async fn allocate_now_ignores_the_clock_but_needs_growth() {
    let env = Env::new();
    let cfg = config();
    let log = env.create(&cfg).await;
    assert_eq!(
        log.allocate_landmark_now().await.unwrap(),
        None,
        "no growth"
    );
    submit_round(&log, entries("a", 3)).await;
    assert_eq!(
        log.tick_landmarks().await.unwrap(),
        None,
        "not due by the clock"
    );
    assert_eq!(log.allocate_landmark_now().await.unwrap(), Some(1));
    assert!(matches!(
        log.landmark_for(2).await.unwrap(),
        LandmarkStatus::Covered(_)
    ));
    // The interval restarts from the forced landmark.
    submit_round(&log, entries("b", 2)).await;
    assert_eq!(log.tick_landmarks().await.unwrap(), None);
    env.clock.advance(cfg.landmark_interval);
    assert_eq!(log.tick_landmarks().await.unwrap(), Some(2));
}
