//! Unguessable identifiers for resource URLs, challenge tokens (RFC 8555 §11.3: at least
//! 128 bits of entropy, base64url) and certificate serials (BR §7.1: at least 64 bits from a
//! CSPRNG, positive, at most 20 octets).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // SystemRandom only fails if the OS RNG is unavailable, which no later step survives.
    SystemRandom::new()
        .fill(&mut b)
        .expect("operating system random number generator failed");
    b
}

/// A resource id: 96 random bits, base64url (16 characters).
pub fn new_id() -> String {
    arbor_proto::b64::encode(&random_bytes::<12>())
}

/// A challenge token: 128 random bits, base64url (RFC 8555 §8.1, §11.3).
pub fn new_token() -> String {
    arbor_proto::b64::encode(&random_bytes::<16>())
}

/// A 256-bit secret (EAB HMAC keys).
pub fn random_key() -> Vec<u8> {
    random_bytes::<32>().to_vec()
}

/// Serial length in bytes: 1 fixed-high-bit-clear byte + 15 random bytes = 127 random bits.
pub const SERIAL_LEN: usize = 16;

/// A certificate serial: positive (top bit clear), never starting with a zero byte (so its
/// DER INTEGER needs no padding and its hex form is canonical), ≥ 120 random bits.
pub fn new_serial() -> Vec<u8> {
    let mut b = random_bytes::<SERIAL_LEN>();
    b[0] = (b[0] & 0x7f) | 0x01;
    b.to_vec()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        assert_eq!(super::new_id().len(), 16);
        assert_eq!(super::new_token().len(), 22);
        let s = super::new_serial();
        assert_eq!(s.len(), 16);
        assert!(s[0] & 0x80 == 0 && s[0] != 0);
        assert_ne!(super::new_serial(), s);
    }
}
