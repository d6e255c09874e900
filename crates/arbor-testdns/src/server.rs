//! The DNS side of the test server: UDP and TCP (RFC 1035 §4.2, RFC 7766) listeners that
//! decode each query with hickory-proto, record it in the history and answer from the
//! [`crate::zone::Zone`].
//!
//! Only standard queries with exactly one question are answered; anything else gets
//! FORMERR or NOTIMP. UDP answers larger than the client's EDNS payload size (512 bytes
//! without EDNS) are sent truncated (TC set) so the client retries over TCP.

use crate::{HistoryEntry, Shared};
use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// The UDP payload size without EDNS (RFC 1035 §4.2.1).
const PLAIN_UDP_MAX: usize = 512;
/// The payload size this server advertises (DNS flag day 2020).
const EDNS_PAYLOAD: u16 = 1232;
/// How long a TCP client may stay idle between queries.
const TCP_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves UDP queries until the task is aborted.
pub(crate) async fn serve_udp(sock: UdpSocket, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, peer) = match sock.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(error = %e, "testdns: UDP receive failed");
                continue;
            }
        };
        let Some(reply) = handle(&buf[..len], &shared, "udp", true) else {
            continue;
        };
        if let Err(e) = sock.send_to(&reply, peer).await {
            tracing::debug!(%peer, error = %e, "testdns: UDP send failed");
        }
    }
}

/// Serves TCP connections until the task is aborted.
pub(crate) async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_tcp_conn(stream, shared.clone()));
            }
            Err(e) => tracing::debug!(error = %e, "testdns: TCP accept failed"),
        }
    }
}

async fn serve_tcp_conn(mut stream: TcpStream, shared: Arc<Shared>) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut msg).await.is_err() {
            return;
        }
        let Some(reply) = handle(&msg, &shared, "tcp", false) else {
            return;
        };
        let Ok(n) = u16::try_from(reply.len()) else {
            return;
        };
        let mut out = n.to_be_bytes().to_vec();
        out.extend_from_slice(&reply);
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Decodes one query and builds the reply bytes; `None` when nothing should be sent
/// (undecodable bytes or a message that is not a query).
fn handle(bytes: &[u8], shared: &Shared, transport: &'static str, udp: bool) -> Option<Vec<u8>> {
    let req = Message::from_vec(bytes).ok()?;
    if req.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut resp = Message::new(req.metadata.id, MessageType::Response, req.metadata.op_code);
    resp.metadata = Metadata::response_from_request(&req.metadata);
    resp.metadata.authoritative = true;
    resp.metadata.recursion_available = true;
    resp.add_queries(req.queries.iter().cloned());
    if req.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        resp.set_edns(edns);
    }
    let max_udp = req
        .edns
        .as_ref()
        .map_or(PLAIN_UDP_MAX, |e| usize::from(e.max_payload().max(512)));
    if req.metadata.op_code != OpCode::Query {
        resp.metadata.response_code = ResponseCode::NotImp;
    } else if req.queries.len() != 1 {
        resp.metadata.response_code = ResponseCode::FormErr;
    } else {
        let q = &req.queries[0];
        shared.record(HistoryEntry {
            name: crate::zone::normalize(&q.name().to_ascii()),
            qtype: q.query_type().to_string(),
            transport: transport.to_string(),
            at: SystemTime::now(),
        });
        let answer = shared.answer(q.name(), q.query_type());
        resp.metadata.response_code = answer.code;
        resp.add_answers(answer.records);
    }
    let out = resp.to_vec().ok()?;
    if udp && out.len() > max_udp {
        return resp.truncate().to_vec().ok();
    }
    Some(out)
}

/// Binds UDP and TCP on the same address; with port 0, picks a port free for both.
pub(crate) async fn bind_pair(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    const ATTEMPTS: usize = 16;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let udp = UdpSocket::bind(addr).await?;
        let local = udp.local_addr()?;
        match TcpListener::bind(local).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port")))
}
