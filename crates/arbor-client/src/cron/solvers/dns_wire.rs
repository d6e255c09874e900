//! The DNS wire pieces the RFC 2136 solver needs, encoded by hand because they are few:
//! domain names (RFC 1035 §3.1), a query, an UPDATE message (RFC 2136 §2: zone section,
//! "add to an RRset" §2.5.1 and "delete an RR from an RRset" §2.5.4) and TSIG signing
//! (RFC 8945 §4.3: MAC over the message and the TSIG variables, then the TSIG RR appended
//! as the last additional record). Replies are parsed with hickory-proto.
//!
//! Signed replies are verified (RFC 8945 §5.3: request MAC, reply without its TSIG record,
//! TSIG variables; time within the fudge). Deviation: truncated MACs (§5.2.2.1) are refused.

use aws_lc_rs::hmac;

/// RR type TXT.
pub const TYPE_TXT: u16 = 16;
/// RR type SOA.
pub const TYPE_SOA: u16 = 6;
/// RR type TSIG (RFC 8945 §4.2).
pub const TYPE_TSIG: u16 = 250;
/// Class IN.
pub const CLASS_IN: u16 = 1;
/// Class NONE (RFC 2136 §2.5.4, delete an RR).
pub const CLASS_NONE: u16 = 254;
/// Class ANY (TSIG).
pub const CLASS_ANY: u16 = 255;
/// Opcode UPDATE (RFC 2136 §1).
pub const OPCODE_UPDATE: u16 = 5;
/// TSIG fudge, seconds (RFC 8945 §10 recommends 300).
pub const TSIG_FUDGE: u16 = 300;

/// A name that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode DNS name {0:?}")]
pub struct BadName(pub String);

/// Encodes `name` (absolute or not) in canonical lowercase wire form.
pub fn encode_name(name: &str) -> Result<Vec<u8>, BadName> {
    let mut out = Vec::new();
    let trimmed = name.trim_end_matches('.');
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(BadName(name.to_string()));
            }
            out.push(label.len() as u8);
            out.extend(label.to_ascii_lowercase().bytes());
        }
    }
    out.push(0);
    if out.len() > 255 {
        return Err(BadName(name.to_string()));
    }
    Ok(out)
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut h = Vec::with_capacity(12);
    h.extend(id.to_be_bytes());
    h.extend(flags.to_be_bytes());
    for c in counts {
        h.extend(c.to_be_bytes());
    }
    h
}

/// A non-recursive query for `name`/`qtype`.
pub fn query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, BadName> {
    let mut m = header(id, 0, [1, 0, 0, 0]);
    m.extend(encode_name(name)?);
    m.extend(qtype.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    Ok(m)
}

/// What an UPDATE does with one TXT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add it (class IN, with a TTL).
    Add(u32),
    /// Delete exactly this record (class NONE, TTL 0).
    Delete,
}

/// An UPDATE of `zone` adding or deleting the TXT record `name` = `value`.
pub fn update_txt(
    id: u16,
    zone: &str,
    name: &str,
    value: &str,
    change: Change,
) -> Result<Vec<u8>, BadName> {
    if value.len() > 255 {
        return Err(BadName(value.to_string()));
    }
    let mut m = header(id, OPCODE_UPDATE << 11, [1, 0, 1, 0]);
    m.extend(encode_name(zone)?);
    m.extend(TYPE_SOA.to_be_bytes());
    m.extend(CLASS_IN.to_be_bytes());
    m.extend(encode_name(name)?);
    m.extend(TYPE_TXT.to_be_bytes());
    let (class, ttl) = match change {
        Change::Add(ttl) => (CLASS_IN, ttl),
        Change::Delete => (CLASS_NONE, 0),
    };
    m.extend(class.to_be_bytes());
    m.extend(ttl.to_be_bytes());
    let rdata_len = (value.len() + 1) as u16;
    m.extend(rdata_len.to_be_bytes());
    m.push(value.len() as u8);
    m.extend(value.bytes());
    Ok(m)
}

/// A TSIG key (RFC 8945 §4.2: name, algorithm, secret).
#[derive(Clone)]
pub struct TsigKey {
    /// Key name.
    pub name: String,
    /// Algorithm name, e.g. `hmac-sha256`.
    pub algorithm: String,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The HMAC algorithm for a TSIG algorithm name (RFC 8945 §6).
pub fn hmac_algorithm(name: &str) -> Option<hmac::Algorithm> {
    match name.trim_end_matches('.').to_ascii_lowercase().as_str() {
        "hmac-sha256" => Some(hmac::HMAC_SHA256),
        "hmac-sha384" => Some(hmac::HMAC_SHA384),
        "hmac-sha512" => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// Appends a TSIG record signing `msg` (RFC 8945 §4.3.3) at `time_signed` (Unix seconds).
pub fn sign(msg: &[u8], key: &TsigKey, time_signed: u64) -> Result<Vec<u8>, BadName> {
    sign_with_mac(msg, key, time_signed).map(|(m, _)| m)
}

/// Like [`sign`], also returning the MAC (needed to verify the reply, §5.3).
pub fn sign_with_mac(
    msg: &[u8],
    key: &TsigKey,
    time_signed: u64,
) -> Result<(Vec<u8>, Vec<u8>), BadName> {
    let alg = hmac_algorithm(&key.algorithm).ok_or_else(|| BadName(key.algorithm.clone()))?;
    if msg.len() < 12 {
        return Err(BadName("short message".into()));
    }
    let key_name = encode_name(&key.name)?;
    let alg_name = encode_name(&key.algorithm)?;
    let time48 = &time_signed.to_be_bytes()[2..8];
    // TSIG variables (§4.3.3).
    let mut vars = Vec::new();
    vars.extend(&key_name);
    vars.extend(CLASS_ANY.to_be_bytes());
    vars.extend(0u32.to_be_bytes());
    vars.extend(&alg_name);
    vars.extend(time48);
    vars.extend(TSIG_FUDGE.to_be_bytes());
    vars.extend(0u16.to_be_bytes()); // error
    vars.extend(0u16.to_be_bytes()); // other len
    let k = hmac::Key::new(alg, &key.secret);
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(msg);
    ctx.update(&vars);
    let mac = ctx.sign();
    let mac = mac.as_ref();
    let mut rdata = Vec::new();
    rdata.extend(&alg_name);
    rdata.extend(time48);
    rdata.extend(TSIG_FUDGE.to_be_bytes());
    rdata.extend((mac.len() as u16).to_be_bytes());
    rdata.extend(mac);
    rdata.extend(&msg[0..2]); // original ID
    rdata.extend(0u16.to_be_bytes()); // error
    rdata.extend(0u16.to_be_bytes()); // other len
    let mut out = msg.to_vec();
    let arcount = u16::from_be_bytes([out[10], out[11]]).saturating_add(1);
    out[10..12].copy_from_slice(&arcount.to_be_bytes());
    out.extend(&key_name);
    out.extend(TYPE_TSIG.to_be_bytes());
    out.extend(CLASS_ANY.to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend((rdata.len() as u16).to_be_bytes());
    out.extend(rdata);
    Ok((out, mac.to_vec()))
}

fn skip_name(buf: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *buf.get(pos)?;
        if len & 0xC0 == 0xC0 {
            return Some(pos + 2);
        }
        if len == 0 {
            return Some(pos + 1);
        }
        pos += 1 + usize::from(len);
    }
}

fn be16(buf: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*buf.get(pos)?, *buf.get(pos + 1)?]))
}

/// Why a reply's TSIG record was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsigVerifyError {
    /// The reply carries no TSIG record (or a malformed one).
    #[error("reply is not TSIG-signed")]
    Unsigned,
    /// The MAC does not match.
    #[error("reply TSIG MAC does not verify")]
    BadMac,
    /// The signing time is outside the fudge window.
    #[error("reply TSIG time is outside the fudge window")]
    BadTime,
}

/// Verifies the TSIG record of `reply` to a request whose MAC was `request_mac`
/// (RFC 8945 §5.3), at `now` (Unix seconds).
pub fn verify_reply(
    reply: &[u8],
    key: &TsigKey,
    request_mac: &[u8],
    now: u64,
) -> Result<(), TsigVerifyError> {
    use TsigVerifyError::*;
    let alg = hmac_algorithm(&key.algorithm).ok_or(Unsigned)?;
    let counts: Vec<u16> = (0..4)
        .map(|i| be16(reply, 4 + 2 * i))
        .collect::<Option<_>>()
        .ok_or(Unsigned)?;
    if counts[3] == 0 {
        return Err(Unsigned);
    }
    let mut pos = 12;
    for _ in 0..counts[0] {
        pos = skip_name(reply, pos).ok_or(Unsigned)? + 4;
    }
    let rrs = usize::from(counts[1]) + usize::from(counts[2]) + usize::from(counts[3]);
    let mut last_start = pos;
    for _ in 0..rrs {
        last_start = pos;
        let after_name = skip_name(reply, pos).ok_or(Unsigned)?;
        let rdlen = usize::from(be16(reply, after_name + 8).ok_or(Unsigned)?);
        pos = after_name + 10 + rdlen;
    }
    if pos != reply.len() {
        return Err(Unsigned);
    }
    let after_name = skip_name(reply, last_start).ok_or(Unsigned)?;
    if be16(reply, after_name) != Some(TYPE_TSIG) {
        return Err(Unsigned);
    }
    let rd = after_name + 10;
    let alg_end = skip_name(reply, rd).ok_or(Unsigned)?;
    let time_bytes = reply.get(alg_end..alg_end + 6).ok_or(Unsigned)?;
    let fudge = be16(reply, alg_end + 6).ok_or(Unsigned)?;
    let mac_len = usize::from(be16(reply, alg_end + 8).ok_or(Unsigned)?);
    let mac = reply
        .get(alg_end + 10..alg_end + 10 + mac_len)
        .ok_or(Unsigned)?;
    let p = alg_end + 10 + mac_len;
    let orig_id = reply.get(p..p + 2).ok_or(Unsigned)?;
    let error_other = reply.get(p + 2..pos).ok_or(Unsigned)?;
    if mac.is_empty() {
        return Err(Unsigned);
    }
    // The reply as it was before the TSIG record was added.
    let mut unsigned = reply[..last_start].to_vec();
    unsigned[0..2].copy_from_slice(orig_id);
    unsigned[10..12].copy_from_slice(&(counts[3] - 1).to_be_bytes());
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(alg, &key.secret));
    ctx.update(&(request_mac.len() as u16).to_be_bytes());
    ctx.update(request_mac);
    ctx.update(&unsigned);
    ctx.update(&encode_name(&key.name).map_err(|_| Unsigned)?);
    ctx.update(&CLASS_ANY.to_be_bytes());
    ctx.update(&0u32.to_be_bytes());
    ctx.update(&encode_name(&key.algorithm).map_err(|_| Unsigned)?);
    ctx.update(time_bytes);
    ctx.update(&fudge.to_be_bytes());
    ctx.update(error_other);
    let want = ctx.sign();
    if want.as_ref().len() != mac.len()
        || aws_lc_rs::constant_time::verify_slices_are_equal(want.as_ref(), mac).is_err()
    {
        return Err(BadMac);
    }
    let mut t = [0u8; 8];
    t[2..].copy_from_slice(time_bytes);
    let signed = u64::from_be_bytes(t);
    if signed.abs_diff(now) > u64::from(fudge) {
        return Err(BadTime);
    }
    Ok(())
}

/// The RCODE of a reply (low 4 bits of the flags).
pub fn rcode(reply: &[u8]) -> Option<u8> {
    reply.get(3).map(|b| b & 0x0f)
}

/// TXT strings of `name` in the answer section of a reply.
pub fn txt_answers(reply: &[u8], name: &str) -> Vec<String> {
    use hickory_proto::rr::RData;
    let Ok(msg) = hickory_proto::op::Message::from_vec(reply) else {
        return Vec::new();
    };
    let want = name.trim_end_matches('.').to_ascii_lowercase();
    msg.answers
        .iter()
        .filter(|r| {
            r.name
                .to_string()
                .trim_end_matches('.')
                .to_ascii_lowercase()
                == want
        })
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

/// The owner of the SOA record in the answer or authority section (the zone apex).
pub fn soa_owner(reply: &[u8]) -> Option<String> {
    let msg = hickory_proto::op::Message::from_vec(reply).ok()?;
    msg.answers
        .iter()
        .chain(msg.authorities.iter())
        .find(|r| matches!(r.data, hickory_proto::rr::RData::SOA(_)))
        .map(|r| {
            r.name
                .to_string()
                .trim_end_matches('.')
                .to_ascii_lowercase()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_canonically() {
        assert_eq!(encode_name("A.b.").unwrap(), b"\x01a\x01b\x00".to_vec());
        assert_eq!(encode_name(".").unwrap(), vec![0]);
        assert!(encode_name("a..b").is_err());
        assert!(encode_name(&"x".repeat(64)).is_err());
    }

    #[test]
    fn update_parses_in_hickory_and_tsig_is_appended() {
        let m = update_txt(
            7,
            "example.com",
            "_acme-challenge.example.com",
            "v",
            Change::Add(60),
        )
        .unwrap();
        let parsed = hickory_proto::op::Message::from_vec(&m).unwrap();
        assert_eq!(parsed.metadata.id, 7);
        let key = TsigKey {
            name: "k".into(),
            algorithm: "hmac-sha256".into(),
            secret: vec![1; 32],
        };
        let s = sign(&m, &key, 1_700_000_000).unwrap();
        assert_eq!(u16::from_be_bytes([s[10], s[11]]), 1);
        assert!(s.len() > m.len() + 32);
        // Deterministic: same input, same MAC; another key, another MAC.
        assert_eq!(s, sign(&m, &key, 1_700_000_000).unwrap());
        let other = TsigKey {
            secret: vec![2; 32],
            ..key
        };
        assert_ne!(s, sign(&m, &other, 1_700_000_000).unwrap());
    }
}
