//! Where paycore's own outbound requests may go: plugins' HTTP and merchant
//! webhooks. Both carry URLs someone else chose (a plugin, a tenant), so by
//! default neither may reach loopback, private, link-local (cloud metadata
//! at 169.254.169.254 among them), shared or multicast addresses, unless
//! the operator allows specific networks (`[outbound] allow_addresses`).
//!
//! This is the policy; the runtime's `outbound` module applies it inside
//! its HTTP client's resolver, on every address a name resolves to.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The operator's `[outbound]` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundConfig {
    pub addresses: AddressPolicy,
    /// Hosts plugins may call over plain `http://`; every other host needs
    /// `https://`, so a channel's keys and answers cross no network in clear.
    pub plain_http_hosts: Vec<String>,
}

impl OutboundConfig {
    /// Loopback allowed, over plain HTTP: for tests and the demo.
    pub fn loopback() -> Self {
        OutboundConfig {
            addresses: AddressPolicy::allowing_loopback(),
            plain_http_hosts: vec!["127.0.0.1".into(), "::1".into(), "localhost".into()],
        }
    }
}

/// The networks outbound requests may reach although they are not public.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Refuses every non-public address: what production wants.
    pub fn strict() -> Self {
        AddressPolicy::default()
    }

    /// Allows loopback as well, for tests and the demo, whose upstreams
    /// run on 127.0.0.1.
    pub fn allowing_loopback() -> Self {
        AddressPolicy {
            allowed: vec![
                IpNet::from(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ],
        }
    }

    /// `Err` names why `ip` may not be reached.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        match non_public(ip) {
            Some(kind) if !self.allowed.iter().any(|net| net.contains(&ip)) => Err(format!(
                "{ip} is a {kind} address; outbound requests may reach it only if [outbound] allow_addresses lists it"
            )),
            _ => Ok(()),
        }
    }

    /// Checks a URL's host if it is a literal address (names are checked
    /// when the client resolves them).
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("the URL has no host".into()),
        }
    }
}

/// What kind of non-public address `ip` is, if it is one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address wrapped in IPv6 (mapped, or NAT64) is judged
            // as the IPv4 address it reaches.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return non_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private (unique local)")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_named() {
        for (addr, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "reserved"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private (unique local)"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
        ] {
            assert_eq!(non_public(ip(addr)), Some(kind), "{addr}");
        }
        for public in ["8.8.8.8", "203.0.114.7", "2606:4700::1111", "100.128.0.1"] {
            assert_eq!(non_public(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn the_operator_can_allow_specific_networks() {
        let strict = AddressPolicy::strict();
        let why = strict.check(ip("169.254.169.254")).unwrap_err();
        assert!(
            why.contains("link-local") && why.contains("allow_addresses"),
            "{why}"
        );
        let loopback = AddressPolicy::allowing_loopback();
        assert!(loopback.check(ip("127.0.0.1")).is_ok());
        assert!(
            loopback.check(ip("127.0.0.2")).is_err(),
            "only the listed network"
        );
        assert!(loopback.check(ip("10.0.0.1")).is_err());
        let url = url::Url::parse("http://[::ffff:a9fe:a9fe]/latest/meta-data").unwrap();
        assert!(loopback.check_url(&url).is_err());
    }
}
