//! The address policy: which IP addresses the VA may connect to (RFC 8555 §10.4).
//!
//! A validation request makes the CA open a connection to wherever the applicant's DNS
//! points, so an attacker could aim it at the CA's own network (server-side request
//! forgery). The VA therefore only connects to globally routable unicast addresses: it
//! refuses the IANA special-purpose ranges (RFC 6890 and its registries) — loopback,
//! RFC 1918 private, shared CGNAT space, link-local (which holds the cloud metadata
//! service 169.254.169.254), documentation, benchmarking, multicast, reserved, broadcast,
//! unique-local and IPv4-mapped IPv6. For IPv6 the rule is positive: only global unicast
//! (`2000::/3`) minus its special blocks is allowed.
//!
//! Deviation: local mode (`allow_loopback`) additionally allows 127.0.0.0/8 and `::1`, so
//! a laptop CA can validate a responder on the same machine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks the VA never connects to (address, prefix length, name).
const DENIED_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this network (RFC 791)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private (RFC 1918)"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared CGNAT space (RFC 6598)",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback (RFC 1122)"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local (RFC 3927)"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private (RFC 1918)"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments (RFC 6890)",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation TEST-NET-1 (RFC 5737)",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "6to4 relay anycast (RFC 7526)",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private (RFC 1918)"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking (RFC 2544)"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation TEST-NET-2 (RFC 5737)",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation TEST-NET-3 (RFC 5737)",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast (RFC 5771)"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved and broadcast (RFC 1112, RFC 919)",
    ),
];

/// Blocks inside IPv6 global unicast (`2000::/3`) that are still refused.
const DENIED_V6_GLOBAL: &[(Ipv6Addr, u8, &str)] = &[
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "IETF protocol assignments, incl. Teredo (RFC 2928, RFC 4380)",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation (RFC 3849)",
    ),
    (
        Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),
        16,
        "6to4 (RFC 3056)",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation (RFC 9637)",
    ),
];

/// Whether the VA may connect to `ip`. `allow_loopback` is local mode: it additionally
/// allows 127.0.0.0/8 and `::1`.
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    denial_reason(ip, allow_loopback).is_none()
}

/// Why `ip` is refused, or `None` when it is allowed (for error details and logs).
pub fn denial_reason(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            if allow_loopback && v4.is_loopback() {
                return None;
            }
            DENIED_V4
                .iter()
                .find(|(net, len, _)| v4_in(v4, *net, *len))
                .map(|(_, _, why)| *why)
        }
        IpAddr::V6(v6) => {
            if v6 == Ipv6Addr::LOCALHOST {
                return (!allow_loopback).then_some("loopback (RFC 4291)");
            }
            let global_unicast = Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0);
            if !v6_in(v6, global_unicast, 3) {
                return Some(v6_special_name(v6));
            }
            DENIED_V6_GLOBAL
                .iter()
                .find(|(net, len, _)| v6_in(v6, *net, *len))
                .map(|(_, _, why)| *why)
        }
    }
}

/// A name for an IPv6 address outside global unicast, for error details.
fn v6_special_name(v6: Ipv6Addr) -> &'static str {
    let seg0 = v6.segments()[0];
    if v6.is_unspecified() {
        "unspecified (RFC 4291)"
    } else if v6.to_ipv4_mapped().is_some() {
        "IPv4-mapped IPv6 (RFC 4291)"
    } else if seg0 & 0xfe00 == 0xfc00 {
        "unique local (RFC 4193)"
    } else if seg0 & 0xffc0 == 0xfe80 {
        "link-local (RFC 4291)"
    } else if seg0 & 0xff00 == 0xff00 {
        "multicast (RFC 4291)"
    } else {
        "not IPv6 global unicast (RFC 4291)"
    }
}

fn v4_in(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    /// (address, allowed in production, allowed in local mode)
    const TABLE: &[(&str, bool, bool)] = &[
        // public
        ("8.8.8.8", true, true),
        ("1.1.1.1", true, true),
        ("93.184.215.14", true, true),
        ("2606:4700:4700::1111", true, true),
        ("2a00:1450:4001:80b::200e", true, true),
        // loopback: only local mode
        ("127.0.0.1", false, true),
        ("127.255.255.254", false, true),
        ("::1", false, true),
        // this network / unspecified
        ("0.0.0.0", false, false),
        ("0.1.2.3", false, false),
        ("::", false, false),
        // RFC 1918
        ("10.0.0.1", false, false),
        ("10.255.255.255", false, false),
        ("172.16.0.1", false, false),
        ("172.31.255.255", false, false),
        ("192.168.1.1", false, false),
        // just outside RFC 1918 blocks
        ("172.15.255.255", true, true),
        ("172.32.0.0", true, true),
        ("11.0.0.0", true, true),
        // CGNAT
        ("100.64.0.1", false, false),
        ("100.127.255.255", false, false),
        ("100.63.255.255", true, true),
        ("100.128.0.0", true, true),
        // link-local, incl. cloud metadata
        ("169.254.169.254", false, false),
        ("169.254.0.1", false, false),
        ("fe80::1", false, false),
        ("febf::1", false, false),
        // IETF / documentation / benchmarking
        ("192.0.0.8", false, false),
        ("192.0.2.1", false, false),
        ("192.88.99.1", false, false),
        ("198.18.0.1", false, false),
        ("198.19.255.255", false, false),
        ("198.51.100.7", false, false),
        ("203.0.113.9", false, false),
        ("2001:db8::1", false, false),
        ("3fff::1", false, false),
        ("2001::1", false, false),
        ("2002:c000:0201::1", false, false),
        // multicast, reserved, broadcast
        ("224.0.0.1", false, false),
        ("239.255.255.250", false, false),
        ("240.0.0.1", false, false),
        ("255.255.255.255", false, false),
        ("ff02::1", false, false),
        // ULA
        ("fc00::1", false, false),
        ("fd12:3456:789a::1", false, false),
        // IPv4-mapped and -compatible IPv6, even for public or loopback v4
        ("::ffff:8.8.8.8", false, false),
        ("::ffff:127.0.0.1", false, false),
        ("::8.8.8.8", false, false),
        // NAT64 and other non-global-unicast v6
        ("64:ff9b::a00:1", false, false),
        ("100::1", false, false),
    ];

    #[test]
    fn table_both_modes() {
        for (addr, prod, local) in TABLE {
            assert_eq!(address_allowed(ip(addr), false), *prod, "production {addr}");
            assert_eq!(address_allowed(ip(addr), true), *local, "local {addr}");
        }
    }

    #[test]
    fn reasons_name_the_range() {
        assert_eq!(
            denial_reason(ip("169.254.169.254"), false),
            Some("link-local (RFC 3927)")
        );
        assert_eq!(
            denial_reason(ip("::ffff:1.2.3.4"), false),
            Some("IPv4-mapped IPv6 (RFC 4291)")
        );
        assert_eq!(
            denial_reason(ip("fd00::1"), true),
            Some("unique local (RFC 4193)")
        );
        assert_eq!(denial_reason(ip("::1"), false), Some("loopback (RFC 4291)"));
        assert_eq!(denial_reason(ip("8.8.4.4"), false), None);
    }

    #[test]
    fn prefix_math_edges() {
        assert!(v4_in(
            Ipv4Addr::new(1, 2, 3, 4),
            Ipv4Addr::new(0, 0, 0, 0),
            0
        ));
        assert!(v4_in(
            Ipv4Addr::new(1, 2, 3, 4),
            Ipv4Addr::new(1, 2, 3, 4),
            32
        ));
        assert!(!v4_in(
            Ipv4Addr::new(1, 2, 3, 5),
            Ipv4Addr::new(1, 2, 3, 4),
            32
        ));
        assert!(v6_in(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 128));
        assert!(v6_in(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED, 0));
    }
}
