//! One bounded HTTP/1.1 GET to one exact, already vetted socket address (RFC 8555 §8.3).
//!
//! The connection goes to the address the VA resolved and checked against the address
//! policy: there is no second DNS look-up, so DNS rebinding cannot move it. The whole
//! exchange ends at a deadline, the body is read only for a 200 answer and never past the
//! size limit, and redirects are reported to the caller rather than followed here. An
//! `https` target is reached over TLS (see [`crate::tls`] for why its chain is not
//! verified).

use crate::error::ValidationError;
use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, HOST, LOCATION, USER_AGENT};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;

/// The `User-Agent` the VA sends.
pub const USER_AGENT_VALUE: &str = concat!("arbor-va/", env!("CARGO_PKG_VERSION"));

/// hyper's read buffer, which bounds the response head (status line + headers).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What one request needs.
pub(crate) struct Target<'a> {
    /// The vetted address to connect to.
    pub addr: SocketAddr,
    /// The `Host` header value (host, plus `:port` when not the scheme's default).
    pub host_header: &'a str,
    /// The request target (path and query).
    pub path: &'a str,
    /// The URL, for error details.
    pub url: &'a str,
    /// For `https`: the name to send as SNI and the client configuration.
    pub tls: Option<(ServerName<'static>, Arc<ClientConfig>)>,
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    /// The raw `Location` header of a redirect, if present and valid text.
    pub location: Option<String>,
    /// The body; only read for 200 responses, empty otherwise.
    pub body: Bytes,
}

/// Why a fetch failed.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// No TCP connection could be made: another address may be tried.
    Connect(ValidationError),
    /// The connection was made, then the exchange failed: final.
    Exchange(ValidationError),
}

/// Aborts the spawned connection driver when the fetch ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connects to `t.addr` (giving up at `connect_deadline`), sends the GET and reads the
/// response (giving up at `deadline`), reading at most `max_body` bytes of body.
pub(crate) async fn fetch(
    t: &Target<'_>,
    connect_deadline: Instant,
    deadline: Instant,
    max_body: usize,
) -> Result<Response, FetchError> {
    let prefix = format!("{}: Fetching {}", t.addr.ip(), t.url);
    let stream = match timeout_at(connect_deadline, TcpStream::connect(t.addr)).await {
        Err(_elapsed) => {
            return Err(FetchError::Connect(ValidationError::Connection(format!(
                "{prefix}: Timeout during connect (likely firewall problem)"
            ))));
        }
        Ok(Err(e)) => {
            return Err(FetchError::Connect(ValidationError::Connection(format!(
                "{prefix}: {}",
                describe_io(&e)
            ))));
        }
        Ok(Ok(s)) => s,
    };
    // Best effort: a failure only costs latency.
    let _ = stream.set_nodelay(true);
    let work = async {
        match &t.tls {
            None => exchange(stream, t, max_body, &prefix).await,
            Some((name, cfg)) => {
                let tls = TlsConnector::from(cfg.clone())
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| {
                        ValidationError::Tls(format!("{prefix}: TLS handshake failed: {e}"))
                    })?;
                exchange(tls, t, max_body, &prefix).await
            }
        }
    };
    match timeout_at(deadline, work).await {
        Ok(r) => r.map_err(FetchError::Exchange),
        Err(_elapsed) => Err(FetchError::Exchange(ValidationError::Connection(format!(
            "{prefix}: Timeout after connect (your server may be slow or overloaded)"
        )))),
    }
}

/// The HTTP part, once connected.
async fn exchange<S>(
    stream: S,
    t: &Target<'_>,
    max_body: usize,
    prefix: &str,
) -> Result<Response, ValidationError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn_err = |what: &str| ValidationError::Connection(format!("{prefix}: {what}"));
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| conn_err(&describe_hyper(&e)))?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        // Errors surface through `send_request` and the body stream.
        let _ = conn.await;
    }));
    let req = Request::get(t.path)
        .header(HOST, t.host_header)
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(ACCEPT, "*/*")
        .header(CONNECTION, "close")
        .body(Empty::new())
        .map_err(|_| ValidationError::Malformed(format!("{prefix}: invalid request target")))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| conn_err(&describe_hyper(&e)))?;
    let status = resp.status();
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status != StatusCode::OK {
        return Ok(Response {
            status,
            location,
            body: Bytes::new(),
        });
    }
    let too_big = || {
        ValidationError::Unauthorized(format!(
            "{prefix}: the response body is larger than {max_body} bytes"
        ))
    };
    let declared = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return Err(too_big());
    }
    let mut body = resp.into_body();
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| conn_err(&describe_hyper(&e)))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max_body {
                return Err(too_big());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Response {
        status,
        location,
        body: buf.freeze(),
    })
}

/// A fixed description of a socket error.
fn describe_io(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "Connection refused",
        io::ErrorKind::ConnectionReset => "Connection reset by peer",
        io::ErrorKind::TimedOut => "Timeout during connect (likely firewall problem)",
        io::ErrorKind::HostUnreachable => "No route to host",
        io::ErrorKind::NetworkUnreachable => "Network unreachable",
        io::ErrorKind::AddrNotAvailable => "Address not available",
        _ => "Error connecting",
    }
}

/// A fixed description of an HTTP-level failure (no server text is echoed).
fn describe_hyper(e: &hyper::Error) -> String {
    if e.is_parse_too_large() {
        "The server's response headers are too large".into()
    } else if e.is_parse() || e.is_parse_status() {
        "The server did not send a valid HTTP/1.1 response".into()
    } else if e.is_incomplete_message() {
        "The server closed the connection before sending a complete response".into()
    } else if e.is_timeout() {
        "Timeout after connect (your server may be slow or overloaded)".into()
    } else {
        "Error reading the HTTP response".into()
    }
}
