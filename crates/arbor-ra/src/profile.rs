//! Certificate profiles (draft-aaron-acme-profiles): named issuance policies a client picks
//! with the order's `profile` field, advertised in the directory's `meta.profiles`.
//!
//! Arbor's defaults: `classic` (90 days, DNS names only) and `shortlived` (160 hours, the
//! only one that allows IP identifiers, as Let's Encrypt does). `mtc` (7 days, DNS names,
//! Merkle Tree Certificates) is added by the server only when an MTC log runs.

/// One profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The name clients send.
    pub name: String,
    /// Human description shown in `meta.profiles`.
    pub description: String,
    /// Certificate lifetime in seconds.
    pub validity_secs: i64,
    /// Whether IP identifiers (RFC 8738) may be ordered under this profile.
    pub allow_ip: bool,
    /// Whether orders under this profile get Merkle Tree Certificates from the MTC
    /// issuance log (only offered when the server runs one).
    pub mtc: bool,
}

/// BR §6.3.2 cap on subscriber certificate validity from 2026-03-15: 200 days.
pub const BR_MAX_VALIDITY_SECS: i64 = 200 * 86_400;

impl Profile {
    /// The `classic` profile: 90 days, DNS names.
    pub fn classic() -> Profile {
        Profile {
            name: "classic".into(),
            description: "90-day certificate for DNS names".into(),
            validity_secs: 90 * 86_400,
            allow_ip: false,
            mtc: false,
        }
    }

    /// The `shortlived` profile: 160 hours (~6.7 days), DNS names and IP addresses.
    pub fn shortlived() -> Profile {
        Profile {
            name: "shortlived".into(),
            description: "160-hour certificate for DNS names and IP addresses".into(),
            validity_secs: 160 * 3_600,
            allow_ip: true,
            mtc: false,
        }
    }

    /// The `mtc` profile: a 7-day Merkle Tree Certificate for DNS names
    /// (draft-ietf-plants-merkle-tree-certs §9): a standalone certificate at once, a
    /// landmark-relative one after the next landmark.
    pub fn mtc() -> Profile {
        Profile {
            name: "mtc".into(),
            description: "7-day Merkle Tree Certificate for DNS names (standalone now, \
                          landmark-relative after the next landmark)"
                .into(),
            validity_secs: 7 * 86_400,
            allow_ip: false,
            mtc: true,
        }
    }
}
