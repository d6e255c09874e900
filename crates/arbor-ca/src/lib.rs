//! arbor-ca: the X.509 signing side of the ACME CA — the root/intermediate
//! hierarchy, subscriber certificate issuance (RFC 5280 §4 with the CA/B
//! Forum Baseline Requirements §7.1.2.7 subscriber profile), CRLs (RFC 5280
//! §5), and the parsing and checking of finalize CSRs (RFC 8555 §7.4,
//! RFC 2986).
//!
//! Every signed byte is built with `der`/`x509-cert`/`spki` types and signed
//! with aws-lc-rs (ECDSA P-256, SHA-256). Each leaf TBSCertificate passes
//! [`check_leaf_profile`] before it is signed. Deviations from the BR are
//! listed in [`profile`].

#![forbid(unsafe_code)]

mod asn1;
mod ca_certs;
mod crl;
pub mod csr;
mod csr_key;
mod dnsname;
mod error;
mod fsio;
mod hierarchy;
mod issuer;
mod keys;
pub mod oids;
pub mod profile;

pub use asn1::CA_COUNTRY;
pub use ca_certs::{INTERMEDIATE_VALIDITY_SECS, ROOT_VALIDITY_SECS};
pub use crl::RevokedEntry;
pub use csr::{Csr, CsrError, check_csr, parse_csr};
pub use csr_key::{MAX_RSA_BITS, MIN_RSA_BITS};
pub use error::CaError;
pub use hierarchy::{CaCert, Hierarchy, INTERMEDIATE_CN, ROOT_ALT_CN, ROOT_CN};
pub use issuer::{
    DEFAULT_LEAF_VALIDITY_SECS, Issuer, LeafRequest, MIN_SERIAL_BYTES, random_serial,
};
pub use profile::check_leaf_profile;

/// Where the CA publishes its certificates and CRLs, and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaConfig {
    /// Base of AIA caIssuers URLs, e.g. `http://127.0.0.1:14080/aia`; a CA
    /// certificate is served at `{aia_base_url}/{id}.der`.
    pub aia_base_url: String,
    /// Base of CRL URLs; a CA's CRL is served at `{crl_base_url}/{id}.crl`.
    pub crl_base_url: String,
    /// The organizationName of the CA certificates, e.g. "Arbor Test CA".
    pub organization: String,
}
