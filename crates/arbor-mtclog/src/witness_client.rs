//! The log's side of c2sp.org/tlog-witness: after each round, send the new
//! checkpoint to every configured witness with `add-checkpoint` (retrying once
//! with the size a 409 reports), then ask it to `sign-subtree` each covering
//! subtree (draft §5.4: external cosignatures on standalone subtrees). Failures
//! are logged and only drop that witness's signatures.

use arbor_mtc::SubtreeSignature;
use arbor_tlog::cosignature::{split_timestamped, subtree_v1_message};
use arbor_tlog::note::{Note, NoteSignature};
use arbor_tlog::{Hash, consistency_proof, subtree_consistency_proof};
use base64ct::{Base64, Encoding};
use thiserror::Error;

use crate::log::{IssuanceLog, PublishedCheckpoint};
use crate::reader::TileReader;
use crate::sequencer::{SignedSubtree, Writer};
use crate::signer::WitnessEndpoint;
use crate::storage::CHECKPOINT_PATH;

/// Why a witness request failed.
#[derive(Debug, Error)]
pub enum WitnessClientError {
    /// Transport failure.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The witness answered with an error status.
    #[error("witness answered {0}")]
    Status(u16),
    /// The answer is not a signature from this witness.
    #[error("malformed witness answer")]
    Malformed,
    /// The subtree signature does not verify under the configured key.
    #[error("witness subtree signature does not verify")]
    BadSignature,
    /// Computing a proof failed.
    #[error(transparent)]
    Log(#[from] crate::error::LogError),
}

/// The `old <size>` / `subtree` request bodies share this proof block.
fn proof_lines(proof: &[Hash]) -> String {
    proof
        .iter()
        .map(|h| format!("{}\n", Base64::encode_string(h)))
        .collect()
}

/// Finds `name`'s signature in signature lines answered for `note`.
fn parse_sig(note: &Note, body: &[u8], name: &str) -> Result<NoteSignature, WitnessClientError> {
    let mut bytes = note.text.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(body);
    let parsed = Note::parse(&bytes).map_err(|_| WitnessClientError::Malformed)?;
    parsed
        .signatures
        .into_iter()
        .find(|s| s.name == name)
        .ok_or(WitnessClientError::Malformed)
}

impl IssuanceLog {
    async fn post(&self, url: String, body: String) -> Result<(u16, Vec<u8>), WitnessClientError> {
        let resp = self.http.post(url).body(body).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?.to_vec()))
    }

    async fn proof(
        &self,
        start: u64,
        end: u64,
        size: u64,
    ) -> Result<Vec<Hash>, WitnessClientError> {
        let storage = self.storage.clone();
        let p = tokio::task::spawn_blocking(move || {
            let r = TileReader::new(storage.as_ref(), size);
            if start == 0 {
                consistency_proof(&r, end, size)
            } else {
                subtree_consistency_proof(&r, start, end, size)
            }
        })
        .await
        .map_err(crate::error::LogError::from)?
        .map_err(crate::error::LogError::from)?;
        Ok(p)
    }

    async fn witness_one(
        &self,
        ep: &WitnessEndpoint,
        known_size: &mut u64,
        note: &Note,
        size: u64,
        subtrees: &[SignedSubtree],
    ) -> Result<(NoteSignature, Vec<SubtreeSignature>), WitnessClientError> {
        let name = ep.cosigner_id.note_name();
        let prefix = ep.url.trim_end_matches('/');
        let note_bytes = note.to_bytes();
        let mut attempt = 0;
        let cosig = loop {
            let old = (*known_size).min(size);
            let proof = self.proof(0, old, size).await?;
            let body = format!(
                "old {old}\n{}\n{}",
                proof_lines(&proof),
                String::from_utf8_lossy(&note_bytes)
            );
            let (status, answer) = self.post(format!("{prefix}/add-checkpoint"), body).await?;
            match status {
                200 => break parse_sig(note, &answer, &name)?,
                409 if attempt == 0 => {
                    let text = String::from_utf8_lossy(&answer);
                    *known_size = text
                        .trim()
                        .parse()
                        .map_err(|_| WitnessClientError::Malformed)?;
                    attempt += 1;
                }
                s => return Err(WitnessClientError::Status(s)),
            }
        };
        *known_size = size;
        let mut cosigned = note.clone();
        cosigned.signatures.push(cosig.clone());
        let cosigned = String::from_utf8_lossy(&cosigned.to_bytes()).into_owned();
        let mut sigs = Vec::new();
        for st in subtrees {
            let proof = self.proof(st.start, st.end, size).await?;
            let body = format!(
                "subtree {} {}\n{}\n{}\n{}",
                st.start,
                st.end,
                Base64::encode_string(&st.hash),
                proof_lines(&proof),
                cosigned
            );
            let (status, answer) = self.post(format!("{prefix}/sign-subtree"), body).await?;
            if status != 200 {
                return Err(WitnessClientError::Status(status));
            }
            let sig = parse_sig(note, &answer, &name)?;
            let (ts, raw) =
                split_timestamped(&sig.signature).ok_or(WitnessClientError::Malformed)?;
            if ts != 0 {
                return Err(WitnessClientError::Malformed);
            }
            if let Some(v) = &ep.verifier {
                let msg = subtree_v1_message(&name, 0, &self.origin, st.start, st.end, &st.hash)
                    .map_err(|_| WitnessClientError::Malformed)?;
                if !v.verify_message(&msg, raw) {
                    return Err(WitnessClientError::BadSignature);
                }
            }
            sigs.push(SubtreeSignature {
                cosigner_id: ep.cosigner_id.clone(),
                signature: raw.to_vec(),
            });
        }
        Ok((cosig, sigs))
    }

    /// Asks every witness; adds their checkpoint cosignatures to `published`
    /// (re-publishing it) and their subtree signatures to `subtrees`.
    pub(crate) async fn collect_witnesses(
        &self,
        w: &mut Writer,
        _old_size: u64,
        published: &mut PublishedCheckpoint,
        subtrees: &mut [SignedSubtree],
    ) {
        let Ok(mut note) = Note::parse(&published.note) else {
            return;
        };
        let base = note.clone();
        let size = published.checkpoint.size;
        let mut added = false;
        for ep in &self.config.witnesses {
            let known = w.witness_sizes.entry(ep.url.clone()).or_insert(0);
            match self.witness_one(ep, known, &base, size, subtrees).await {
                Ok((cosig, sigs)) => {
                    note.signatures.push(cosig);
                    for (st, sig) in subtrees.iter_mut().zip(sigs) {
                        st.signatures.push(sig);
                    }
                    added = true;
                }
                Err(e) => tracing::warn!(witness = %ep.url, error = %e, "witness failed"),
            }
        }
        if added {
            published.note = note.to_bytes();
            let (storage, bytes) = (self.storage.clone(), published.note.clone());
            let res =
                tokio::task::spawn_blocking(move || storage.put_mutable(CHECKPOINT_PATH, &bytes))
                    .await;
            if !matches!(res, Ok(Ok(()))) {
                tracing::warn!("could not publish the witnessed checkpoint");
            }
            self.set_current(published.clone());
        }
    }
}
