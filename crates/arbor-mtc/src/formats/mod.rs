//! MTC wire formats (draft-ietf-plants-merkle-tree-certs §5-§7 and
//! draft-ietf-tls-trust-anchor-ids §7): pure encoders and strict decoders.
mod ca_cert;
mod cert;
mod cosigned;
mod der_util;
mod entry;
mod error;
mod landmarks;
mod proof;
mod properties;
mod tai;
mod tls;

pub use ca_cert::{CaCertificate, MtcCaExtension};
pub use cert::{MtcCertificate, MtcTbs, mtc_proof_algorithm_der};
pub use cosigned::{COSIGNED_LABEL, cosigned_message};
pub use entry::{
    EntryBody, EntryExtension, EntryExtensions, MtcLogEntry, NULL_ENTRY, TBS_CERT_ENTRY,
    TbsCertificateLogEntry,
};
pub use error::FormatError;
pub use landmarks::{Landmark, LandmarkDocument, LandmarkSubtree};
pub use proof::{MtcProof, SubtreeSignature, cosigner_order};
pub use properties::{
    CertificateProperty, CertificatePropertyList, PROPERTIES_PEM_LABEL,
    TRUST_ANCHOR_GROUP_INCLUSIONS, TRUST_ANCHOR_ID, TRUST_ANCHOR_NEGOTIATION, TrustAnchorRange,
};
pub use tai::{NOTE_NAME_PREFIX, TrustAnchorId, serial_number, split_serial};
