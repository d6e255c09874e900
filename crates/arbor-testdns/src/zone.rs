//! The in-memory zone of the test DNS server and how it answers one question
//! (RFC 1034 §4.3.2, simplified): SERVFAIL injection, CNAME chasing inside the zone, the
//! records of the asked type, a default IPv4 answer for A queries, then NOERROR/NODATA
//! for names that exist (or have names below them) and NXDOMAIN otherwise.
//!
//! Deviations, on purpose for a test server: one flat zone with no SOA or delegation,
//! every answer is authoritative, and TTLs are 0 so nothing is cached.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CAA, CNAME, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest CNAME chain followed inside the zone.
pub const MAX_CNAME_CHAIN: usize = 8;
/// The longest TXT character-string (RFC 1035 §3.3.14).
const MAX_CHARACTER_STRING: usize = 255;

/// One CAA record as scripted: flags (128 = critical), tag, value (RFC 8659 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaaRecord {
    /// The flags octet; bit 0 (value 128) is the issuer-critical flag.
    #[serde(default)]
    pub flags: u8,
    /// The property tag, e.g. `issue`.
    pub tag: String,
    /// The property value, e.g. `letsencrypt.org; accounturi=...`.
    pub value: String,
}

impl CaaRecord {
    /// A record with these parts.
    pub fn new(flags: u8, tag: impl Into<String>, value: impl Into<String>) -> CaaRecord {
        CaaRecord {
            flags,
            tag: tag.into(),
            value: value.into(),
        }
    }
}

/// Everything the server knows. Names are kept lowercase without the trailing dot.
#[derive(Debug, Default, Clone)]
pub struct Zone {
    pub(crate) a: HashMap<String, Vec<Ipv4Addr>>,
    pub(crate) aaaa: HashMap<String, Vec<Ipv6Addr>>,
    pub(crate) txt: HashMap<String, Vec<String>>,
    pub(crate) caa: HashMap<String, Vec<CaaRecord>>,
    pub(crate) cname: HashMap<String, String>,
    pub(crate) servfail: HashSet<String>,
    pub(crate) default_ipv4: Option<Ipv4Addr>,
}

/// The answer to one question: a response code and the answer records.
#[derive(Debug)]
pub struct Answer {
    /// NOERROR, NXDOMAIN or SERVFAIL.
    pub code: ResponseCode,
    /// CNAMEs followed, then the records of the asked type.
    pub records: Vec<Record>,
}

/// Lowercases a name and drops its trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    /// Whether `name` holds any record.
    fn has_data(&self, name: &str) -> bool {
        self.a.contains_key(name)
            || self.aaaa.contains_key(name)
            || self.txt.contains_key(name)
            || self.caa.contains_key(name)
            || self.cname.contains_key(name)
    }

    /// Whether `name` exists: it holds data or some name below it does (an empty
    /// non-terminal answers NOERROR, RFC 8020).
    fn exists(&self, name: &str) -> bool {
        if self.has_data(name) {
            return true;
        }
        let suffix = format!(".{name}");
        let below = |k: &String| k.ends_with(&suffix);
        self.a.keys().any(below)
            || self.aaaa.keys().any(below)
            || self.txt.keys().any(below)
            || self.caa.keys().any(below)
            || self.cname.keys().any(below)
    }

    /// Answers `qname`/`qtype`. `qname` may be in any case, with or without trailing dot.
    pub fn answer(&self, qname: &Name, qtype: RecordType) -> Answer {
        let mut name = normalize(&qname.to_ascii());
        let mut owner = qname.clone();
        let mut records = Vec::new();
        for _ in 0..=MAX_CNAME_CHAIN {
            if self.servfail.contains(&name) {
                return Answer {
                    code: ResponseCode::ServFail,
                    records: Vec::new(),
                };
            }
            let Some(target) = self.cname.get(&name).filter(|_| qtype != RecordType::CNAME) else {
                break;
            };
            let Ok(target_name) = Name::from_ascii(format!("{target}.")) else {
                return Answer {
                    code: ResponseCode::ServFail,
                    records: Vec::new(),
                };
            };
            records.push(Record::from_rdata(
                owner.clone(),
                0,
                RData::CNAME(CNAME(target_name.clone())),
            ));
            owner = target_name;
            name = target.clone();
        }
        let before = records.len();
        self.push_records(&name, &owner, qtype, &mut records);
        let code = if records.len() > before || self.exists(&name) {
            ResponseCode::NoError
        } else {
            ResponseCode::NXDomain
        };
        Answer { code, records }
    }

    fn push_records(&self, name: &str, owner: &Name, qtype: RecordType, out: &mut Vec<Record>) {
        let rec = |data: RData| Record::from_rdata(owner.clone(), 0, data);
        match qtype {
            RecordType::A => match self.a.get(name) {
                Some(ips) => out.extend(ips.iter().map(|ip| rec(RData::A(A(*ip))))),
                None => out.extend(self.default_ipv4.map(|ip| rec(RData::A(A(ip))))),
            },
            RecordType::AAAA => {
                let ips = self.aaaa.get(name).into_iter().flatten();
                out.extend(ips.map(|ip| rec(RData::AAAA(AAAA(*ip)))));
            }
            RecordType::TXT => {
                let values = self.txt.get(name).into_iter().flatten();
                out.extend(values.map(|v| rec(RData::TXT(txt_rdata(v)))));
            }
            RecordType::CAA => {
                let values = self.caa.get(name).into_iter().flatten();
                out.extend(values.map(|c| rec(RData::CAA(caa_rdata(c)))));
            }
            RecordType::CNAME => {
                if let Some(target) = self.cname.get(name)
                    && let Ok(t) = Name::from_ascii(format!("{target}."))
                {
                    out.push(rec(RData::CNAME(CNAME(t))));
                }
            }
            _ => {}
        }
    }
}

/// A TXT record holding `value`, split into 255-byte character-strings.
fn txt_rdata(value: &str) -> TXT {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return TXT::from_bytes(vec![b""]);
    }
    TXT::from_bytes(bytes.chunks(MAX_CHARACTER_STRING).collect())
}

/// The wire CAA record for a scripted one; the value is sent as raw bytes.
fn caa_rdata(c: &CaaRecord) -> CAA {
    let mut caa = CAA::new_issue(false, None, Vec::new());
    caa.issuer_critical = c.flags & 0x80 != 0;
    caa.reserved_flags = c.flags & 0x7f;
    caa.tag = c.tag.clone();
    caa.value = c.value.as_bytes().to_vec();
    caa
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn nxdomain_nodata_and_default() {
        let mut z = Zone::default();
        z.txt
            .insert("_acme-challenge.a.example".into(), vec!["v".into()]);
        let ans = z.answer(&name("nope.example."), RecordType::TXT);
        assert_eq!(ans.code, ResponseCode::NXDomain);
        // an empty non-terminal exists
        let ans = z.answer(&name("A.Example."), RecordType::TXT);
        assert_eq!(ans.code, ResponseCode::NoError);
        assert!(ans.records.is_empty());
        z.default_ipv4 = Some(Ipv4Addr::new(127, 0, 0, 1));
        let ans = z.answer(&name("nope.example."), RecordType::A);
        assert_eq!(ans.code, ResponseCode::NoError);
        assert_eq!(ans.records.len(), 1);
    }

    #[test]
    fn cname_chain_and_servfail() {
        let mut z = Zone::default();
        z.cname.insert("a.example".into(), "b.example".into());
        z.txt
            .insert("b.example".into(), vec!["x".into(), "y".into()]);
        let ans = z.answer(&name("a.example."), RecordType::TXT);
        assert_eq!(ans.code, ResponseCode::NoError);
        assert_eq!(ans.records.len(), 3);
        assert_eq!(ans.records[0].record_type(), RecordType::CNAME);
        z.servfail.insert("b.example".into());
        let ans = z.answer(&name("a.example."), RecordType::TXT);
        assert_eq!(ans.code, ResponseCode::ServFail);
        // a CNAME loop ends with whatever is at the end of the bounded chain
        z.cname.insert("b.example".into(), "a.example".into());
        z.servfail.clear();
        let ans = z.answer(&name("a.example."), RecordType::TXT);
        let cnames = ans
            .records
            .iter()
            .filter(|r| r.record_type() == RecordType::CNAME)
            .count();
        assert_eq!(cnames, MAX_CNAME_CHAIN + 1);
    }

    #[test]
    fn long_txt_is_split() {
        let long = "x".repeat(600);
        let t = txt_rdata(&long);
        assert_eq!(t.txt_data.len(), 3);
        assert_eq!(t.txt_data.iter().map(|s| s.len()).sum::<usize>(), 600);
    }

    #[test]
    fn caa_flags_round_trip() {
        let c = caa_rdata(&CaaRecord::new(128, "tbs", "x"));
        assert_eq!(c.flags(), 128);
        assert_eq!(c.tag, "tbs");
    }
}
