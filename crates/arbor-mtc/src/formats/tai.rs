//! Trust anchor IDs (draft-ietf-tls-trust-anchor-ids §3) as MTC uses them (draft §5.1):
//! the binary form (base-128 RELATIVE-OID contents octets), the ASCII form (dotted
//! decimal), the arc a CA ID reserves (`caID.0.N` logs, `caID.1.N.L` landmarks,
//! `caID.2.N.L` landmark groups), the CA-ID distinguished name, the `oid/1.3.6.1.4.1.`
//! note names, and serial numbers `(log << 48) | index` (draft §6.2).
use std::fmt;
use std::str::FromStr;

use der::{Decode, Encode, Tag, Tagged};
use x509_cert::name::Name;

use super::der_util::{sequence, wrap};
use super::error::FormatError;
use crate::version::{CURRENT, MAX_TREE_SIZE};

/// Prefix of a cosigner name or log origin (draft §5.3.1 "Signature Format").
pub const NOTE_NAME_PREFIX: &str = "oid/1.3.6.1.4.1.";

/// A trust anchor ID, stored in its binary form (1..=255 bytes).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrustAnchorId(Vec<u8>);

impl TrustAnchorId {
    /// Parses and validates the binary form (minimal base-128 components).
    pub fn from_binary(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.is_empty() || bytes.len() > 255 {
            return Err(FormatError::BadTrustAnchorId(
                "length must be 1..=255 bytes",
            ));
        }
        decode_components(bytes)?;
        Ok(TrustAnchorId(bytes.to_vec()))
    }

    /// Builds an ID from its components (at least one).
    pub fn from_components(components: &[u64]) -> Result<Self, FormatError> {
        if components.is_empty() {
            return Err(FormatError::BadTrustAnchorId("no components"));
        }
        let mut out = Vec::new();
        for &c in components {
            encode_component(&mut out, c);
        }
        Self::from_binary(&out)
    }

    /// The binary form (what goes on the wire).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The dotted-decimal components.
    pub fn components(&self) -> Vec<u64> {
        // Validated at construction, so decoding cannot fail.
        decode_components(&self.0).unwrap_or_default()
    }

    /// This ID with `more` components appended.
    pub fn child(&self, more: &[u64]) -> Result<Self, FormatError> {
        let mut out = self.0.clone();
        for &c in more {
            encode_component(&mut out, c);
        }
        Self::from_binary(&out)
    }

    /// Log ID of log `log` of this CA: `caID.0.log` (draft §5.2).
    pub fn log_id(&self, log: u16) -> Result<Self, FormatError> {
        self.child(&[0, u64::from(log)])
    }

    /// Trust anchor ID of landmark `landmark` of log `log`: `caID.1.log.landmark`.
    pub fn landmark_id(&self, log: u16, landmark: u64) -> Result<Self, FormatError> {
        self.child(&[1, u64::from(log), landmark])
    }

    /// Landmark group `caID.2.log.landmark` (draft §7.2.1).
    pub fn landmark_group_id(&self, log: u16, landmark: u64) -> Result<Self, FormatError> {
        self.child(&[2, u64::from(log), landmark])
    }

    /// The base `caID.2.log` of this CA's landmark groups for `log`.
    pub fn landmark_group_base(&self, log: u16) -> Result<Self, FormatError> {
        self.child(&[2, u64::from(log)])
    }

    /// The note/cosigner name or log origin: `oid/1.3.6.1.4.1.<ascii>`.
    pub fn note_name(&self) -> String {
        format!("{NOTE_NAME_PREFIX}{self}")
    }

    /// DER of the distinguished name with one RDN holding one `id-rdna-trustAnchorID`
    /// attribute whose value is this ID as a RELATIVE-OID (draft §5.1).
    pub fn to_name(&self) -> Result<Name, FormatError> {
        Name::from_der(&self.to_name_der()?).map_err(FormatError::der("trust anchor ID DN"))
    }

    /// DER encoding of [`Self::to_name`].
    pub fn to_name_der(&self) -> Result<Vec<u8>, FormatError> {
        const WHAT: &str = "trust anchor ID DN";
        let oid = CURRENT
            .trust_anchor_id_attr()
            .to_der()
            .map_err(FormatError::der(WHAT))?;
        let atv = sequence(&[&oid, &wrap(Tag::RelativeOid, &self.0, WHAT)?], WHAT)?;
        sequence(&[&wrap(Tag::Set, &atv, WHAT)?], WHAT)
    }

    /// Reads a CA ID back from a distinguished name; fails unless the name is exactly
    /// one RDN with one `id-rdna-trustAnchorID` RELATIVE-OID attribute.
    pub fn from_name(name: &Name) -> Result<Self, FormatError> {
        let rdns: Vec<_> = name.iter_rdn().collect();
        let [rdn] = rdns.as_slice() else {
            return Err(FormatError::IssuerNotTrustAnchorId);
        };
        let atvs: Vec<_> = rdn.iter().collect();
        let [atv] = atvs.as_slice() else {
            return Err(FormatError::IssuerNotTrustAnchorId);
        };
        if atv.oid != CURRENT.trust_anchor_id_attr() || atv.value.tag() != Tag::RelativeOid {
            return Err(FormatError::IssuerNotTrustAnchorId);
        }
        Self::from_binary(atv.value.value())
    }

    /// [`Self::from_name`] over DER bytes.
    pub fn from_name_der(der: &[u8]) -> Result<Self, FormatError> {
        let name = Name::from_der(der).map_err(FormatError::der("distinguished name"))?;
        Self::from_name(&name)
    }
}

fn encode_component(out: &mut Vec<u8>, c: u64) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut v = c;
    loop {
        groups[n] = (v & 0x7f) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i == 0 { 0 } else { 0x80 });
    }
}

fn decode_components(bytes: &[u8]) -> Result<Vec<u64>, FormatError> {
    let mut out = Vec::new();
    let mut cur: u64 = 0;
    let mut started = false;
    for &b in bytes {
        if !started && b == 0x80 {
            return Err(FormatError::BadTrustAnchorId(
                "non-minimal base-128 component",
            ));
        }
        if cur >> 57 != 0 {
            return Err(FormatError::BadTrustAnchorId("component exceeds 64 bits"));
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        started = true;
        if b & 0x80 == 0 {
            out.push(cur);
            cur = 0;
            started = false;
        }
    }
    if started {
        return Err(FormatError::BadTrustAnchorId(
            "last component is unterminated",
        ));
    }
    Ok(out)
}

impl fmt::Display for TrustAnchorId {
    /// The ASCII form, e.g. `32473.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.components().iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

impl fmt::Debug for TrustAnchorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustAnchorId({self})")
    }
}

impl FromStr for TrustAnchorId {
    type Err = FormatError;

    /// Parses the ASCII form: dotted decimal, no leading zeros, no empty components.
    fn from_str(s: &str) -> Result<Self, FormatError> {
        let mut comps = Vec::new();
        for part in s.split('.') {
            let ok = !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'));
            if !ok {
                return Err(FormatError::BadTrustAnchorId(
                    "ASCII form must be dotted decimal",
                ));
            }
            comps.push(
                part.parse::<u64>()
                    .map_err(|_| FormatError::BadTrustAnchorId("component exceeds 64 bits"))?,
            );
        }
        Self::from_components(&comps)
    }
}

/// Serial number of entry `index` in log `log`: `(log << 48) | index` (draft §6.2).
pub fn serial_number(log: u16, index: u64) -> Result<u64, FormatError> {
    if log == 0 {
        return Err(FormatError::LogNumber(0));
    }
    if index > MAX_TREE_SIZE {
        return Err(FormatError::IndexRange(index));
    }
    Ok((u64::from(log) << 48) | index)
}

/// Splits a serial into `(log, index)`; the log number may be 0 (callers reject it).
pub fn split_serial(serial: u64) -> (u16, u64) {
    ((serial >> 48) as u16, serial & MAX_TREE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_ascii_forms() {
        let id: TrustAnchorId = "32473.1".parse().unwrap();
        assert_eq!(hex::encode(id.as_bytes()), "81fd5901");
        assert_eq!(id.to_string(), "32473.1");
        assert_eq!(id.log_id(1).unwrap().to_string(), "32473.1.0.1");
        assert_eq!(id.landmark_id(8, 42).unwrap().to_string(), "32473.1.1.8.42");
        assert_eq!(
            id.landmark_group_id(8, 42).unwrap().to_string(),
            "32473.1.2.8.42"
        );
        assert_eq!(id.note_name(), "oid/1.3.6.1.4.1.32473.1");
        let big = TrustAnchorId::from_components(&[u64::MAX, 0]).unwrap();
        assert_eq!(big.components(), vec![u64::MAX, 0]);
        assert_eq!(big.to_string().parse::<TrustAnchorId>().unwrap(), big);
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in ["", "1..2", "01.2", "1.a", "1.", "99999999999999999999"] {
            assert!(bad.parse::<TrustAnchorId>().is_err(), "{bad}");
        }
        assert!(TrustAnchorId::from_binary(&[]).is_err());
        assert!(TrustAnchorId::from_binary(&[0x81]).is_err());
        assert!(TrustAnchorId::from_binary(&[0x80, 0x01]).is_err());
        assert!(TrustAnchorId::from_binary(&[0x82; 11]).is_err());
    }

    #[test]
    fn name_der_matches_draft_bytes() {
        let id: TrustAnchorId = "32473.1".parse().unwrap();
        let der = id.to_name_der().unwrap();
        assert_eq!(
            hex::encode(&der),
            "30143112301006082b060105050719030d0481fd5901"
        );
        assert_eq!(TrustAnchorId::from_name_der(&der).unwrap(), id);
    }

    #[test]
    fn serials() {
        assert_eq!(serial_number(1, 32).unwrap(), 0x0001_0000_0000_0020);
        assert_eq!(split_serial(0x0001_0000_0000_0020), (1, 32));
        assert!(serial_number(0, 1).is_err());
        assert!(serial_number(1, 1 << 48).is_err());
        assert_eq!(split_serial(u64::MAX), (0xffff, MAX_TREE_SIZE));
    }
}
