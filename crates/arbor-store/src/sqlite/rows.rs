//! Converting records to the column values the SQLite backend writes, and rows back.
//!
//! Rows are prepared on the caller's task (JSON encoding included) so the single writer
//! task spends its time on SQL only.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{AccountRecord, AuthzRecord, CertificateRecord, Identifier, OrderRecord};
use crate::{Result, StoreError};

/// The columns of one `accounts` row.
#[derive(Debug)]
pub struct AccountRow {
    pub id: String,
    pub thumbprint: String,
    pub status: &'static str,
    pub created_at: i64,
    pub data: String,
}

/// The columns of one `orders` row.
#[derive(Debug)]
pub struct OrderRow {
    pub id: String,
    pub account_id: String,
    pub status: &'static str,
    pub created_at: i64,
    pub data: String,
}

/// The columns of one `authzs` row.
#[derive(Debug)]
pub struct AuthzRow {
    pub id: String,
    pub account_id: String,
    pub identifier_type: String,
    pub identifier_value: String,
    pub wildcard: bool,
    pub status: &'static str,
    pub expires: i64,
    pub created_at: i64,
    pub data: String,
}

/// The columns of one `certificates` row.
#[derive(Debug)]
pub struct CertRow {
    pub serial: String,
    pub account_id: String,
    pub order_id: String,
    pub issuer_id: String,
    pub spki_sha256: String,
    pub identifiers: String,
    pub not_before: i64,
    pub not_after: i64,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<i64>,
    pub der: Vec<u8>,
    pub replaced_by: Option<String>,
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encoding record: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("decoding stored record: {e}")))
}

impl AccountRow {
    pub fn new(a: &AccountRecord) -> Result<Self> {
        Ok(AccountRow {
            id: a.id.clone(),
            thumbprint: a.thumbprint.clone(),
            status: a.status.as_str(),
            created_at: a.created_at,
            data: to_json(a)?,
        })
    }
}

impl OrderRow {
    pub fn new(o: &OrderRecord) -> Result<Self> {
        Ok(OrderRow {
            id: o.id.clone(),
            account_id: o.account_id.clone(),
            status: o.status.as_str(),
            created_at: o.created_at,
            data: to_json(o)?,
        })
    }
}

impl AuthzRow {
    pub fn new(a: &AuthzRecord) -> Result<Self> {
        Ok(AuthzRow {
            id: a.id.clone(),
            account_id: a.account_id.clone(),
            identifier_type: a.identifier.typ.clone(),
            identifier_value: a.identifier.value.clone(),
            wildcard: a.wildcard,
            status: a.status.as_str(),
            expires: a.expires,
            created_at: a.created_at,
            data: to_json(a)?,
        })
    }
}

impl CertRow {
    pub fn new(c: &CertificateRecord) -> Result<Self> {
        Ok(CertRow {
            serial: c.serial.clone(),
            account_id: c.account_id.clone(),
            order_id: c.order_id.clone(),
            issuer_id: c.issuer_id.clone(),
            spki_sha256: c.spki_sha256.clone(),
            identifiers: to_json(&c.identifiers)?,
            not_before: c.not_before,
            not_after: c.not_after,
            issued_at: c.issued_at,
            revoked_at: c.revoked_at,
            revoked_reason: c.revoked_reason.map(i64::from),
            der: c.der.clone(),
            replaced_by: c.replaced_by.clone(),
        })
    }
}

/// Splits an identifier as a lookup names it into the stored (base value, wildcard) pair:
/// `*.example.com` matches wildcard authorizations for `example.com`, and a plain name only
/// non-wildcard ones (a wildcard needs dns-01, so the two are never interchangeable).
pub fn authz_key(identifier: &Identifier) -> (&str, bool) {
    match identifier.value.strip_prefix("*.") {
        Some(base) => (base, true),
        None => (identifier.value.as_str(), false),
    }
}

/// Decodes the `data` column of a row into its record.
pub fn decode_data<T: serde::de::DeserializeOwned>(row: &SqliteRow) -> Result<T> {
    let data: &str = row.try_get("data").map_err(super::schema::backend)?;
    from_json(data)
}

/// Decodes a `certificates` row (all of its columns).
pub fn decode_cert(row: &SqliteRow) -> Result<CertificateRecord> {
    let get = |e: sqlx::Error| super::schema::backend(e);
    let identifiers: String = row.try_get("identifiers").map_err(get)?;
    let reason: Option<i64> = row.try_get("revoked_reason").map_err(get)?;
    let revoked_reason = match reason {
        None => None,
        Some(r) => Some(u8::try_from(r).map_err(|_| {
            StoreError::Backend(format!("stored revocation reason {r} out of range"))
        })?),
    };
    Ok(CertificateRecord {
        serial: row.try_get("serial").map_err(get)?,
        account_id: row.try_get("account_id").map_err(get)?,
        order_id: row.try_get("order_id").map_err(get)?,
        issuer_id: row.try_get("issuer_id").map_err(get)?,
        der: row.try_get("der").map_err(get)?,
        spki_sha256: row.try_get("spki_sha256").map_err(get)?,
        identifiers: from_json(&identifiers)?,
        not_before: row.try_get("not_before").map_err(get)?,
        not_after: row.try_get("not_after").map_err(get)?,
        revoked_at: row.try_get("revoked_at").map_err(get)?,
        revoked_reason,
        issued_at: row.try_get("issued_at").map_err(get)?,
        replaced_by: row.try_get("replaced_by").map_err(get)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_lookups_use_the_base_name() {
        assert_eq!(
            authz_key(&Identifier::dns("*.example.com")),
            ("example.com", true)
        );
        assert_eq!(
            authz_key(&Identifier::dns("example.com")),
            ("example.com", false)
        );
        // Only a leading `*.` label is a wildcard.
        assert_eq!(
            authz_key(&Identifier::dns("a.*.example")),
            ("a.*.example", false)
        );
    }

    #[test]
    fn certificate_row_keeps_every_field() {
        let c = CertificateRecord {
            serial: "7f".into(),
            account_id: "a".into(),
            order_id: "o".into(),
            issuer_id: "i".into(),
            der: vec![1, 2, 3],
            spki_sha256: "ab".into(),
            identifiers: vec![Identifier::dns("x.example")],
            not_before: 1,
            not_after: 2,
            revoked_at: Some(3),
            revoked_reason: Some(5),
            issued_at: 4,
            replaced_by: Some("o2".into()),
        };
        let row = CertRow::new(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (row.revoked_reason, row.der.as_slice()),
            (Some(5), &[1u8, 2, 3][..])
        );
        assert_eq!(row.identifiers, r#"[{"type":"dns","value":"x.example"}]"#);
        assert_eq!(row.replaced_by.as_deref(), Some("o2"));
    }

    #[test]
    fn certificate_json_without_replaced_by_still_decodes() {
        // Records serialized before schema v2 carry no `replaced_by`.
        let old = r#"{"serial":"7f","account_id":"a","order_id":"o","issuer_id":"i",
            "der":[1],"spki_sha256":"ab","identifiers":[],"not_before":1,"not_after":2,
            "revoked_at":null,"revoked_reason":null,"issued_at":3}"#;
        let c: CertificateRecord = from_json(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.serial.as_str(), c.replaced_by), ("7f", None));
    }
}
