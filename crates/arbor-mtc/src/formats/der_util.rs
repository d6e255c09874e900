//! Small DER helpers over the `der` crate: split a constructed value's contents into raw
//! TLVs (so fields can be hashed and re-emitted byte for byte) and wrap contents in a
//! tag/length header.
use der::{Encode, Header, Length, Reader, SliceReader, Tag};

use super::error::FormatError;

/// One raw TLV: its identifier octet and its complete encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) bytes: &'a [u8],
}

/// Splits concatenated DER TLVs (e.g. a SEQUENCE's contents) into their raw encodings.
pub(crate) fn split_tlvs<'a>(
    contents: &'a [u8],
    what: &'static str,
) -> Result<Vec<Tlv<'a>>, FormatError> {
    let mut reader = SliceReader::new(contents).map_err(FormatError::der(what))?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        let bytes = reader.tlv_bytes().map_err(FormatError::der(what))?;
        out.push(Tlv {
            tag: bytes[0],
            bytes,
        });
    }
    Ok(out)
}

/// Reads exactly one TLV with identifier `tag` covering all of `der`; returns its contents.
pub(crate) fn unwrap_tlv<'a>(
    der: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<&'a [u8], FormatError> {
    let mut reader = SliceReader::new(der).map_err(FormatError::der(what))?;
    let header = Header::peek(&reader).map_err(FormatError::der(what))?;
    let found = der.first().copied().unwrap_or(0);
    if found != tag {
        return Err(FormatError::UnexpectedTag { what, found });
    }
    let tlv = reader.tlv_bytes().map_err(FormatError::der(what))?;
    if !reader.is_finished() {
        return Err(FormatError::TrailingData(what, der.len() - tlv.len()));
    }
    let header_len = usize::try_from(header.encoded_len().map_err(FormatError::der(what))?)
        .map_err(FormatError::der(what))?;
    Ok(&tlv[header_len..])
}

/// Encodes `contents` under `tag` with a DER length.
pub(crate) fn wrap(tag: Tag, contents: &[u8], what: &'static str) -> Result<Vec<u8>, FormatError> {
    let len = Length::try_from(contents.len()).map_err(FormatError::der(what))?;
    let mut out = Header::new(tag, len)
        .to_der()
        .map_err(FormatError::der(what))?;
    out.extend_from_slice(contents);
    Ok(out)
}

/// Encodes the concatenation of `parts` as a SEQUENCE.
pub(crate) fn sequence(parts: &[&[u8]], what: &'static str) -> Result<Vec<u8>, FormatError> {
    wrap(Tag::Sequence, &parts.concat(), what)
}
