//! The one place where errors become RFC 7807 problem documents (RFC 8555 §6.7).
//!
//! [`problem_for`] is an exhaustive `match` with no catch-all arm, so a new error variant
//! anywhere below cannot reach a client unmapped. Internal failures render as a generic
//! `serverInternal`; their detail goes to the log only.

use arbor_proto::jws::{JwsError, SUPPORTED_ALGS};
use arbor_proto::{Problem, ProblemType};
use arbor_ra::RaError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Ra(#[from] RaError),
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("{0}")]
    BadNonce(String),
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    AccountDoesNotExist(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(&'static str),
    #[error("{0}")]
    ExternalAccountBinding(String),
    /// Service unavailable for now (503 + Retry-After).
    #[error("{0}")]
    Unavailable(String),
    /// Overloaded on purpose (stampede guard): 503 with a jittered `Retry-After`.
    #[error("{detail}")]
    Busy {
        detail: String,
        retry_after_secs: u64,
    },
    /// MTC (PR #207): no landmark covers the certificate yet; `Retry-After` estimates when.
    #[error("{detail}")]
    LandmarkNotReady {
        detail: String,
        retry_after_secs: u64,
    },
    /// MTC: the landmark covering the certificate has expired.
    #[error("{0}")]
    CertificateTooOldForLandmark(String),
}

/// The status, problem document and any extra `Location` header for an error.
pub fn problem_for(e: &ApiError) -> (StatusCode, Problem, Option<String>) {
    use ProblemType as P;
    use StatusCode as S;
    let simple = |s: StatusCode, t: ProblemType, d: String| (s, Problem::new(t, d), None);
    match e {
        ApiError::Ra(r) => match r {
            RaError::Malformed(d) => simple(S::BAD_REQUEST, P::Malformed, d.clone()),
            RaError::Unauthorized(d) => simple(S::FORBIDDEN, P::Unauthorized, d.clone()),
            RaError::NotFound(what) => {
                simple(S::NOT_FOUND, P::Malformed, format!("{what} not found"))
            }
            RaError::AccountDoesNotExist(d) => {
                simple(S::BAD_REQUEST, P::AccountDoesNotExist, d.clone())
            }
            RaError::InvalidContact(d) => simple(S::BAD_REQUEST, P::InvalidContact, d.clone()),
            RaError::UnsupportedContact(d) => {
                simple(S::BAD_REQUEST, P::UnsupportedContact, d.clone())
            }
            RaError::UserActionRequired(d) => {
                simple(S::FORBIDDEN, P::UserActionRequired, d.clone())
            }
            RaError::ExternalAccountRequired(d) => {
                simple(S::UNAUTHORIZED, P::ExternalAccountRequired, d.clone())
            }
            RaError::RejectedIdentifiers {
                detail,
                subproblems,
            } => {
                // A lone subproblem's type becomes the top-level type (§6.7.1).
                let top = match subproblems.as_slice() {
                    [one] => one.typ,
                    _ => P::RejectedIdentifier,
                };
                let mut p = Problem::new(top, detail.clone());
                p.subproblems = subproblems
                    .iter()
                    .map(|s| {
                        Problem::new(s.typ, s.detail.clone()).with_identifier(s.identifier.clone())
                    })
                    .collect();
                (S::BAD_REQUEST, p, None)
            }
            RaError::OrderNotReady(d) => simple(S::FORBIDDEN, P::OrderNotReady, d.clone()),
            RaError::Caa {
                detail,
                subproblems,
            } => {
                let top = match subproblems.as_slice() {
                    [one] => one.typ,
                    _ => P::Caa,
                };
                let mut p = Problem::new(top, detail.clone());
                p.subproblems = subproblems
                    .iter()
                    .map(|s| {
                        Problem::new(s.typ, s.detail.clone()).with_identifier(s.identifier.clone())
                    })
                    .collect();
                (S::FORBIDDEN, p, None)
            }
            RaError::BadCsr(d) => simple(S::BAD_REQUEST, P::BadCsr, d.clone()),
            RaError::BadPublicKey(d) => simple(S::BAD_REQUEST, P::BadPublicKey, d.clone()),
            RaError::BadRevocationReason(d) => {
                simple(S::BAD_REQUEST, P::BadRevocationReason, d.clone())
            }
            RaError::AlreadyRevoked(d) => simple(S::BAD_REQUEST, P::AlreadyRevoked, d.clone()),
            RaError::AlreadyReplaced(d) => simple(S::CONFLICT, P::AlreadyReplaced, d.clone()),
            RaError::InvalidProfile(d) => simple(S::BAD_REQUEST, P::InvalidProfile, d.clone()),
            RaError::RateLimited { detail, .. } => {
                simple(S::TOO_MANY_REQUESTS, P::RateLimited, detail.clone())
            }
            RaError::KeyInUse { account_url_id } => (
                S::CONFLICT,
                Problem::new(
                    P::Malformed,
                    "the new key is already in use by another account",
                ),
                Some(account_url_id.clone()),
            ),
            RaError::Store(_) | RaError::Ca(_) | RaError::Internal(_) => internal(e),
        },
        ApiError::Jws(j) => match j {
            JwsError::Malformed(d) => simple(S::BAD_REQUEST, P::Malformed, d.clone()),
            JwsError::BadSignatureAlgorithm(d) => {
                let mut p = Problem::new(P::BadSignatureAlgorithm, d.clone());
                p.algorithms = Some(SUPPORTED_ALGS.iter().map(|s| s.to_string()).collect());
                (S::BAD_REQUEST, p, None)
            }
            JwsError::BadSignature => simple(
                S::FORBIDDEN,
                P::Malformed,
                "JWS verification error: the signature is invalid".into(),
            ),
            JwsError::BadPublicKey(d) => simple(S::BAD_REQUEST, P::BadPublicKey, d.clone()),
        },
        ApiError::BadNonce(d) => simple(S::BAD_REQUEST, P::BadNonce, d.clone()),
        ApiError::Malformed(d) => simple(S::BAD_REQUEST, P::Malformed, d.clone()),
        ApiError::UnsupportedMediaType(d) => {
            simple(S::UNSUPPORTED_MEDIA_TYPE, P::Malformed, d.clone())
        }
        ApiError::PayloadTooLarge(_) => simple(S::PAYLOAD_TOO_LARGE, P::Malformed, e.to_string()),
        ApiError::AccountDoesNotExist(d) => {
            simple(S::BAD_REQUEST, P::AccountDoesNotExist, d.clone())
        }
        ApiError::Unauthorized(d) => simple(S::FORBIDDEN, P::Unauthorized, d.clone()),
        ApiError::NotFound(d) => simple(S::NOT_FOUND, P::Malformed, d.clone()),
        ApiError::MethodNotAllowed(d) => {
            simple(S::METHOD_NOT_ALLOWED, P::Malformed, (*d).to_string())
        }
        ApiError::ExternalAccountBinding(d) => simple(S::UNAUTHORIZED, P::Unauthorized, d.clone()),
        ApiError::Unavailable(d) => simple(S::SERVICE_UNAVAILABLE, P::ServerInternal, d.clone()),
        ApiError::Busy { detail, .. } => {
            simple(S::SERVICE_UNAVAILABLE, P::ServerInternal, detail.clone())
        }
        ApiError::LandmarkNotReady { detail, .. } => {
            simple(S::FORBIDDEN, P::LandmarkNotReady, detail.clone())
        }
        ApiError::CertificateTooOldForLandmark(d) => {
            simple(S::GONE, P::CertificateTooOldForLandmark, d.clone())
        }
    }
}

fn internal(e: &ApiError) -> (StatusCode, Problem, Option<String>) {
    tracing::error!(error = %e, "internal error");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Problem::new(
            ProblemType::ServerInternal,
            "the server hit an internal error; the request may be retried",
        ),
        None,
    )
}

/// Marker put in response extensions so the account-URL `Location` of a 409 can be
/// completed with the request's base URL by the response middleware.
#[derive(Clone, Debug)]
pub struct ConflictAccount(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, mut problem, loc) = problem_for(&self);
        problem.status = Some(status.as_u16());
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        // RFC 8555 §6.6: a rate-limited reply says when to come back.
        if let ApiError::Ra(RaError::RateLimited {
            retry_after_secs, ..
        }) = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(&1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let ApiError::Busy {
            retry_after_secs, ..
        }
        | ApiError::LandmarkNotReady {
            retry_after_secs, ..
        } = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(&1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(id) = loc {
            resp.extensions_mut().insert(ConflictAccount(id));
        }
        resp
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
