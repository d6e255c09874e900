//! c2sp.org/signed-note: a UTF-8 text ending in a newline, a blank line, and
//! signature lines `— <name> base64(keyID[4] || signature)`. Parsing is
//! strict (no control characters but `\n`, canonical padded base64, at most
//! [`MAX_SIGNATURES`] lines, no duplicate (name, ID) pairs); verification
//! follows the spec: unknown keys are ignored, a known key that fails rejects
//! the note, and at least one known key must verify.

use base64ct::{Base64, Encoding};

use crate::error::NoteError;
use crate::keys::{NoteSigner, NoteVerifier, check_key_name};

/// Largest number of signature lines accepted (the spec requires ≥ 16).
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted, in bytes (room for 100 ML-DSA-87 signatures).
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// The signature line prefix: U+2014 EM DASH and a space.
pub const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID (first four bytes of the decoded blob).
    pub key_id: [u8; 4],
    /// Signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line `— <name> base64(id || sig)\n`.
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        format!(
            "{SIG_PREFIX}{} {}\n",
            self.name,
            Base64::encode_string(&blob)
        )
    }

    fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(NoteError::Malformed("signature line prefix"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("signature line"))?;
        check_key_name(name)?;
        let blob = Base64::decode_vec(b64).map_err(|_| NoteError::Malformed("signature base64"))?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        let (id, sig) = blob.split_at(4);
        Ok(Self {
            name: name.to_owned(),
            key_id: [id[0], id[1], id[2], id[3]],
            signature: sig.to_vec(),
        })
    }
}

/// A signed note: its text (with the final newline) and signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in `\n`.
    pub text: String,
    /// Signature lines in order.
    pub signatures: Vec<NoteSignature>,
}

/// Checks the text rules shared by parse and sign.
pub fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end in a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    Ok(())
}

impl Note {
    /// Parses a signed note, checking syntax only.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge);
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        if s.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed("control character"));
        }
        if !s.ends_with('\n') {
            return Err(NoteError::Malformed("missing final newline"));
        }
        let split = s
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before signatures"))?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let mut signatures: Vec<NoteSignature> = Vec::with_capacity(lines.len());
        for line in lines {
            let sig = NoteSignature::parse_line(line)?;
            if signatures
                .iter()
                .any(|o| o.name == sig.name && o.key_id == sig.key_id)
            {
                return Err(NoteError::Malformed("duplicate signature"));
            }
            signatures.push(sig);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// A note over `text` signed by each signer in order.
    pub fn sign(text: &str, signers: &[&dyn NoteSigner]) -> Result<Self, NoteError> {
        check_text(text)?;
        let mut note = Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        };
        for s in signers {
            note.add_signature(*s)?;
        }
        Ok(note)
    }

    /// Appends a signature by `signer` over the text.
    pub fn add_signature(&mut self, signer: &dyn NoteSigner) -> Result<(), NoteError> {
        check_key_name(signer.name())?;
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let signature = signer.sign(self.text.as_bytes())?;
        if signature.is_empty() {
            return Err(NoteError::SignFailed);
        }
        self.signatures.push(NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.key_hash(),
            signature,
        });
        Ok(())
    }

    /// Serialises the note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 128 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out.into_bytes()
    }

    /// Verifies against known keys. Returns the signatures that verified (in
    /// note order). Unknown (name, ID) pairs are ignored; a known key whose
    /// signature fails rejects the note; no known signature rejects it too.
    pub fn verify(
        &self,
        verifiers: &[&dyn NoteVerifier],
    ) -> Result<Vec<&NoteSignature>, NoteError> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers
                .iter()
                .find(|v| v.name() == sig.name && v.key_hash() == sig.key_id)
            else {
                continue;
            };
            if !v.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature(sig.name.clone()));
            }
            ok.push(sig);
        }
        if ok.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "— a AAAAAAE=\n";

    #[test]
    fn structural_rejects() {
        let good = format!("hi\n\n{SIG}");
        assert!(Note::parse(good.as_bytes()).is_ok());
        for bad in [
            "hi\n\n".to_owned(),                 // no signatures
            format!("hi\n{SIG}"),                // no blank line
            format!("hi\n\n{}", SIG.trim_end()), // no final newline
            format!("hi\r\n\n{SIG}"),            // control char
            format!("hi\t\n\n{SIG}"),            // control char
            format!("hi\n\n{SIG}{SIG}"),         // duplicate
            "hi\n\n— a AAAAAA==\n".to_owned(),   // too short
            "hi\n\n— a+b AAAAAAE=\n".to_owned(), // '+' in name
            "hi\n\n— a AAAAAAE\n".to_owned(),    // unpadded
            "hi\n\n- a AAAAAAE=\n".to_owned(),   // ASCII dash
            "hi\n\n—  a AAAAAAE=\n".to_owned(),  // empty name
            format!("hi\n\n{SIG}\n"),            // trailing blank
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Note::parse(b"\xff\n\n\xe2\x80\x94 a AAAAAAE=\n").is_err());
    }

    #[test]
    fn signature_limit() {
        let mut s = String::from("t\n\n");
        for i in 0..=MAX_SIGNATURES {
            s.push_str(&format!("— k{i} AAAAAAE=\n"));
        }
        assert_eq!(Note::parse(s.as_bytes()), Err(NoteError::TooManySignatures));
    }
}
