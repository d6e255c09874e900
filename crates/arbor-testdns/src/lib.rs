//! A scriptable test DNS server, in-process, like Pebble's `pebble-challtestsrv`: UDP and
//! TCP DNS on one address answering A/AAAA/TXT/CAA/CNAME from an in-memory table, with
//! per-name SERVFAIL injection, a default IPv4 answer for A queries, and a request history
//! that tests assert on; plus an HTTP management API (JSON, see [`mgmt`]) on another
//! address.
//!
//! Tests in the same process call the methods on [`TestDns`] directly; other processes
//! (an ACME client under test, a shell script) use the management API. For test use only:
//! it answers anyone who can reach it and is not a real authoritative server (see
//! [`zone`] for the simplifications).
#![forbid(unsafe_code)]

pub mod mgmt;
mod server;
pub mod zone;

pub use zone::CaaRecord;

use hickory_proto::rr::{Name, RecordType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;
use zone::{Answer, Zone, normalize};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestDnsError {
    /// The DNS address could not be bound (UDP or TCP).
    #[error("cannot listen for DNS on {0}: {1}")]
    BindDns(SocketAddr, std::io::Error),
    /// The management address could not be bound.
    #[error("cannot listen for the management API on {0}: {1}")]
    BindManagement(SocketAddr, std::io::Error),
    /// The management server stopped with an error.
    #[error("the management API failed: {0}")]
    Serve(std::io::Error),
}

/// One query the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The name asked, lowercase, without the trailing dot.
    pub name: String,
    /// The record type asked, e.g. `TXT`.
    pub qtype: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// When it arrived.
    pub at: SystemTime,
}

impl serde::Serialize for HistoryEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let ms = self
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut st = s.serialize_struct("HistoryEntry", 4)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("type", &self.qtype)?;
        st.serialize_field("transport", &self.transport)?;
        st.serialize_field("unixMillis", &ms)?;
        st.end()
    }
}

/// State shared by the DNS listeners, the management API and [`TestDns`].
#[derive(Debug, Default)]
pub(crate) struct Shared {
    zone: Mutex<Zone>,
    history: Mutex<Vec<HistoryEntry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the tables inconsistent (each update is
    // one map operation), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn record(&self, e: HistoryEntry) {
        lock(&self.history).push(e);
    }

    pub(crate) fn answer(&self, name: &Name, qtype: RecordType) -> Answer {
        lock(&self.zone).answer(name, qtype)
    }

    pub(crate) fn zone(&self) -> MutexGuard<'_, Zone> {
        lock(&self.zone)
    }
}

/// How to start the server from the command line.
#[derive(Debug, Clone)]
pub struct TestDnsOptions {
    /// The DNS address (UDP and TCP).
    pub dns: SocketAddr,
    /// The management API address.
    pub management: SocketAddr,
    /// The answer to A queries for names with no A record.
    pub default_ipv4: Option<Ipv4Addr>,
}

/// A running test DNS server. Dropping it stops the listeners.
#[derive(Debug)]
pub struct TestDns {
    /// Where DNS is served (UDP and TCP).
    pub dns_addr: SocketAddr,
    /// Where the management API is served (HTTP).
    pub mgmt_addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<Result<(), TestDnsError>>>,
}

impl Drop for TestDns {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl TestDns {
    /// Starts DNS on `dns` and the management API on `mgmt` (port 0 picks a free port;
    /// the chosen ones are in [`TestDns::dns_addr`] and [`TestDns::mgmt_addr`]).
    pub async fn start(dns: SocketAddr, mgmt: SocketAddr) -> Result<TestDns, TestDnsError> {
        let shared = Arc::new(Shared::default());
        let (udp, tcp) = server::bind_pair(dns)
            .await
            .map_err(|e| TestDnsError::BindDns(dns, e))?;
        let dns_addr = udp
            .local_addr()
            .map_err(|e| TestDnsError::BindDns(dns, e))?;
        let mgmt_listener = tokio::net::TcpListener::bind(mgmt)
            .await
            .map_err(|e| TestDnsError::BindManagement(mgmt, e))?;
        let mgmt_addr = mgmt_listener
            .local_addr()
            .map_err(|e| TestDnsError::BindManagement(mgmt, e))?;
        let (s1, s2, s3) = (shared.clone(), shared.clone(), shared.clone());
        let tasks = vec![
            tokio::spawn(async move {
                server::serve_udp(udp, s1).await;
                Ok(())
            }),
            tokio::spawn(async move {
                server::serve_tcp(tcp, s2).await;
                Ok(())
            }),
            tokio::spawn(async move {
                axum::serve(mgmt_listener, mgmt::router(s3))
                    .await
                    .map_err(TestDnsError::Serve)
            }),
        ];
        tracing::info!(%dns_addr, %mgmt_addr, "test DNS server started");
        Ok(TestDns {
            dns_addr,
            mgmt_addr,
            shared,
            tasks,
        })
    }

    /// Adds a TXT value for `host` (appends, like challtestsrv's `/set-txt`; several
    /// values make several TXT records).
    pub fn set_txt(&self, host: &str, value: &str) {
        let mut z = self.shared.zone();
        z.txt.entry(normalize(host)).or_default().push(value.into());
    }

    /// Removes every TXT value of `host`.
    pub fn clear_txt(&self, host: &str) {
        self.shared.zone().txt.remove(&normalize(host));
    }

    /// Adds A (IPv4) or AAAA (IPv6) addresses for `host`.
    pub fn add_addresses(&self, host: &str, addresses: &[IpAddr]) {
        let mut z = self.shared.zone();
        let host = normalize(host);
        for ip in addresses {
            match ip {
                IpAddr::V4(v4) => z.a.entry(host.clone()).or_default().push(*v4),
                IpAddr::V6(v6) => z.aaaa.entry(host.clone()).or_default().push(*v6),
            }
        }
    }

    /// Adds A records for `host`.
    pub fn add_a(&self, host: &str, addresses: &[Ipv4Addr]) {
        let v: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V4).collect();
        self.add_addresses(host, &v);
    }

    /// Adds AAAA records for `host`.
    pub fn add_aaaa(&self, host: &str, addresses: &[Ipv6Addr]) {
        let v: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V6).collect();
        self.add_addresses(host, &v);
    }

    /// Removes the A records of `host`.
    pub fn clear_a(&self, host: &str) {
        self.shared.zone().a.remove(&normalize(host));
    }

    /// Removes the AAAA records of `host`.
    pub fn clear_aaaa(&self, host: &str) {
        self.shared.zone().aaaa.remove(&normalize(host));
    }

    /// Replaces the CAA RRset of `host`.
    pub fn set_caa(&self, host: &str, records: Vec<CaaRecord>) {
        self.shared.zone().caa.insert(normalize(host), records);
    }

    /// Removes the CAA RRset of `host`.
    pub fn clear_caa(&self, host: &str) {
        self.shared.zone().caa.remove(&normalize(host));
    }

    /// Makes `host` a CNAME (alias) of `target`.
    pub fn set_cname(&self, host: &str, target: &str) {
        self.shared
            .zone()
            .cname
            .insert(normalize(host), normalize(target));
    }

    /// Removes the CNAME of `host`.
    pub fn clear_cname(&self, host: &str) {
        self.shared.zone().cname.remove(&normalize(host));
    }

    /// Makes every query for `host` (or through a CNAME to it) answer SERVFAIL.
    pub fn set_servfail(&self, host: &str) {
        self.shared.zone().servfail.insert(normalize(host));
    }

    /// Stops the SERVFAIL answers for `host`.
    pub fn clear_servfail(&self, host: &str) {
        self.shared.zone().servfail.remove(&normalize(host));
    }

    /// Sets (or with `None` removes) the answer to A queries for names with no A record.
    pub fn set_default_ipv4(&self, ip: Option<Ipv4Addr>) {
        self.shared.zone().default_ipv4 = ip;
    }

    /// Every query received so far, oldest first.
    pub fn history(&self) -> Vec<HistoryEntry> {
        lock(&self.shared.history).clone()
    }

    /// The queries received for `name` (any case, with or without trailing dot).
    pub fn history_for(&self, name: &str) -> Vec<HistoryEntry> {
        let name = normalize(name);
        self.history()
            .into_iter()
            .filter(|e| e.name == name)
            .collect()
    }

    /// Forgets the history.
    pub fn clear_history(&self) {
        lock(&self.shared.history).clear();
    }
}

/// Runs the server until Ctrl-C (for `arbor testdns`).
pub async fn run_forever(opts: TestDnsOptions) -> Result<(), TestDnsError> {
    let srv = TestDns::start(opts.dns, opts.management).await?;
    srv.set_default_ipv4(opts.default_ipv4);
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler available: serve until the process is killed.
        std::future::pending::<()>().await;
    }
    drop(srv);
    Ok(())
}
