//! The HTTP management API of the test DNS server (JSON bodies, after Pebble's
//! `pebble-challtestsrv`). Every mutating route is `POST` and answers `200` with an empty
//! body; a body that does not parse answers `4xx` from axum's JSON extractor.
//!
//! | route | body |
//! | --- | --- |
//! | `/set-txt` | `{"host", "value"}` (appends a value) |
//! | `/clear-txt` | `{"host"}` |
//! | `/add-a`, `/add-aaaa` | `{"host", "addresses": [..]}` |
//! | `/clear-a`, `/clear-aaaa` | `{"host"}` |
//! | `/set-caa` | `{"host", "records": [{"flags", "tag", "value"}]}` (replaces) |
//! | `/clear-caa` | `{"host"}` |
//! | `/set-cname` | `{"host", "target"}` |
//! | `/clear-cname` | `{"host"}` |
//! | `/set-servfail`, `/clear-servfail` | `{"host"}` |
//! | `/set-default-ipv4` | `{"ip"}` (empty string or null removes it) |
//! | `GET /history` | — answers `[{"name", "type", "transport", "unixMillis"}]` |
//! | `/clear-history` | — |

use crate::zone::{CaaRecord, normalize};
use crate::{Shared, lock};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

type St = State<Arc<Shared>>;

#[derive(Deserialize)]
struct Host {
    host: String,
}

#[derive(Deserialize)]
struct Txt {
    host: String,
    value: String,
}

#[derive(Deserialize)]
struct Addrs<T> {
    host: String,
    addresses: Vec<T>,
}

#[derive(Deserialize)]
struct Caa {
    host: String,
    records: Vec<CaaRecord>,
}

#[derive(Deserialize)]
struct Cname {
    host: String,
    target: String,
}

#[derive(Deserialize)]
struct DefaultIp {
    ip: Option<String>,
}

/// The management routes over the shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/set-txt", post(set_txt))
        .route("/clear-txt", post(clear_txt))
        .route("/add-a", post(add_a))
        .route("/add-aaaa", post(add_aaaa))
        .route("/clear-a", post(clear_a))
        .route("/clear-aaaa", post(clear_aaaa))
        .route("/set-caa", post(set_caa))
        .route("/clear-caa", post(clear_caa))
        .route("/set-cname", post(set_cname))
        .route("/clear-cname", post(clear_cname))
        .route("/set-servfail", post(set_servfail))
        .route("/clear-servfail", post(clear_servfail))
        .route("/set-default-ipv4", post(set_default_ipv4))
        .route("/history", get(history))
        .route("/clear-history", post(clear_history))
        .with_state(shared)
}

async fn set_txt(State(s): St, Json(b): Json<Txt>) {
    s.zone()
        .txt
        .entry(normalize(&b.host))
        .or_default()
        .push(b.value);
}

async fn clear_txt(State(s): St, Json(b): Json<Host>) {
    s.zone().txt.remove(&normalize(&b.host));
}

async fn add_a(State(s): St, Json(b): Json<Addrs<Ipv4Addr>>) {
    let mut z = s.zone();
    z.a.entry(normalize(&b.host))
        .or_default()
        .extend(b.addresses);
}

async fn add_aaaa(State(s): St, Json(b): Json<Addrs<Ipv6Addr>>) {
    let mut z = s.zone();
    z.aaaa
        .entry(normalize(&b.host))
        .or_default()
        .extend(b.addresses);
}

async fn clear_a(State(s): St, Json(b): Json<Host>) {
    s.zone().a.remove(&normalize(&b.host));
}

async fn clear_aaaa(State(s): St, Json(b): Json<Host>) {
    s.zone().aaaa.remove(&normalize(&b.host));
}

async fn set_caa(State(s): St, Json(b): Json<Caa>) {
    s.zone().caa.insert(normalize(&b.host), b.records);
}

async fn clear_caa(State(s): St, Json(b): Json<Host>) {
    s.zone().caa.remove(&normalize(&b.host));
}

async fn set_cname(State(s): St, Json(b): Json<Cname>) {
    s.zone()
        .cname
        .insert(normalize(&b.host), normalize(&b.target));
}

async fn clear_cname(State(s): St, Json(b): Json<Host>) {
    s.zone().cname.remove(&normalize(&b.host));
}

async fn set_servfail(State(s): St, Json(b): Json<Host>) {
    s.zone().servfail.insert(normalize(&b.host));
}

async fn clear_servfail(State(s): St, Json(b): Json<Host>) {
    s.zone().servfail.remove(&normalize(&b.host));
}

async fn set_default_ipv4(
    State(s): St,
    Json(b): Json<DefaultIp>,
) -> Result<(), (StatusCode, &'static str)> {
    let ip = match b.ip.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<Ipv4Addr>()
                .map_err(|_| (StatusCode::BAD_REQUEST, "ip is not an IPv4 address"))?,
        ),
    };
    s.zone().default_ipv4 = ip;
    Ok(())
}

async fn history(State(s): St) -> Json<serde_json::Value> {
    let h = lock(&s.history).clone();
    Json(serde_json::to_value(h).unwrap_or_default())
}

async fn clear_history(State(s): St) {
    lock(&s.history).clear();
}
