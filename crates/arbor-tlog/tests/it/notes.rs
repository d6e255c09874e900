//! signed-note, tlog-checkpoint and tlog-cosignature against the examples in
//! the C2SP specs and the Go reference (golang.org/x/mod/sumdb/note), byte
//! for byte.

use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::cosignature::{
    CosignatureV1Signer, CosignatureV1Verifier, MessageSigner, MessageVerifier,
    SubtreeV1NoteSigner, SubtreeV1NoteVerifier, cosignature_v1_message, split_timestamped,
    subtree_v1_message,
};
use arbor_tlog::keys::{Ed25519Signer, NoteSigner, NoteVerifier, SIG_ED25519, VerifierKey, key_id};
use arbor_tlog::note::Note;
use arbor_tlog::{NoteError, leaf_hash};

const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const C2SP_NOTE: &str = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#[test]
fn go_reference_sign_is_byte_identical() {
    let signer = Ed25519Signer::parse_private_key(GO_SKEY).unwrap();
    assert_eq!(signer.verifier_key().to_string(), GO_VKEY);
    let note = Note::sign(GO_TEXT, &[&signer]).unwrap();
    assert_eq!(String::from_utf8(note.to_bytes()).unwrap(), GO_NOTE);
    let parsed = Note::parse(GO_NOTE.as_bytes()).unwrap();
    assert_eq!(parsed, note);
    let v = VerifierKey::parse(GO_VKEY)
        .unwrap()
        .ed25519_verifier()
        .unwrap();
    assert_eq!(parsed.verify(&[&v]).unwrap().len(), 1);
}

#[test]
fn c2sp_vkey_verifies_c2sp_note() {
    let vk = VerifierKey::parse(C2SP_VKEY).unwrap();
    assert_eq!(
        (vk.name.as_str(), vk.key_id, vk.sig_type),
        ("example.com/foo", [0x53, 0x0d, 0x90, 0x3a], SIG_ED25519)
    );
    assert_eq!(
        vk.key_id,
        key_id("example.com/foo", SIG_ED25519, &vk.public_key)
    );
    assert_eq!(vk.to_string(), C2SP_VKEY);
    let v = vk.ed25519_verifier().unwrap();
    let note = Note::parse(C2SP_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    note.verify(&[&v]).unwrap();
    assert_eq!(String::from_utf8(note.to_bytes()).unwrap(), C2SP_NOTE);

    // Tampered text: the known key fails, so the note is rejected.
    let tampered = C2SP_NOTE.replacen("example message", "exAmple message", 1);
    let n2 = Note::parse(tampered.as_bytes()).unwrap();
    assert_eq!(
        n2.verify(&[&v]),
        Err(NoteError::BadSignature("example.com/foo".into()))
    );
    // Unknown keys are ignored; with none known the note is rejected.
    let other = Ed25519Signer::from_seed("example.com/foo", &[9u8; 32]).unwrap();
    let ov = other.verifier_key().ed25519_verifier().unwrap();
    assert_eq!(note.verify(&[&ov]), Err(NoteError::NoKnownSignature));
    assert_eq!(note.verify(&[&ov, &v]).unwrap().len(), 1);
}

#[test]
fn vkey_rejects_manglings() {
    assert!(VerifierKey::parse(C2SP_VKEY).is_ok());
    let b = C2SP_VKEY.as_bytes();
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] = m[i].wrapping_add(1);
        if let Ok(s) = String::from_utf8(m) {
            // Either unparsable, or (a changed type byte) no longer an Ed25519 key.
            let as_ed = VerifierKey::parse(&s).and_then(|k| k.ed25519_verifier());
            assert!(as_ed.is_err(), "{s}");
        }
    }
    for cut in 1..b.len() {
        assert!(VerifierKey::parse(&C2SP_VKEY[..cut]).is_err());
    }
}

#[test]
fn many_signatures_and_one_bad() {
    let signers: Vec<Ed25519Signer> = (0..16u8)
        .map(|i| Ed25519Signer::from_seed(&format!("w{i}.example"), &[i; 32]).unwrap())
        .collect();
    let refs: Vec<&dyn NoteSigner> = signers.iter().map(|s| s as &dyn NoteSigner).collect();
    let note = Note::sign("body\n", &refs).unwrap();
    let verifiers: Vec<_> = signers
        .iter()
        .map(|s| s.verifier_key().ed25519_verifier().unwrap())
        .collect();
    let vrefs: Vec<&dyn NoteVerifier> = verifiers.iter().map(|v| v as &dyn NoteVerifier).collect();
    let parsed = Note::parse(&note.to_bytes()).unwrap();
    assert_eq!(parsed.verify(&vrefs).unwrap().len(), 16);
    let mut bad = parsed.clone();
    bad.signatures[5].signature[0] ^= 1;
    assert!(matches!(
        bad.verify(&vrefs),
        Err(NoteError::BadSignature(_))
    ));
    assert!(Note::sign("no newline", &refs).is_err());
}

const SPEC_CHECKPOINT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn tlog_cosignature_spec_example() {
    let note_text = format!(
        "{SPEC_CHECKPOINT}\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    );
    let note = Note::parse(note_text.as_bytes()).unwrap();
    assert_eq!(note.signatures.len(), 2);
    let cp = Checkpoint::parse(&note.text).unwrap();
    assert_eq!(
        (cp.origin.as_str(), cp.size),
        ("example.com/behind-the-sofa", 20_852_163)
    );
    let w = &note.signatures[1];
    let (ts, sig) = split_timestamped(&w.signature).unwrap();
    // The spec's message example uses "time 1679315147" for this cosignature.
    assert_eq!(ts, 1_679_315_147);
    assert_eq!(sig.len(), 64);
    let msg = cosignature_v1_message(ts, note.text.as_bytes());
    assert_eq!(
        String::from_utf8(msg).unwrap(),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

#[test]
fn cosignature_v1_round_trip() {
    let log = Ed25519Signer::from_seed("example.com/log", &[1u8; 32]).unwrap();
    let mut w =
        CosignatureV1Signer::from_seed("witness.example/w1", &[2u8; 32], 1_700_000_000).unwrap();
    let wv = CosignatureV1Verifier::new("witness.example/w1", &w.public_key()).unwrap();
    // Type 0x04 key ID differs from a 0x01 key for the same key.
    assert_ne!(
        wv.key_hash(),
        Ed25519Signer::from_seed("witness.example/w1", &[2u8; 32])
            .unwrap()
            .key_hash()
    );
    let note = Note::sign(SPEC_CHECKPOINT, &[&log, &w]).unwrap();
    let parsed = Note::parse(&note.to_bytes()).unwrap();
    assert_eq!(parsed.signatures[1].signature.len(), 72);
    assert_eq!(
        split_timestamped(&parsed.signatures[1].signature)
            .unwrap()
            .0,
        1_700_000_000
    );
    parsed.verify(&[&wv]).unwrap();
    // Rewriting the timestamp breaks the signature.
    let mut bad = parsed.clone();
    bad.signatures[1].signature[7] ^= 1;
    assert!(bad.verify(&[&wv]).is_err());
    assert!(w.set_timestamp(1 << 63).is_err());
}

#[test]
fn subtree_v1_message_layout() {
    let hash = leaf_hash(b"x");
    let m = subtree_v1_message(
        "oid/1.3.6.1.4.1.32473.1",
        0,
        "oid/1.3.6.1.4.1.32473.1.0.1",
        0,
        8,
        &hash,
    )
    .unwrap();
    assert_eq!(m.len(), 120);
    let prefix = "737562747265652f76310a00176f69642f312e332e362e312e342e312e33323437332e3100000000000000001b";
    assert_eq!(hex::encode(&m[..prefix.len() / 2]), prefix);
    assert_eq!(
        &m[m.len() - 48..m.len() - 32],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]
    );
    assert_eq!(&m[m.len() - 32..], &hash);
    assert!(subtree_v1_message("n", 5, "o", 1, 2, &hash).is_err());
    assert!(subtree_v1_message("", 0, "o", 0, 2, &hash).is_err());
    assert!(subtree_v1_message(&"n".repeat(256), 0, "o", 0, 2, &hash).is_err());
}

/// A stand-in "algorithm" for the pluggable subtree/v1 signer: Ed25519 over
/// the raw message (the real deployment plugs ML-DSA-44 in here).
struct RawEd(Ed25519Signer, [u8; 32]);
impl MessageSigner for RawEd {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        self.0.sign(msg)
    }
    fn public_key(&self) -> &[u8] {
        &self.1
    }
}
struct RawEdV(arbor_tlog::keys::Ed25519Verifier, [u8; 32]);
impl MessageVerifier for RawEdV {
    fn verify_message(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.0.verify(msg, sig)
    }
    fn public_key(&self) -> &[u8] {
        &self.1
    }
}

#[test]
fn subtree_v1_note_signer_is_pluggable() {
    let k = Ed25519Signer::from_seed("k", &[3u8; 32]).unwrap();
    let pk = k.public_key();
    let v = k.verifier_key().ed25519_verifier().unwrap();
    let s =
        SubtreeV1NoteSigner::new("oid/1.3.6.1.4.1.32473.1", RawEd(k, pk), 1_700_000_000).unwrap();
    let sv = SubtreeV1NoteVerifier::new("oid/1.3.6.1.4.1.32473.1", RawEdV(v, pk)).unwrap();
    assert_eq!(s.key_hash(), sv.key_hash());
    let note = Note::sign(SPEC_CHECKPOINT, &[&s]).unwrap();
    let parsed = Note::parse(&note.to_bytes()).unwrap();
    parsed.verify(&[&sv]).unwrap();
    // A different size in the body is a different cosigned message.
    let other = SPEC_CHECKPOINT.replace("20852163", "20852164");
    let forged = Note {
        text: other,
        signatures: parsed.signatures.clone(),
    };
    assert!(forged.verify(&[&sv]).is_err());
}

#[test]
fn checkpoint_sign_and_open() {
    use arbor_tlog::checkpoint::{open_checkpoint, sign_checkpoint};
    let log = Ed25519Signer::from_seed("oid/1.3.6.1.4.1.32473.1.0.1", &[4u8; 32]).unwrap();
    let v = log.verifier_key().ed25519_verifier().unwrap();
    let cp = Checkpoint::new("oid/1.3.6.1.4.1.32473.1.0.1", 42, leaf_hash(b"root"));
    let bytes = sign_checkpoint(&cp, &[&log]).unwrap();
    let (got, note) = open_checkpoint(&bytes, &[&v]).unwrap();
    assert_eq!(got, cp);
    assert_eq!(note.signatures.len(), 1);
    // A body that is a valid note but not a checkpoint is rejected as such.
    let not_cp = Note::sign("just text\n", &[&log]).unwrap().to_bytes();
    assert!(matches!(
        open_checkpoint(&not_cp, &[&v]),
        Err(NoteError::BadCheckpoint(_))
    ));
}
