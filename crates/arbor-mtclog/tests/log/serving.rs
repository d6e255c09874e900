use std::collections::BTreeMap;
use std::sync::Arc;

use arbor_mtclog::{MtcSite, router};
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::common::*;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let cache = resp
        .headers()
        .get(header::CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, cache, body)
}

#[tokio::test]
async fn router_serves_ca_checkpoint_tiles_and_landmarks() {
    let env = Env::new();
    let cfg = config();
    let log = env.create(&cfg).await;
    submit_round(&log, entries("h", 300)).await;
    let site = Arc::new(MtcSite {
        ca_der: b"fake-ca-der".to_vec(),
        logs: BTreeMap::from([(1u16, log.clone())]),
    });
    let app = axum::Router::new().nest("/mtc", router(site));

    let (s, _, b) = get(&app, "/mtc/ca.der").await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, &b"fake-ca-der"[..]));
    let (s, c, b) = get(&app, "/mtc/1/checkpoint").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c.as_deref(), Some(arbor_mtclog::http::MUTABLE_CACHE));
    assert_eq!(b, log.checkpoint().note);
    for path in [
        "tile/0/000",
        "tile/0/001.p/44",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/44",
    ] {
        let (s, c, b) = get(&app, &format!("/mtc/1/{path}")).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(c.as_deref(), Some(arbor_mtclog::http::IMMUTABLE_CACHE));
        assert_eq!(
            Some(b),
            arbor_mtclog::LogStorage::get(&env.mem, path).unwrap()
        );
    }
    let (s, _, b) = get(&app, "/mtc/1/landmarks").await;
    assert_eq!((s, b.as_slice()), (StatusCode::OK, &b"0\n0 0\n"[..]));
    for missing in [
        "/mtc/2/checkpoint",
        "/mtc/01/checkpoint",
        "/mtc/1/tile/0/002",
        "/mtc/1/tile/../checkpoint",
        "/mtc/1/tile/0/1",
        "/mtc/1/staging/300",
    ] {
        assert_eq!(
            get(&app, missing).await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}
