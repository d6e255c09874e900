//! The DNS wire pieces the RFC 2136 solver needs, encoded by hand because they are few:
//! domain names (RFC 1035 §3.1), a query, an UPDATE message (RFC 2136 §2: zone section,
//! "add to an RRset" §2.5.1 and "delete an RR from an RRset" §2.5.4) and TSIG signing
//! (RFC 8945 §4.3: MAC over the message and the TSIG variables, then the TSIG RR appended
//! as the last additional record). Replies are parsed with hickory-proto.
//!
//! Deviation: the reply's TSIG MAC is not verified (the reply only tells us whether the
//! update was applied, and the result is then checked by querying the server).

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
    Ok(out)
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
