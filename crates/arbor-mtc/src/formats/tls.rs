//! TLS presentation-language codec (RFC 9846 §3) for the draft's binary structures:
//! fixed-width big-endian integers (uint8..uint64, incl. uint24 and uint48) and
//! length-prefixed vectors. Readers are strict: callers must call [`Reader::finish`].
use super::error::FormatError;

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        if self.buf.len() < n {
            return Err(FormatError::Truncated(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a big-endian unsigned integer of `width` bytes (1..=8).
    pub(crate) fn uint(&mut self, width: usize, what: &'static str) -> Result<u64, FormatError> {
        let b = self.bytes(width, what)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a vector with a `width`-byte length prefix.
    pub(crate) fn vec(
        &mut self,
        width: usize,
        what: &'static str,
    ) -> Result<&'a [u8], FormatError> {
        let len = self.uint(width, what)?;
        let len = usize::try_from(len).map_err(|_| FormatError::Truncated(what))?;
        self.bytes(len, what)
    }

    /// Returns everything not yet read.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn finish(self, what: &'static str) -> Result<(), FormatError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(FormatError::TrailingData(what, self.buf.len()))
        }
    }
}

/// Appends `v` as a `width`-byte big-endian integer; fails if it does not fit.
pub(crate) fn put_uint(
    out: &mut Vec<u8>,
    width: usize,
    v: u64,
    what: &'static str,
) -> Result<(), FormatError> {
    if width < 8 && v >> (8 * width) != 0 {
        return Err(FormatError::TooLong(
            what,
            usize::try_from(v).unwrap_or(usize::MAX),
        ));
    }
    out.extend_from_slice(&v.to_be_bytes()[8 - width..]);
    Ok(())
}

/// Appends a vector with a `width`-byte length prefix.
pub(crate) fn put_vec(
    out: &mut Vec<u8>,
    width: usize,
    data: &[u8],
    what: &'static str,
) -> Result<(), FormatError> {
    let len = u64::try_from(data.len()).map_err(|_| FormatError::TooLong(what, data.len()))?;
    if width < 8 && len >> (8 * width) != 0 {
        return Err(FormatError::TooLong(what, data.len()));
    }
    put_uint(out, width, len, what)?;
    out.extend_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint_widths_round_trip() {
        let mut out = Vec::new();
        put_uint(&mut out, 3, 0x097b, "x").unwrap();
        put_uint(&mut out, 6, (1 << 48) - 1, "x").unwrap();
        assert_eq!(hex::encode(&out), "00097bffffffffffff");
        let mut r = Reader::new(&out);
        assert_eq!(r.uint(3, "a").unwrap(), 0x097b);
        assert_eq!(r.uint(6, "b").unwrap(), (1 << 48) - 1);
        r.finish("t").unwrap();
        assert!(put_uint(&mut Vec::new(), 6, 1 << 48, "x").is_err());
        assert!(put_vec(&mut Vec::new(), 1, &[0; 256], "x").is_err());
    }

    #[test]
    fn truncated_and_trailing_are_errors() {
        let mut r = Reader::new(&[0, 5, 1]);
        assert_eq!(r.vec(2, "v"), Err(FormatError::Truncated("v")));
        let r = Reader::new(&[1]);
        assert_eq!(r.finish("t"), Err(FormatError::TrailingData("t", 1)));
    }
}
