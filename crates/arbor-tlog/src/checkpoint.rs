//! c2sp.org/tlog-checkpoint note bodies: origin line, tree size (canonical
//! decimal), base64 root hash, then optional non-empty extension lines.
//! Signing and verifying the note is [`crate::note`]'s job.

use base64ct::{Base64, Encoding};

use crate::error::{CheckpointError, NoteError};
use crate::hash::{HASH_SIZE, Hash};
use crate::keys::{NoteSigner, NoteVerifier};
use crate::note::Note;

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (for mtc-tlog: `oid/1.3.6.1.4.1.<caID>.0.<N>`).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// `MTH(D_size)`.
    pub root_hash: Hash,
    /// Extension lines, without their newlines (discouraged; not covered by
    /// `subtree/v1` cosignatures).
    pub extensions: Vec<String>,
}

fn line_ok(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c < ' ')
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root_hash: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions: Vec::new(),
        }
    }

    /// Parses a note text (as returned by [`crate::note::Note::parse`]).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Truncated)?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::Truncated)?;
        let size = lines.next().ok_or(CheckpointError::Truncated)?;
        let root = lines.next().ok_or(CheckpointError::Truncated)?;
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if !line_ok(origin) {
            return Err(CheckpointError::BadLine);
        }
        let size = parse_size(size)?;
        let raw = Base64::decode_vec(root).map_err(|_| CheckpointError::BadRootHash)?;
        let root_hash: Hash = raw.try_into().map_err(|_| CheckpointError::BadRootHash)?;
        let mut extensions = Vec::new();
        for ext in lines {
            if ext.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            if !line_ok(ext) {
                return Err(CheckpointError::BadLine);
            }
            extensions.push(ext.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions,
        })
    }

    /// The note text, each line newline-terminated. Fails on an empty origin,
    /// empty extension, or a line holding a newline/control character.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if !line_ok(&self.origin) {
            return Err(CheckpointError::BadLine);
        }
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            Base64::encode_string(&self.root_hash)
        );
        for e in &self.extensions {
            if e.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            if !line_ok(e) {
                return Err(CheckpointError::BadLine);
            }
            out.push_str(e);
            out.push('\n');
        }
        Ok(out)
    }
}

/// Formats `checkpoint` and signs it with each signer (log key first, by
/// convention), returning the note bytes to serve at `<prefix>/checkpoint`.
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    signers: &[&dyn NoteSigner],
) -> Result<Vec<u8>, NoteError> {
    Ok(Note::sign(&checkpoint.to_text()?, signers)?.to_bytes())
}

/// Parses a signed checkpoint and verifies it against known keys (see
/// [`Note::verify`] for the rules). Returns the body and the parsed note, whose
/// other signatures (e.g. unknown witnesses) the caller may inspect.
pub fn open_checkpoint(
    bytes: &[u8],
    verifiers: &[&dyn NoteVerifier],
) -> Result<(Checkpoint, Note), NoteError> {
    let note = Note::parse(bytes)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    note.verify(verifiers)?;
    Ok((checkpoint, note))
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(CheckpointError::BadSize);
    }
    s.parse().map_err(|_| CheckpointError::BadSize)
}

const _: () = assert!(HASH_SIZE == 32);

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn spec_example_round_trips() {
        let c = Checkpoint::parse(SPEC).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20_852_163);
        assert!(c.extensions.is_empty());
        assert_eq!(c.to_text().unwrap(), SPEC);
        let with_ext = format!("{SPEC}ext one\n");
        assert_eq!(
            Checkpoint::parse(&with_ext).unwrap().extensions,
            vec!["ext one"]
        );
    }

    #[test]
    fn rejects() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            format!("o\n1\n{root}"),
            "o\n1\n".to_owned(),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_owned(),
            "o\n1\nAAAA\n".to_owned(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\nx\n\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size,
            0
        );
    }
}
