//! Certificate properties (draft-ietf-tls-trust-anchor-ids §7): the binary
//! `CertificatePropertyList` (sorted by type, no duplicates, unknown types kept), its
//! `CERTIFICATE PROPERTIES` PEM block for `application/pem-certificate-chain-with-properties`,
//! and the MTC assignments (draft §7): a standalone certificate's trust anchor is the CA
//! ID, in every landmark group `caID.2.N.L`; a landmark-relative one is `caID.1.N.L`,
//! in groups `caID.2.N.L'` for `L' >= L`, and asks for trust anchor negotiation.
use super::error::FormatError;
use super::tai::TrustAnchorId;
use super::tls::{Reader, put_uint, put_vec};

/// PEM label of the encoded list.
pub const PROPERTIES_PEM_LABEL: &str = "CERTIFICATE PROPERTIES";

/// `trust_anchor_id(0)`.
pub const TRUST_ANCHOR_ID: u16 = 0;
/// `trust_anchor_group_inclusions(1)`.
pub const TRUST_ANCHOR_GROUP_INCLUSIONS: u16 = 1;
/// `trust_anchor_negotiation(2)`.
pub const TRUST_ANCHOR_NEGOTIATION: u16 = 2;

/// `TrustAnchorRange`: the IDs `base.min` ..= `base.max`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchorRange {
    pub base: TrustAnchorId,
    pub min: u64,
    pub max: u64,
}

/// One `CertificateProperty`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateProperty {
    TrustAnchorId(TrustAnchorId),
    TrustAnchorGroupInclusions(Vec<TrustAnchorRange>),
    TrustAnchorNegotiation,
    /// A type this code does not know (kept so lists round-trip).
    Unknown {
        property_type: u16,
        data: Vec<u8>,
    },
}

impl CertificateProperty {
    pub fn property_type(&self) -> u16 {
        match self {
            CertificateProperty::TrustAnchorId(_) => TRUST_ANCHOR_ID,
            CertificateProperty::TrustAnchorGroupInclusions(_) => TRUST_ANCHOR_GROUP_INCLUSIONS,
            CertificateProperty::TrustAnchorNegotiation => TRUST_ANCHOR_NEGOTIATION,
            CertificateProperty::Unknown { property_type, .. } => *property_type,
        }
    }

    fn data(&self) -> Result<Vec<u8>, FormatError> {
        Ok(match self {
            CertificateProperty::TrustAnchorId(id) => id.as_bytes().to_vec(),
            CertificateProperty::TrustAnchorGroupInclusions(ranges) => {
                if ranges.is_empty() {
                    return Err(FormatError::Properties(
                        "trust_anchor_group_inclusions must not be empty",
                    ));
                }
                let mut list = Vec::new();
                for r in ranges {
                    put_vec(&mut list, 1, r.base.as_bytes(), "TrustAnchorRange.base")?;
                    put_uint(&mut list, 8, r.min, "min")?;
                    put_uint(&mut list, 8, r.max, "max")?;
                }
                let mut out = Vec::new();
                put_vec(&mut out, 2, &list, "TrustAnchorRangeList")?;
                out
            }
            CertificateProperty::TrustAnchorNegotiation => Vec::new(),
            CertificateProperty::Unknown { data, .. } => data.clone(),
        })
    }

    fn parse(property_type: u16, data: &[u8]) -> Result<Self, FormatError> {
        Ok(match property_type {
            TRUST_ANCHOR_ID => {
                CertificateProperty::TrustAnchorId(TrustAnchorId::from_binary(data)?)
            }
            TRUST_ANCHOR_GROUP_INCLUSIONS => {
                let mut r = Reader::new(data);
                let mut list = Reader::new(r.vec(2, "TrustAnchorRangeList")?);
                r.finish("trust_anchor_group_inclusions")?;
                let mut ranges = Vec::new();
                while !list.is_empty() {
                    let base = TrustAnchorId::from_binary(list.vec(1, "TrustAnchorRange.base")?)?;
                    let min = list.uint(8, "min")?;
                    let max = list.uint(8, "max")?;
                    ranges.push(TrustAnchorRange { base, min, max });
                }
                if ranges.is_empty() {
                    return Err(FormatError::Properties(
                        "trust_anchor_group_inclusions must not be empty",
                    ));
                }
                CertificateProperty::TrustAnchorGroupInclusions(ranges)
            }
            TRUST_ANCHOR_NEGOTIATION if data.is_empty() => {
                CertificateProperty::TrustAnchorNegotiation
            }
            TRUST_ANCHOR_NEGOTIATION => {
                return Err(FormatError::Properties(
                    "trust_anchor_negotiation data must be empty",
                ));
            }
            other => CertificateProperty::Unknown {
                property_type: other,
                data: data.to_vec(),
            },
        })
    }
}

/// `CertificatePropertyList`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificatePropertyList(pub Vec<CertificateProperty>);

impl CertificatePropertyList {
    /// Properties of a standalone certificate of CA `ca_id` from log `log`.
    pub fn standalone(ca_id: &TrustAnchorId, log: u16) -> Result<Self, FormatError> {
        Ok(CertificatePropertyList(vec![
            CertificateProperty::TrustAnchorId(ca_id.clone()),
            CertificateProperty::TrustAnchorGroupInclusions(vec![TrustAnchorRange {
                base: ca_id.landmark_group_base(log)?,
                min: 1,
                max: u64::MAX,
            }]),
        ]))
    }

    /// Properties of a landmark-relative certificate for landmark `landmark` of log `log`.
    pub fn landmark_relative(
        ca_id: &TrustAnchorId,
        log: u16,
        landmark: u64,
    ) -> Result<Self, FormatError> {
        Ok(CertificatePropertyList(vec![
            CertificateProperty::TrustAnchorId(ca_id.landmark_id(log, landmark)?),
            CertificateProperty::TrustAnchorGroupInclusions(vec![TrustAnchorRange {
                base: ca_id.landmark_group_base(log)?,
                min: landmark,
                max: u64::MAX,
            }]),
            CertificateProperty::TrustAnchorNegotiation,
        ]))
    }

    /// The trust anchor ID property, if present.
    pub fn trust_anchor_id(&self) -> Option<&TrustAnchorId> {
        self.0.iter().find_map(|p| match p {
            CertificateProperty::TrustAnchorId(id) => Some(id),
            _ => None,
        })
    }

    fn check_order(&self) -> Result<(), FormatError> {
        if self
            .0
            .windows(2)
            .all(|w| w[0].property_type() < w[1].property_type())
        {
            Ok(())
        } else {
            Err(FormatError::Properties(
                "properties must be sorted by type without duplicates",
            ))
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        self.check_order()?;
        let mut body = Vec::new();
        for p in &self.0 {
            put_uint(&mut body, 2, u64::from(p.property_type()), "property type")?;
            put_vec(&mut body, 2, &p.data()?, "property data")?;
        }
        let mut out = Vec::new();
        put_vec(&mut out, 2, &body, "CertificatePropertyList")?;
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes);
        let mut body = Reader::new(r.vec(2, "CertificatePropertyList")?);
        r.finish("CertificatePropertyList")?;
        let mut props = Vec::new();
        while !body.is_empty() {
            let t = body.u16("property type")?;
            let data = body.vec(2, "property data")?;
            props.push(CertificateProperty::parse(t, data)?);
        }
        let list = CertificatePropertyList(props);
        list.check_order()?;
        Ok(list)
    }

    /// The strict-PEM `CERTIFICATE PROPERTIES` block (LF line endings).
    pub fn to_pem(&self) -> Result<String, FormatError> {
        pem_rfc7468::encode_string(
            PROPERTIES_PEM_LABEL,
            pem_rfc7468::LineEnding::LF,
            &self.encode()?,
        )
        .map_err(|e| FormatError::Pem(e.to_string()))
    }

    /// Parses one `CERTIFICATE PROPERTIES` PEM block.
    pub fn from_pem(pem: &str) -> Result<Self, FormatError> {
        let (label, der) =
            pem_rfc7468::decode_vec(pem.as_bytes()).map_err(|e| FormatError::Pem(e.to_string()))?;
        if label != PROPERTIES_PEM_LABEL {
            return Err(FormatError::Pem(format!("unexpected label {label:?}")));
        }
        Self::decode(&der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from draft-ietf-tls-trust-anchor-ids §7.4.
    const EXAMPLE: &str = "-----BEGIN CERTIFICATE PROPERTIES-----\n\
ADsAAAAEgf1ZAQABACsAKQORCwIAAAAAAAAAZAAAAAAAAADIBIH9WQMAAAAAAAAA\n\
Kv//////////AAIAAA==\n\
-----END CERTIFICATE PROPERTIES-----\n";

    fn id(s: &str) -> TrustAnchorId {
        s.parse().unwrap()
    }

    #[test]
    fn draft_example_round_trips() {
        let list = CertificatePropertyList::from_pem(EXAMPLE).unwrap();
        let want = CertificatePropertyList(vec![
            CertificateProperty::TrustAnchorId(id("32473.1")),
            CertificateProperty::TrustAnchorGroupInclusions(vec![
                TrustAnchorRange {
                    base: id("2187.2"),
                    min: 100,
                    max: 200,
                },
                TrustAnchorRange {
                    base: id("32473.3"),
                    min: 42,
                    max: u64::MAX,
                },
            ]),
            CertificateProperty::TrustAnchorNegotiation,
        ]);
        assert_eq!(list, want);
        assert_eq!(list.to_pem().unwrap(), EXAMPLE);
    }

    #[test]
    fn mtc_assignments_and_strictness() {
        let ca = id("32473.1");
        let s = CertificatePropertyList::standalone(&ca, 1).unwrap();
        assert_eq!(s.trust_anchor_id(), Some(&ca));
        let l = CertificatePropertyList::landmark_relative(&ca, 1, 7).unwrap();
        assert_eq!(
            l.trust_anchor_id().map(ToString::to_string).as_deref(),
            Some("32473.1.1.1.7")
        );
        let bytes = l.encode().unwrap();
        assert_eq!(CertificatePropertyList::decode(&bytes).unwrap(), l);
        let unsorted = CertificatePropertyList(vec![
            CertificateProperty::TrustAnchorNegotiation,
            CertificateProperty::TrustAnchorId(ca),
        ]);
        assert!(unsorted.encode().is_err());
        // Unknown types survive a round trip.
        let unknown = CertificatePropertyList(vec![CertificateProperty::Unknown {
            property_type: 9,
            data: vec![1, 2],
        }]);
        assert_eq!(
            CertificatePropertyList::decode(&unknown.encode().unwrap()).unwrap(),
            unknown
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(CertificatePropertyList::decode(&trailing).is_err());
    }
}
