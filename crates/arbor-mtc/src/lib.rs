//! Merkle Tree Certificates for Arbor (draft-ietf-plants-merkle-tree-certs, -07 wire
//! format): the formats (log entries, MTCProof, CosignedMessage, trust anchor IDs, CA
//! certificates, standalone and landmark-relative certificates, landmark documents,
//! certificate properties) and the relying-party verifier. Pure: no I/O, no async, no
//! clock (time is passed in as Unix seconds). The draft revision is one switch:
//! [`version::CURRENT`].
#![forbid(unsafe_code)]

pub mod formats;
pub mod policy_file;
mod tlog;
pub mod verify;
pub mod version;

pub use formats::{
    CaCertificate, FormatError, MtcCertificate, MtcLogEntry, MtcProof, SubtreeSignature,
    TbsCertificateLogEntry, TrustAnchorId,
};
pub use tlog::Hash;
pub use verify::{
    CosignerKey, CosignerPolicy, TrustedSubtree, TrustedSubtrees, Verified, VerifyError, verify,
};
pub use version::{CURRENT, DraftVersion};
