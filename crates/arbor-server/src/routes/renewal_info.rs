//! ACME Renewal Information (RFC 9773 §4): `GET renewalInfo/<certID>` answers the
//! suggested renewal window with a `Retry-After` telling clients when to ask again.

use crate::error::ApiResult;
use crate::render::rfc3339;
use crate::routes::json;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

/// GET /acme/renewal-info/{certID}
pub async fn get_renewal_info(
    State(state): State<AppState>,
    Path(cert_id): Path<String>,
) -> ApiResult<Response> {
    let w = state.ra.renewal_info(&cert_id).await?;
    let mut body = json!({
        "suggestedWindow": { "start": rfc3339(w.start), "end": rfc3339(w.end) }
    });
    if let Some(url) = &state.cfg.website {
        body["explanationURL"] = json!(url);
    }
    let mut r = json(StatusCode::OK, &body, None);
    if let Ok(v) = HeaderValue::from_str(&arbor_ra::RENEWAL_INFO_RETRY_AFTER_SECS.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(r)
}
