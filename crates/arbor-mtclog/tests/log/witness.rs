use std::sync::Arc;

use arbor_mtc::TrustAnchorId;
use arbor_mtclog::reader::TileReader;
use arbor_mtclog::signer::SharedVerifier;
use arbor_mtclog::storage::fault::MemStorage;
use arbor_mtclog::witness::{Witness, WitnessConfig, WitnessError};
use arbor_mtclog::{Ed25519MessageSigner, WitnessEndpoint};
use arbor_tlog::checkpoint::sign_checkpoint;
use arbor_tlog::cosignature::{MessageVerifier, SubtreeV1NoteVerifier, subtree_v1_message};
use arbor_tlog::keys::NoteVerifier;
use arbor_tlog::note::Note;
use arbor_tlog::{Hash, consistency_proof, subtree_consistency_proof};
use base64ct::{Base64, Encoding};

use crate::common::*;

pub fn witness_id() -> TrustAnchorId {
    TrustAnchorId::from_components(&[64500, 7]).unwrap()
}

pub fn witness_signer() -> Arc<Ed25519MessageSigner> {
    Arc::new(Ed25519MessageSigner::from_seed(&[7; 32]).unwrap())
}

pub fn witness(env: &Env, storage: MemStorage) -> Witness {
    let cfg = config();
    let s = witness_signer();
    Witness::new(WitnessConfig {
        cosigner_id: witness_id(),
        verifier: SharedVerifier(Arc::new(s.verifier())),
        signer: s,
        logs: vec![keys(&cfg).log_key.verifier_key()],
        storage: Arc::new(storage),
        clock: env.clock(),
    })
    .unwrap()
}

fn lines(proof: &[Hash]) -> String {
    proof
        .iter()
        .map(|h| format!("{}\n", Base64::encode_string(h)))
        .collect()
}

fn add_body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    format!(
        "old {old}\n{}\n{}",
        lines(proof),
        String::from_utf8_lossy(note)
    )
    .into_bytes()
}

#[tokio::test]
async fn witness_accepts_consistent_and_refuses_inconsistent() {
    let env = Env::new();
    let cfg = config();
    let log = env.create(&cfg).await;
    submit_round(&log, entries("a", 7)).await;
    let cp7 = log.checkpoint();
    submit_round(&log, entries("b", 13)).await;
    let cp20 = log.checkpoint();
    let storage = log.storage().clone();
    let r = TileReader::new(storage.as_ref(), 20);

    let wstore = MemStorage::new();
    let w = witness(&env, wstore.clone());
    // First sight: old 0 with an empty proof.
    let line = w.add_checkpoint(&add_body(0, &[], &cp7.note)).unwrap();
    let note = Note::parse(&[&cp7.note[..], line.as_bytes()].concat()).unwrap();
    let own = SubtreeV1NoteVerifier::new(w.name(), witness_signer().verifier()).unwrap();
    assert_eq!(note.verify(&[&own as &dyn NoteVerifier]).unwrap().len(), 1);
    assert_eq!(w.latest(&cfg.origin().unwrap()).unwrap().0, 7);

    // Wrong old size → 409 with the witness's size.
    assert!(matches!(
        w.add_checkpoint(&add_body(0, &[], &cp20.note)),
        Err(WitnessError::Conflict(7))
    ));
    // Bad proof → 422.
    let mut proof = consistency_proof(&r, 7, 20).unwrap();
    proof[0][0] ^= 1;
    assert!(matches!(
        w.add_checkpoint(&add_body(7, &proof, &cp20.note)),
        Err(WitnessError::BadProof)
    ));
    // Good proof → accepted.
    let proof = consistency_proof(&r, 7, 20).unwrap();
    w.add_checkpoint(&add_body(7, &proof, &cp20.note)).unwrap();
    assert_eq!(w.latest(&cfg.origin().unwrap()).unwrap().0, 20);
    // Rewound: the old checkpoint again, claiming the witness's size.
    assert!(w.add_checkpoint(&add_body(20, &[], &cp7.note)).is_err());
    assert!(matches!(
        w.add_checkpoint(&add_body(7, &[], &cp7.note)),
        Err(WitnessError::Conflict(20))
    ));
    // Same size, different root (a fork), validly signed by the log.
    let mut fork = cp20.checkpoint.clone();
    fork.root_hash[5] ^= 1;
    let forked = sign_checkpoint(&fork, &[keys(&cfg).log_key.as_ref()]).unwrap();
    assert!(matches!(
        w.add_checkpoint(&add_body(20, &[], &forked)),
        Err(WitnessError::Conflict(20))
    ));
    // A bigger fork cannot be proven consistent.
    let mut fork = arbor_tlog::checkpoint::Checkpoint::new(&cfg.origin().unwrap(), 21, [9; 32]);
    let forked = sign_checkpoint(&fork, &[keys(&cfg).log_key.as_ref()]).unwrap();
    assert!(matches!(
        w.add_checkpoint(&add_body(20, &[], &forked)),
        Err(WitnessError::BadProof)
    ));
    fork.origin = "oid/1.3.6.1.4.1.1.0.1".into();
    let unknown = sign_checkpoint(&fork, &[keys(&cfg).log_key.as_ref()]);
    if let Ok(u) = unknown {
        assert!(matches!(
            w.add_checkpoint(&add_body(20, &[], &u)),
            Err(WitnessError::UnknownOrigin)
        ));
    }
    // A checkpoint not signed by the log key → 403.
    let other =
        arbor_tlog::keys::Ed25519Signer::from_seed(&cfg.origin().unwrap(), &[8; 32]).unwrap();
    let bad = sign_checkpoint(&cp20.checkpoint, &[&other]).unwrap();
    assert!(matches!(
        w.add_checkpoint(&add_body(20, &[], &bad)),
        Err(WitnessError::BadSignature)
    ));
    // Malformed.
    assert!(matches!(
        w.add_checkpoint(b"old 01\n\n"),
        Err(WitnessError::BadRequest(_))
    ));

    // State is durable: a new witness over the same storage remembers size 20.
    let w2 = witness(&env, wstore);
    assert_eq!(w2.latest(&cfg.origin().unwrap()).unwrap().0, 20);

    // sign-subtree needs a checkpoint cosigned by this witness.
    let line = w2.add_checkpoint(&add_body(20, &[], &cp20.note)).unwrap();
    let cosigned = [&cp20.note[..], line.as_bytes()].concat();
    let (s, e) = (16u64, 20u64);
    let hash = arbor_tlog::subtree_hash(&r, s, e).unwrap();
    let proof = subtree_consistency_proof(&r, s, e, 20).unwrap();
    let body = |note: &[u8], proof: &[Hash], hash: &Hash| {
        format!(
            "subtree {s} {e}\n{}\n{}\n{}",
            Base64::encode_string(hash),
            lines(proof),
            String::from_utf8_lossy(note)
        )
        .into_bytes()
    };
    assert!(matches!(
        w2.sign_subtree(&body(&cp20.note, &proof, &hash)),
        Err(WitnessError::BadSignature)
    ));
    let mut bad_hash = hash;
    bad_hash[0] ^= 1;
    assert!(matches!(
        w2.sign_subtree(&body(&cosigned, &proof, &bad_hash)),
        Err(WitnessError::BadProof)
    ));
    let line = w2.sign_subtree(&body(&cosigned, &proof, &hash)).unwrap();
    let sig = Note::parse(&[&cp20.note[..], line.as_bytes()].concat())
        .unwrap()
        .signatures
        .pop()
        .unwrap();
    assert_eq!(&sig.signature[..8], &[0; 8]);
    let msg = subtree_v1_message(w2.name(), 0, &cfg.origin().unwrap(), s, e, &hash).unwrap();
    assert!(
        witness_signer()
            .verifier()
            .verify_message(&msg, &sig.signature[8..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_collects_witness_signatures_over_http() {
    let env = Env::new();
    let w = Arc::new(witness(&env, MemStorage::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/w", arbor_mtclog::witness::router(w.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut cfg = config();
    cfg.witnesses = vec![WitnessEndpoint {
        url: format!("http://{addr}/w"),
        cosigner_id: witness_id(),
        verifier: Some(Arc::new(witness_signer().verifier())),
    }];
    let log = env.create(&cfg).await;
    let mut expect_size = 0;
    for round in 0..3 {
        let batch = entries(&format!("w{round}"), 9);
        expect_size += 9;
        for (e, a) in batch.iter().zip(submit_round(&log, batch.clone()).await) {
            let a = a.unwrap();
            check_answer(&cfg, e, &a);
            let st = &a.subtree;
            assert_eq!(st.signatures.len(), 2, "CA + witness");
            assert_eq!(st.signatures[1].cosigner_id, witness_id());
            let msg = subtree_v1_message(
                w.name(),
                0,
                &cfg.origin().unwrap(),
                st.start,
                st.end,
                &st.hash,
            )
            .unwrap();
            assert!(
                witness_signer()
                    .verifier()
                    .verify_message(&msg, &st.signatures[1].signature)
            );
            // The published checkpoint carries the witness cosignature.
            let own = SubtreeV1NoteVerifier::new(w.name(), witness_signer().verifier()).unwrap();
            let note = Note::parse(&a.checkpoint.note).unwrap();
            assert_eq!(note.verify(&[&own as &dyn NoteVerifier]).unwrap().len(), 1);
        }
        assert_eq!(w.latest(&cfg.origin().unwrap()).unwrap().0, expect_size);
    }
    // Restart: the new instance starts from witness size 0 and recovers via 409.
    drop(log);
    let log = env.open(&cfg).await.unwrap();
    let batch = entries("after", 4);
    for a in submit_round(&log, batch).await {
        assert_eq!(a.unwrap().subtree.signatures.len(), 2);
    }
    assert_eq!(w.latest(&cfg.origin().unwrap()).unwrap().0, expect_size + 4);
    env.check(&cfg, None);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_lying_witness_only_drops_its_signature() {
    let env = Env::new();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let w = Arc::new(witness(&env, MemStorage::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        tokio::spawn(async move { axum::serve(listener, arbor_mtclog::witness::router(w)).await });
    let mut cfg = config();
    let wrong_key = Ed25519MessageSigner::from_seed(&[42; 32])
        .unwrap()
        .verifier();
    cfg.witnesses = vec![
        WitnessEndpoint {
            url: format!("http://{closed}"),
            cosigner_id: TrustAnchorId::from_components(&[64500, 8]).unwrap(),
            verifier: None,
        },
        WitnessEndpoint {
            url: format!("http://{addr}"),
            cosigner_id: witness_id(),
            verifier: Some(Arc::new(wrong_key)),
        },
    ];
    let log = env.create(&cfg).await;
    for round in 0..2 {
        let batch = entries(&format!("x{round}"), 6);
        for (e, a) in batch.iter().zip(submit_round(&log, batch.clone()).await) {
            let a = a.unwrap();
            check_answer(&cfg, e, &a);
            assert_eq!(a.subtree.signatures.len(), 1, "only the CA signature");
        }
    }
    assert!(!log.is_stopped());
    env.check(&cfg, None);
    server.abort();
}
