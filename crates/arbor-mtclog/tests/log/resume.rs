//! Resuming an issuance: an entry sequenced rounds ago is found by its bytes,
//! and `sequenced_entry` gives it a subtree of the current checkpoint signed
//! by the CA cosigner and an HTTP witness; the standalone certificate built
//! from that answer verifies with arbor-mtc's relying-party verifier, after a
//! log restart too (the witness is re-synchronised through its 409 answer).

use std::sync::Arc;

use arbor_mtc::formats::{
    EntryExtensions, MtcLogEntry, MtcProof, TbsCertificateLogEntry, serial_number,
};
use arbor_mtc::verify::VerifiedBy;
use arbor_mtc::{MtcCertificate, TrustedSubtrees, verify};
use arbor_mtclog::storage::fault::MemStorage;
use arbor_mtclog::{IssuanceLog, LogKeys, MlDsa44MessageSigner, Sequenced, WitnessEndpoint};
use arbor_tlog::checkpoint::open_checkpoint;
use arbor_tlog::note::Note;
use arbor_tlog::{leaf_hash, verify_subtree_inclusion};
use x509_cert::certificate::Version;
use x509_cert::name::Name;

use crate::certs::{ca_and_policy, ed25519_spki, validity};
use crate::common::*;
use crate::witness::{witness, witness_id, witness_signer};

const T0: u64 = T0_MS / 1000;

fn certificate(e: &TbsCertificateLogEntry, spki: &[u8], a: &Sequenced) -> Vec<u8> {
    let st = &a.subtree;
    let proof = MtcProof::new(
        EntryExtensions::default(),
        st.start,
        st.end,
        a.inclusion_proof.clone(),
        st.signatures.clone(),
    )
    .unwrap();
    MtcCertificate::build(e, spki, serial_number(1, a.index).unwrap(), proof)
        .unwrap()
        .to_der()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_entry_gets_a_certificate_that_verifies() {
    let env = Env::new();
    let w = Arc::new(witness(&env, MemStorage::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = arbor_mtclog::witness::router(w.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut cfg = config();
    cfg.witnesses = vec![WitnessEndpoint {
        url: format!("http://{addr}"),
        cosigner_id: witness_id(),
        verifier: Some(Arc::new(witness_signer().verifier())),
    }];
    let ca_key = Arc::new(MlDsa44MessageSigner::generate().unwrap());
    let k = LogKeys {
        log_key: keys(&cfg).log_key,
        ca_cosigner: ca_key.clone(),
    };
    let mut log = IssuanceLog::create(
        cfg.clone(),
        k.clone(),
        env.storage(),
        env.lock(),
        env.clock(),
    )
    .await
    .unwrap();
    let (ca_id, ca, policy) = ca_and_policy(&ca_key);

    // The entry of interest lands in the middle of round 2 of 4; later rounds
    // push the tree past it (and past a 256-entry bundle boundary).
    let spki = ed25519_spki(&[5; 32]);
    let tbs = |tag: &str| {
        let subject: Name = format!("CN={tag}.example").parse().unwrap();
        TbsCertificateLogEntry::new(
            Version::V3,
            &ca_id,
            &validity(T0 - 60, 6 * 86_400),
            &subject,
            &spki,
            None,
        )
        .unwrap()
    };
    let target = tbs("resumed");
    let target_bytes = MtcLogEntry::tbs_cert(target.clone()).encode().unwrap();
    let mut first_answer = None;
    for round in 0..4 {
        let mut batch: Vec<Vec<u8>> = (0..90)
            .map(|i| {
                MtcLogEntry::tbs_cert(tbs(&format!("h{round}-{i}")))
                    .encode()
                    .unwrap()
            })
            .collect();
        if round == 1 {
            batch[40] = target_bytes.clone();
        }
        let answers = submit_round(&log, batch).await;
        if round == 1 {
            first_answer = Some(answers[40].as_ref().unwrap().clone());
        }
    }
    let first = first_answer.unwrap();
    // Round 2 holds indexes 90..180 (its tasks are pooled in any order).
    let idx = first.index;
    assert!((90..180).contains(&idx), "{idx}");
    assert_eq!(log.checkpoint().checkpoint.size, 360);

    let now = (T0 + 60) as i64;
    // Twice: on the running log, and after a restart (the witness's size
    // is then unknown to the log and learned from its 409).
    for attempt in 0..2 {
        let scan = log
            .find_entry(target_bytes.clone(), 1_000, |_| false)
            .await
            .unwrap();
        assert_eq!(scan.matches, vec![idx]);
        assert!(scan.complete);
        let a = log.sequenced_entry(idx).await.unwrap();
        assert_eq!(a.index, idx);
        assert_eq!(a.checkpoint.checkpoint.size, 360);
        let st = &a.subtree;
        assert!(st.start <= idx && idx < st.end && st.end <= 360, "{st:?}");
        assert_eq!(st.signatures.len(), 2, "CA and witness sign: {attempt}");
        verify_subtree_inclusion(
            st.start,
            st.end,
            idx,
            &leaf_hash(&target_bytes),
            &a.inclusion_proof,
            &st.hash,
        )
        .unwrap();
        let (cp, _) = open_checkpoint(&a.checkpoint.note, &[&log_verifier(&cfg)]).unwrap();
        assert_eq!(cp, a.checkpoint.checkpoint);
        // The re-published checkpoint carries one cosignature per witness.
        let note = Note::parse(&log.checkpoint().note).unwrap();
        let witness_sigs = note
            .signatures
            .iter()
            .filter(|s| s.name == witness_id().note_name())
            .count();
        assert_eq!(
            witness_sigs,
            1,
            "{}",
            String::from_utf8_lossy(&a.checkpoint.note)
        );

        let der = certificate(&target, &spki, &a);
        let v = verify(&der, &ca, &policy, &TrustedSubtrees::default(), now).unwrap();
        assert_eq!((v.log, v.index), (1, idx));
        assert_eq!(
            v.by,
            VerifiedBy::Cosigners(vec![ca_id.clone(), witness_id()])
        );
        // The original round's certificate and the resumed one certify the
        // same entry under the same serial.
        let original = certificate(&target, &spki, &first);
        let o = verify(&original, &ca, &policy, &TrustedSubtrees::default(), now).unwrap();
        assert_eq!(o.serial, v.serial);

        drop(log);
        log = IssuanceLog::open(
            cfg.clone(),
            k.clone(),
            env.storage(),
            env.lock(),
            env.clock(),
        )
        .await
        .unwrap();
    }
    // Nothing was appended by looking up and re-certifying.
    assert_eq!(log.checkpoint().checkpoint.size, 360);
    assert!(log.sequenced_entry(360).await.is_err(), "beyond the tree");
    env.check(&cfg, None);
    server.abort();
}
