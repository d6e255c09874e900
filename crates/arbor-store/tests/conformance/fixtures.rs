//! Record builders shared by the conformance and fault tests.

use arbor_store::*;

pub fn account(id: &str, thumbprint: &str) -> AccountRecord {
    AccountRecord {
        id: id.into(),
        jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{thumbprint}"}}"#),
        thumbprint: thumbprint.into(),
        status: AccountStatus::Valid,
        contact: vec![format!("mailto:{id}@example.org")],
        tos_agreed: true,
        eab_kid: Some("kid-1".into()),
        eab_jws: Some(serde_json::json!({"protected": "e30", "payload": "x", "signature": "y"})),
        created_at: 1_700_000_000,
        created_ip: Some("192.0.2.7".into()),
    }
}

pub fn authz(
    id: &str,
    account: &str,
    name: &str,
    status: AuthzStatus,
    expires: i64,
) -> AuthzRecord {
    AuthzRecord {
        id: id.into(),
        account_id: account.into(),
        identifier: Identifier::dns(name),
        wildcard: false,
        status,
        expires,
        challenges: vec![ChallengeRecord {
            id: format!("{id}-c1"),
            typ: "http-01".into(),
            token: format!("tok-{id}"),
            status: ChallengeStatus::Pending,
            validated: None,
            error: None,
        }],
        validated_at: None,
        created_at: 1_700_000_000,
    }
}

pub fn order(id: &str, account: &str, status: OrderStatus, created_at: i64) -> OrderRecord {
    OrderRecord {
        id: id.into(),
        account_id: account.into(),
        status,
        expires: created_at + 7 * 86_400,
        identifiers: vec![
            Identifier::dns("a.example.com"),
            Identifier::dns("b.example.com"),
        ],
        not_before: None,
        not_after: Some(created_at + 90 * 86_400),
        authz_ids: vec![format!("{id}-az1"), format!("{id}-az2")],
        error: None,
        csr: Some(vec![0x30, 0x82, 0x01, 0x00, 0xff, 0x00]),
        cert_serial: None,
        profile: Some("classic".into()),
        replaces: None,
        created_at,
        processing_since: None,
    }
}

pub fn cert(serial: &str, account: &str, order: &str) -> CertificateRecord {
    CertificateRecord {
        serial: serial.into(),
        account_id: account.into(),
        order_id: order.into(),
        issuer_id: "int-1".into(),
        der: (0u8..=255).cycle().take(900).collect(),
        spki_sha256: format!("{:0>64}", serial),
        identifiers: vec![Identifier::dns("a.example.com")],
        not_before: 1_700_000_000,
        not_after: 1_707_776_000,
        revoked_at: None,
        revoked_reason: None,
        issued_at: 1_700_000_001,
        replaced_by: None,
    }
}

/// Inserts an account and a `ready` order with its two authorizations.
pub async fn seed_order(s: &dyn Storage, acct: &str, order_id: &str) -> OrderRecord {
    if s.get_account(acct).await.unwrap().is_none() {
        s.insert_account(&account(acct, &format!("tp-{acct}")))
            .await
            .unwrap();
    }
    let o = order(order_id, acct, OrderStatus::Ready, 1_700_000_100);
    let azs = [
        authz(
            &o.authz_ids[0],
            acct,
            "a.example.com",
            AuthzStatus::Valid,
            1_800_000_000,
        ),
        authz(
            &o.authz_ids[1],
            acct,
            "b.example.com",
            AuthzStatus::Valid,
            1_800_000_000,
        ),
    ];
    s.insert_order(&o, &azs).await.unwrap();
    o
}
