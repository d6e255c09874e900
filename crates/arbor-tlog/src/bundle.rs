//! C2SP tlog-tiles entry bundles (c2sp.org/tlog-tiles "Log entries"): a
//! sequence of big-endian uint16 length-prefixed entries, at most 256 per
//! bundle. For mtc-tlog each entry is one MTCLogEntry, hence the 65535-byte
//! entry limit of draft-ietf-plants-merkle-tree-certs §5.3.1.

use crate::error::TileError;
use crate::tile::TILE_WIDTH;

/// Largest entry a bundle can carry.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Encodes entries as a bundle.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    if entries.len() as u64 > TILE_WIDTH {
        return Err(TileError::TooManyEntries);
    }
    let mut out = Vec::with_capacity(entries.iter().map(|e| 2 + e.as_ref().len()).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes a bundle into borrowed entries. Rejects truncation and more than
/// 256 entries; the caller checks the count against the tile width.
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if out.len() as u64 == TILE_WIDTH {
            return Err(TileError::TooManyEntries);
        }
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(TileError::TruncatedBundle)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TileError::TruncatedBundle);
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry);
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let entries: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            vec![7u8; 300],
            vec![0u8; MAX_ENTRY_SIZE],
        ];
        let b = encode_bundle(&entries).unwrap();
        assert_eq!(&b[..5], &[0, 0, 0, 1, b'a']);
        assert_eq!(
            decode_bundle(&b).unwrap(),
            entries.iter().map(|e| e.as_slice()).collect::<Vec<_>>()
        );
        assert_eq!(
            decode_bundle(&b[..b.len() - 1]),
            Err(TileError::TruncatedBundle)
        );
        assert_eq!(decode_bundle(&[0]), Err(TileError::TruncatedBundle));
        assert_eq!(
            encode_bundle(&[vec![0u8; MAX_ENTRY_SIZE + 1]]),
            Err(TileError::EntryTooLarge(65536))
        );
        let many = vec![vec![1u8]; 257];
        assert_eq!(encode_bundle(&many), Err(TileError::TooManyEntries));
        let mut raw = encode_bundle(&many[..256]).unwrap();
        assert_eq!(decode_bundle(&raw).unwrap().len(), 256);
        raw.extend_from_slice(&[0, 0]);
        assert_eq!(decode_bundle(&raw), Err(TileError::TooManyEntries));
    }
}
