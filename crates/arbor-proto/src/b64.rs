//! Unpadded base64url (RFC 4648 §5) as ACME uses it everywhere (RFC 8555 §6.1).

use base64ct::{Base64UrlUnpadded, Encoding};

/// Encodes without padding.
pub fn encode(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(data)
}

/// Decodes strictly: no padding, no whitespace, only the base64url alphabet.
pub fn decode(s: &str) -> Result<Vec<u8>, B64Error> {
    Base64UrlUnpadded::decode_vec(s).map_err(|_| B64Error)
}

/// Whether `s` is non-empty and only uses the base64url alphabet (token check, §8.1).
pub fn is_base64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The input was not unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64url")]
pub struct B64Error;

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_strict() {
        assert_eq!(super::encode(b"\xfb\xff"), "-_8");
        assert_eq!(super::decode("-_8").unwrap(), b"\xfb\xff");
        assert!(super::decode("-_8=").is_err());
        assert!(super::decode("+/8").is_err());
        assert!(super::is_base64url("abc-_"));
        assert!(!super::is_base64url("a/b"));
    }
}
