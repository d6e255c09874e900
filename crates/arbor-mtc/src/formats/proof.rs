//! `MTCProof`, the certificate's signatureValue (draft §6.2 "Certificate Format"):
//! entry extensions, uint48 `start`/`end`, the subtree inclusion proof, and the subtree
//! signatures (uint24 length since -06), sorted by cosigner ID (shorter first, then
//! bytewise) without duplicates. Decoding is strict: order, lengths, no trailing bytes.
use std::cmp::Ordering;

use super::entry::EntryExtensions;
use super::error::FormatError;
use super::tai::TrustAnchorId;
use super::tls::{Reader, put_uint, put_vec};
use crate::tlog::Hash;
use crate::version::{CURRENT, HASH_SIZE, MAX_TREE_SIZE};

/// One `SubtreeSignature`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubtreeSignature {
    pub cosigner_id: TrustAnchorId,
    pub signature: Vec<u8>,
}

/// The draft's cosigner-ID order: shorter byte strings first, then lexicographic.
pub fn cosigner_order(a: &TrustAnchorId, b: &TrustAnchorId) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `MTCProof`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtcProof {
    pub extensions: EntryExtensions,
    pub start: u64,
    pub end: u64,
    pub inclusion_proof: Vec<Hash>,
    pub signatures: Vec<SubtreeSignature>,
}

impl MtcProof {
    /// Builds a proof, sorting `signatures` into the required order; fails on duplicates.
    pub fn new(
        extensions: EntryExtensions,
        start: u64,
        end: u64,
        inclusion_proof: Vec<Hash>,
        mut signatures: Vec<SubtreeSignature>,
    ) -> Result<Self, FormatError> {
        signatures.sort_by(|a, b| cosigner_order(&a.cosigner_id, &b.cosigner_id));
        let proof = MtcProof {
            extensions,
            start,
            end,
            inclusion_proof,
            signatures,
        };
        proof.check_signature_order()?;
        Ok(proof)
    }

    fn check_signature_order(&self) -> Result<(), FormatError> {
        for w in self.signatures.windows(2) {
            match cosigner_order(&w[0].cosigner_id, &w[1].cosigner_id) {
                Ordering::Less => {}
                Ordering::Equal => {
                    return Err(FormatError::DuplicateCosigner(w[0].cosigner_id.to_string()));
                }
                Ordering::Greater => return Err(FormatError::CosignersUnsorted),
            }
        }
        Ok(())
    }

    /// Encodes the proof (fails if signatures are out of order or a field overflows).
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        self.check_signature_order()?;
        if self.start > MAX_TREE_SIZE || self.end > MAX_TREE_SIZE {
            return Err(FormatError::SubtreeRange(self.start, self.end));
        }
        let mut out = Vec::new();
        self.extensions.encode_into(&mut out)?;
        put_uint(&mut out, 6, self.start, "start")?;
        put_uint(&mut out, 6, self.end, "end")?;
        put_vec(
            &mut out,
            2,
            &self.inclusion_proof.concat(),
            "inclusion_proof",
        )?;
        let mut sigs = Vec::new();
        for s in &self.signatures {
            put_vec(&mut sigs, 1, s.cosigner_id.as_bytes(), "cosigner_id")?;
            put_vec(&mut sigs, 2, &s.signature, "signature")?;
        }
        put_vec(
            &mut out,
            CURRENT.signatures_len_width(),
            &sigs,
            "signatures",
        )?;
        Ok(out)
    }

    /// Decodes a proof strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes);
        let extensions = EntryExtensions::decode_from(&mut r)?;
        let start = r.uint(6, "start")?;
        let end = r.uint(6, "end")?;
        let raw = r.vec(2, "inclusion_proof")?;
        if raw.len() % HASH_SIZE != 0 {
            return Err(FormatError::ProofLength(raw.len()));
        }
        let inclusion_proof = raw
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                c.try_into()
                    .map_err(|_| FormatError::ProofLength(raw.len()))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        let mut sigs = Reader::new(r.vec(CURRENT.signatures_len_width(), "signatures")?);
        r.finish("MTCProof")?;
        let mut signatures = Vec::new();
        while !sigs.is_empty() {
            let cosigner_id = TrustAnchorId::from_binary(sigs.vec(1, "cosigner_id")?)?;
            let signature = sigs.vec(2, "signature")?.to_vec();
            signatures.push(SubtreeSignature {
                cosigner_id,
                signature,
            });
        }
        let proof = MtcProof {
            extensions,
            start,
            end,
            inclusion_proof,
            signatures,
        };
        proof.check_signature_order()?;
        Ok(proof)
    }

    /// Size in bytes of the encoded proof.
    pub fn encoded_len(&self) -> usize {
        self.encode().map(|v| v.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(id: &[u8], s: &[u8]) -> SubtreeSignature {
        SubtreeSignature {
            cosigner_id: TrustAnchorId::from_binary(id).unwrap(),
            signature: s.to_vec(),
        }
    }

    #[test]
    fn empty_proof_is_19_bytes() {
        let p = MtcProof::new(EntryExtensions::default(), 0, 0, vec![], vec![]).unwrap();
        assert_eq!(p.encode().unwrap().len(), 19);
    }

    #[test]
    fn boulder_layout_with_uint24_signatures() {
        // Boulder's -05 vector, with the -07 uint24 signatures length.
        let (h1, h2) = ([0x11u8; 32], [0x22u8; 32]);
        let p = MtcProof::new(
            EntryExtensions::default(),
            123,
            456,
            vec![h1, h2],
            vec![sig(&[0x01, 0x02], &[]), sig(&[0x2a], &[0xbb, 0xcc])],
        )
        .unwrap();
        let enc = p.encode().unwrap();
        let want = format!(
            "0000{}{}0040{}{}00000b012a0002bbcc0201020000",
            "00000000007b",
            "0000000001c8",
            hex::encode(h1),
            hex::encode(h2)
        );
        assert_eq!(hex::encode(&enc), want);
        assert_eq!(MtcProof::decode(&enc).unwrap(), p);
    }

    #[test]
    fn strict_decoding() {
        let p = MtcProof::new(
            EntryExtensions::default(),
            0,
            2,
            vec![[7; 32]],
            vec![sig(&[1], b"a"), sig(&[2], b"b")],
        )
        .unwrap();
        let enc = p.encode().unwrap();
        let mut trailing = enc.clone();
        trailing.push(0);
        assert_eq!(
            MtcProof::decode(&trailing),
            Err(FormatError::TrailingData("MTCProof", 1))
        );
        // Swap cosigner IDs 1 and 2 on the wire.
        let mut unsorted = enc.clone();
        let n = unsorted.len();
        unsorted[n - 4] = 1;
        unsorted[n - 9] = 2;
        assert_eq!(
            MtcProof::decode(&unsorted),
            Err(FormatError::CosignersUnsorted)
        );
        unsorted[n - 9] = 1;
        assert!(matches!(
            MtcProof::decode(&unsorted),
            Err(FormatError::DuplicateCosigner(_))
        ));
        assert!(MtcProof::decode(&enc[..enc.len() - 1]).is_err());
        let dup = MtcProof::new(
            EntryExtensions::default(),
            0,
            2,
            vec![],
            vec![sig(&[1], b"a"), sig(&[1], b"b")],
        );
        assert!(matches!(dup, Err(FormatError::DuplicateCosigner(_))));
        // A proof whose length is not a multiple of 32.
        let mut odd = vec![0, 0];
        odd.extend_from_slice(&[0; 12]);
        odd.extend_from_slice(&[0, 1, 9, 0, 0, 0]);
        assert_eq!(MtcProof::decode(&odd), Err(FormatError::ProofLength(1)));
    }
}
