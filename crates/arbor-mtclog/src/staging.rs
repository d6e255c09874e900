//! The staging bundle of one sequencing round (Sunlight's "staging bundle"):
//! every tile and entry-bundle object of the round, written as one mutable
//! object named by the new tree size *before* the checkpoint is signed and
//! swapped into the lock. [`apply`] copies it to the final immutable paths;
//! normal operation and start-up recovery both call it.
//!
//! Format: `arbor-staging/v1\n`, u64 old size, u64 new size, 32-byte new root,
//! u32 object count, then per object a u16 path length, the path, a u32 data
//! length and the data (all big-endian).

use arbor_tlog::Hash;
use arbor_tlog::tile::parse_tile_path;

use crate::error::{LogError, StorageError};
use crate::storage::LogStorage;

const MAGIC: &[u8] = b"arbor-staging/v1\n";

/// One round's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staging {
    /// Tree size before the round.
    pub old_size: u64,
    /// Tree size after the round.
    pub new_size: u64,
    /// Root hash after the round.
    pub root: Hash,
    /// Tile objects, path → bytes.
    pub objects: Vec<(String, Vec<u8>)>,
}

fn bad(what: &str) -> LogError {
    LogError::Inconsistent(format!("malformed staging bundle: {what}"))
}

impl Staging {
    /// Serialises the bundle.
    pub fn encode(&self) -> Vec<u8> {
        let len: usize = self
            .objects
            .iter()
            .map(|(p, d)| 6 + p.len() + d.len())
            .sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 52 + len);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.old_size.to_be_bytes());
        out.extend_from_slice(&self.new_size.to_be_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&(self.objects.len() as u32).to_be_bytes());
        for (p, d) in &self.objects {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(&(d.len() as u32).to_be_bytes());
            out.extend_from_slice(d);
        }
        out
    }

    /// Parses a bundle; every path must be a tlog-tiles path.
    pub fn decode(data: &[u8]) -> Result<Self, LogError> {
        let mut r = data.strip_prefix(MAGIC).ok_or_else(|| bad("magic"))?;
        let old_size = u64::from_be_bytes(take::<8>(&mut r)?);
        let new_size = u64::from_be_bytes(take::<8>(&mut r)?);
        let root = take::<32>(&mut r)?;
        let count = u32::from_be_bytes(take::<4>(&mut r)?);
        let mut objects = Vec::new();
        for _ in 0..count {
            let pl = usize::from(u16::from_be_bytes(take::<2>(&mut r)?));
            let path = std::str::from_utf8(take_n(&mut r, pl)?).map_err(|_| bad("path"))?;
            parse_tile_path(path).map_err(|_| bad("path"))?;
            let dl = u32::from_be_bytes(take::<4>(&mut r)?) as usize;
            let d = take_n(&mut r, dl)?;
            objects.push((path.to_owned(), d.to_vec()));
        }
        if !r.is_empty() || old_size > new_size {
            return Err(bad("trailing bytes or sizes"));
        }
        Ok(Self {
            old_size,
            new_size,
            root,
            objects,
        })
    }
}

fn take_n<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], LogError> {
    if r.len() < n {
        return Err(bad("truncated"));
    }
    let (a, b) = r.split_at(n);
    *r = b;
    Ok(a)
}

fn take<const N: usize>(r: &mut &[u8]) -> Result<[u8; N], LogError> {
    let s = take_n(r, N)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

/// Writes every object of a staging bundle to its final immutable path.
pub fn apply(storage: &dyn LogStorage, staging: &Staging) -> Result<(), StorageError> {
    storage.put_immutable_many(&staging.objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let s = Staging {
            old_size: 3,
            new_size: 5,
            root: [7; 32],
            objects: vec![
                ("tile/0/000.p/5".into(), vec![1; 160]),
                ("tile/entries/000.p/5".into(), vec![2; 10]),
            ],
        };
        let enc = s.encode();
        assert_eq!(Staging::decode(&enc).unwrap(), s);
        assert!(Staging::decode(&enc[..enc.len() - 1]).is_err());
        let mut extra = enc.clone();
        extra.push(0);
        assert!(Staging::decode(&extra).is_err());
        let evil = Staging {
            objects: vec![("checkpoint".into(), vec![])],
            ..s
        };
        assert!(Staging::decode(&evil.encode()).is_err());
    }
}
