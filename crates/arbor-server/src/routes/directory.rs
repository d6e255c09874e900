//! The directory resource (RFC 8555 §7.1.1), plus `newRelativeCertificate` when the CA
//! runs an MTC log (PR #207 to draft-ietf-plants-merkle-tree-certs).

use crate::auth::base_url;
use crate::error::ApiResult;
use crate::render::paths;
use crate::routes::json;
use crate::state::AppState;
use arbor_proto::objects::{Directory, DirectoryMeta};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

/// GET /dir
pub async fn get_directory(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    let base = base_url(&headers, &uri)?;
    let cfg = &state.cfg;
    let dir = Directory {
        new_nonce: format!("{base}{}", paths::NEW_NONCE),
        new_account: format!("{base}{}", paths::NEW_ACCOUNT),
        new_order: format!("{base}{}", paths::NEW_ORDER),
        new_authz: Some(format!("{base}{}", paths::NEW_AUTHZ)),
        revoke_cert: format!("{base}{}", paths::REVOKE_CERT),
        key_change: format!("{base}{}", paths::KEY_CHANGE),
        renewal_info: Some(format!("{base}{}", paths::RENEWAL_INFO)),
        // PR #207 to draft-ietf-plants-merkle-tree-certs: signals MTC support.
        new_relative_certificate: state
            .mtc
            .is_some()
            .then(|| format!("{base}{}", crate::routes::mtc::NEW_RELATIVE_CERT)),
        meta: Some(DirectoryMeta {
            terms_of_service: cfg.terms_of_service.clone(),
            website: cfg.website.clone(),
            caa_identities: cfg.caa_identities.clone(),
            external_account_required: state.ra.config().external_account_required,
            profiles: Some(
                state
                    .ra
                    .config()
                    .profiles
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            serde_json::Value::String(p.description.clone()),
                        )
                    })
                    .collect(),
            ),
        }),
    };
    Ok(json(StatusCode::OK, &dir, None))
}
