//! The CA hierarchy on disk: a primary root, an alternate root, and one
//! issuing intermediate that both roots certify (a cross-signed twin with
//! the same key and subject), so clients can pick either chain (RFC 8555
//! §7.4.2 "alternate" links). Generated on first start, loaded afterwards.
//!
//! Crash safety: every file is written atomically, and `root.pem` is written
//! last, so its presence marks a complete hierarchy. Without it, any stale
//! partial files are regenerated; with it, a missing file is an error.

use std::net::IpAddr;
use std::path::Path;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::ca_certs::{self, INTERMEDIATE_VALIDITY_SECS, IssuerUrls};
use crate::crl::{CrlScope, RevokedEntry, sign_crl_with};
use crate::fsio::{self, CERT_FILE_MODE, KEY_FILE_MODE};
use crate::issuer::{
    DEFAULT_LEAF_VALIDITY_SECS, Issuer, LeafRequest, Signer, ca_id, random_serial,
};
use crate::keys::CaKey;
use crate::{CaConfig, CaError, asn1};

/// Subject CN of the primary root.
pub const ROOT_CN: &str = "Arbor Test Root";
/// Subject CN of the alternate root.
pub const ROOT_ALT_CN: &str = "Arbor Test Alternate Root";
/// Subject CN of the issuing intermediate.
pub const INTERMEDIATE_CN: &str = "Arbor Test Intermediate";

const ROOT_PEM: &str = "root.pem";
const ROOT_ALT_PEM: &str = "root-alt.pem";
const INTERMEDIATE_PEM: &str = "intermediate.pem";
const CROSS_PEM: &str = "intermediate-cross.pem";
const ROOT_KEY: &str = "root.key";
const ROOT_ALT_KEY: &str = "root-alt.key";
const INTERMEDIATE_KEY: &str = "intermediate.key";
/// Every file of a complete hierarchy.
const ALL_FILES: [&str; 7] = [
    ROOT_PEM,
    ROOT_ALT_PEM,
    INTERMEDIATE_PEM,
    CROSS_PEM,
    ROOT_KEY,
    ROOT_ALT_KEY,
    INTERMEDIATE_KEY,
];
const CERT_PEM_LABEL: &str = "CERTIFICATE";

/// A CA certificate in both encodings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaCert {
    /// DER encoding.
    pub der: Vec<u8>,
    /// PEM encoding ("CERTIFICATE").
    pub pem: String,
    /// Subject commonName.
    pub subject_cn: String,
    /// Short stable id (hex of the first 8 bytes of the SKI); the AIA URL of
    /// this certificate is `{aia_base_url}/{id}.der`.
    pub id: String,
}

/// The roots and the issuing intermediate.
#[derive(Debug)]
pub struct Hierarchy {
    /// Primary root.
    pub root: CaCert,
    /// Alternate root, which cross-signs the intermediate.
    pub root_alt: CaCert,
    /// The issuing intermediate.
    pub intermediate: Issuer,
    root_signer: Signer,
    root_alt_signer: Signer,
    cfg: CaConfig,
}

fn pem_of(der: &[u8]) -> Result<String, CaError> {
    pem_rfc7468::encode_string(CERT_PEM_LABEL, pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| CaError::Encode(format!("PEM: {e}")))
}

fn bad(path: &Path, detail: impl Into<String>) -> CaError {
    CaError::BadStoredFile {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// A certificate and its key, loaded and cross-checked.
struct Loaded {
    cert: Certificate,
    der: Vec<u8>,
    key: Option<CaKey>,
}

fn load_cert(dir: &Path, name: &str) -> Result<(Certificate, Vec<u8>), CaError> {
    let path = dir.join(name);
    let text = fsio::read_text(&path)?;
    let (label, der) =
        pem_rfc7468::decode_vec(text.as_bytes()).map_err(|e| bad(&path, format!("PEM: {e}")))?;
    if label != CERT_PEM_LABEL {
        return Err(bad(&path, format!("PEM label {label:?}")));
    }
    let cert = Certificate::from_der(&der).map_err(|e| bad(&path, e.to_string()))?;
    Ok((cert, der))
}

fn load_pair(dir: &Path, cert_name: &str, key_name: &str) -> Result<Loaded, CaError> {
    let (cert, der) = load_cert(dir, cert_name)?;
    let key_path = dir.join(key_name);
    let key = CaKey::from_pem(&fsio::read_key_file(&key_path)?)?;
    if key.spki()?.to_der()? != cert.tbs_certificate().subject_public_key_info().to_der()? {
        return Err(bad(&key_path, format!("key does not match {cert_name}")));
    }
    Ok(Loaded {
        cert,
        der,
        key: Some(key),
    })
}

/// Checks that `child` was signed by the key in `parent`.
fn check_signed_by(child: &Loaded, parent: &Certificate, path: &Path) -> Result<(), CaError> {
    let tbs = child.cert.tbs_certificate().to_der()?;
    let point = parent
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad(path, "issuer key is not a whole-octet bit string"))?;
    let sig = child
        .cert
        .signature()
        .as_bytes()
        .ok_or_else(|| bad(path, "signature is not a whole-octet bit string"))?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .verify(&tbs, sig)
        .map_err(|_| bad(path, "signature does not verify under its issuer"))
}

fn ca_cert(l: &Loaded) -> Result<CaCert, CaError> {
    let tbs = l.cert.tbs_certificate();
    Ok(CaCert {
        der: l.der.clone(),
        pem: pem_of(&l.der)?,
        subject_cn: asn1::common_name(tbs.subject()).unwrap_or_default(),
        id: ca_id(&ski_of(&l.cert)?),
    })
}

fn ski_of(cert: &Certificate) -> Result<Vec<u8>, CaError> {
    match cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()?
    {
        Some((_, ski)) => Ok(ski.0.as_bytes().to_vec()),
        None => Ok(asn1::key_id(
            cert.tbs_certificate().subject_public_key_info(),
        )),
    }
}

fn signer(l: &mut Loaded) -> Result<Signer, CaError> {
    let tbs = l.cert.tbs_certificate();
    let ski = ski_of(&l.cert)?;
    Ok(Signer {
        key: l
            .key
            .take()
            .ok_or_else(|| CaError::Key("signer key already taken".into()))?,
        name: tbs.subject().clone(),
        id: ca_id(&ski),
        ski,
        not_after: asn1::unix(&tbs.validity().not_after),
    })
}

fn url(base: &str, id: &str, ext: &str) -> String {
    format!("{}/{id}.{ext}", base.trim_end_matches('/'))
}

impl Hierarchy {
    /// Loads the hierarchy from `dir`, or generates and stores it there on
    /// first start (see the module docs for the files and crash safety).
    pub fn load_or_generate(dir: &Path, cfg: &CaConfig, now: i64) -> Result<Hierarchy, CaError> {
        if !dir.join(ROOT_PEM).exists() {
            generate(dir, cfg, now)?;
        }
        Self::load(dir, cfg)
    }

    /// Loads an existing hierarchy, checking every key against its
    /// certificate and every signature against its issuer.
    pub fn load(dir: &Path, cfg: &CaConfig) -> Result<Hierarchy, CaError> {
        let missing: Vec<String> = ALL_FILES
            .iter()
            .filter(|f| !dir.join(f).exists())
            .map(|f| f.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(CaError::IncompleteHierarchy {
                dir: dir.to_path_buf(),
                missing,
            });
        }
        let mut root = load_pair(dir, ROOT_PEM, ROOT_KEY)?;
        let mut alt = load_pair(dir, ROOT_ALT_PEM, ROOT_ALT_KEY)?;
        let mut inter = load_pair(dir, INTERMEDIATE_PEM, INTERMEDIATE_KEY)?;
        let (cross_cert, cross_der) = load_cert(dir, CROSS_PEM)?;
        let cross = Loaded {
            cert: cross_cert,
            der: cross_der,
            key: None,
        };
        let cross_path = dir.join(CROSS_PEM);
        let (ic, cc) = (inter.cert.tbs_certificate(), cross.cert.tbs_certificate());
        if ic.subject() != cc.subject()
            || ic.subject_public_key_info() != cc.subject_public_key_info()
        {
            return Err(bad(
                &cross_path,
                "subject or key differs from intermediate.pem",
            ));
        }
        check_signed_by(&root, &root.cert, &dir.join(ROOT_PEM))?;
        check_signed_by(&alt, &alt.cert, &dir.join(ROOT_ALT_PEM))?;
        check_signed_by(&inter, &root.cert, &dir.join(INTERMEDIATE_PEM))?;
        check_signed_by(&cross, &alt.cert, &cross_path)?;

        let root_cert = ca_cert(&root)?;
        let alt_cert = ca_cert(&alt)?;
        let inter_cert = ca_cert(&inter)?;
        let signer_i = signer(&mut inter)?;
        let intermediate = Issuer {
            aia_url: url(&cfg.aia_base_url, &signer_i.id, "der"),
            crl_url: url(&cfg.crl_base_url, &signer_i.id, "crl"),
            id: signer_i.id.clone(),
            cert_der: inter_cert.der,
            cross_cert_der: cross.der,
            subject_cn: inter_cert.subject_cn,
            signer: signer_i,
        };
        Ok(Hierarchy {
            root: root_cert,
            root_alt: alt_cert,
            intermediate,
            root_signer: signer(&mut root)?,
            root_alt_signer: signer(&mut alt)?,
            cfg: cfg.clone(),
        })
    }

    /// The chain after the leaf for the default path: the intermediate signed by the root.
    pub fn chain_default(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate.cert_der.clone()]
    }

    /// The chain after the leaf for the alternate path: the intermediate
    /// cross-signed by the alternate root.
    pub fn chain_alternate(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate.cross_cert_der.clone()]
    }

    /// The documents the AIA endpoint serves: (`"{id}.der"`, DER) for the
    /// root, the alternate root and the intermediate (root-signed).
    pub fn aia_documents(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            (format!("{}.der", self.root.id), self.root.der.clone()),
            (
                format!("{}.der", self.root_alt.id),
                self.root_alt.der.clone(),
            ),
            (
                format!("{}.der", self.intermediate.id),
                self.intermediate.cert_der.clone(),
            ),
        ]
    }

    /// A TLS server certificate for the CA's own listener, signed by the
    /// intermediate, with a fresh P-256 key. Returns (`[leaf, intermediate]`
    /// DER, PKCS #8 private key DER).
    pub fn server_cert(
        &self,
        dns: &[String],
        ips: &[IpAddr],
        now: i64,
    ) -> Result<(Vec<Vec<u8>>, Vec<u8>), CaError> {
        let key = CaKey::generate()?;
        let req = LeafRequest {
            serial: random_serial()?,
            spki_der: key.spki()?.to_der()?,
            dns_names: dns.iter().map(|d| d.to_ascii_lowercase()).collect(),
            ips: ips.to_vec(),
            not_before: now,
            validity_secs: DEFAULT_LEAF_VALIDITY_SECS,
            common_name: None,
        };
        let leaf = self.intermediate.issue_leaf(&req)?;
        Ok((
            vec![leaf, self.intermediate.cert_der.clone()],
            key.to_pkcs8_der()?,
        ))
    }

    /// A CRL signed by a root, covering the CA certificates it issued
    /// (onlyContainsCACerts), published at `{crl_base_url}/{root id}.crl` —
    /// the URL in the intermediate's cRLDistributionPoints.
    pub fn sign_root_crl(
        &self,
        alternate: bool,
        revoked: &[RevokedEntry],
        crl_number: u64,
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, CaError> {
        let s = if alternate {
            &self.root_alt_signer
        } else {
            &self.root_signer
        };
        let crl_url = url(&self.cfg.crl_base_url, &s.id, "crl");
        sign_crl_with(
            s,
            &crl_url,
            CrlScope::CaCerts,
            revoked,
            crl_number,
            this_update,
            next_update,
        )
    }
}

/// Generates all keys and certificates and writes them, `root.pem` last.
fn generate(dir: &Path, cfg: &CaConfig, now: i64) -> Result<(), CaError> {
    fsio::ensure_dir(dir)?;
    let root_key = CaKey::generate()?;
    let alt_key = CaKey::generate()?;
    let inter_key = CaKey::generate()?;
    let root_name = asn1::ca_name(&cfg.organization, ROOT_CN)?;
    let alt_name = asn1::ca_name(&cfg.organization, ROOT_ALT_CN)?;
    let inter_name = asn1::ca_name(&cfg.organization, INTERMEDIATE_CN)?;
    let root_der = ca_certs::root_cert(&root_key, &root_name, now)?;
    let alt_der = ca_certs::root_cert(&alt_key, &alt_name, now)?;

    let mk_signer = |key: CaKey, name, der: &[u8]| -> Result<Signer, CaError> {
        let cert = Certificate::from_der(der)?;
        let ski = ski_of(&cert)?;
        Ok(Signer {
            key,
            name,
            id: ca_id(&ski),
            ski,
            not_after: asn1::unix(&cert.tbs_certificate().validity().not_after),
        })
    };
    // Keys are written (and the signers built) before any certificate.
    fsio::write_atomic(dir, ROOT_KEY, root_key.to_pem()?.as_bytes(), KEY_FILE_MODE)?;
    fsio::write_atomic(
        dir,
        ROOT_ALT_KEY,
        alt_key.to_pem()?.as_bytes(),
        KEY_FILE_MODE,
    )?;
    fsio::write_atomic(
        dir,
        INTERMEDIATE_KEY,
        inter_key.to_pem()?.as_bytes(),
        KEY_FILE_MODE,
    )?;
    let inter_spki = inter_key.spki()?;
    let root = mk_signer(root_key, root_name, &root_der)?;
    let alt = mk_signer(alt_key, alt_name, &alt_der)?;

    let not_after = (now + INTERMEDIATE_VALIDITY_SECS - 1)
        .min(root.not_after)
        .min(alt.not_after);
    let mut certs: Vec<(&str, Vec<u8>)> = Vec::new();
    for (signer, file) in [(&root, INTERMEDIATE_PEM), (&alt, CROSS_PEM)] {
        let urls = IssuerUrls {
            aia: &url(&cfg.aia_base_url, &signer.id, "der"),
            crl: &url(&cfg.crl_base_url, &signer.id, "crl"),
        };
        let der =
            ca_certs::intermediate_cert(signer, &urls, &inter_name, &inter_spki, now, not_after)?;
        certs.push((file, der));
    }
    certs.push((ROOT_ALT_PEM, alt_der));
    certs.push((ROOT_PEM, root_der));
    for (file, der) in certs {
        fsio::write_atomic(dir, file, pem_of(&der)?.as_bytes(), CERT_FILE_MODE)?;
    }
    Ok(())
}
