//! Client addresses for rate-limit keys, trusting `Forwarded` (RFC 7239) or
//! `X-Forwarded-For` only as far as configured proxies vouch for them.
//!
//! # Security
//!
//! Anyone can send `X-Forwarded-For: 1.2.3.4`. A proxy appends the address it received the
//! request from, so only the entries appended by proxies you run are true. The client is the
//! rightmost hop not in the trusted set, found by walking from the TCP peer leftwards through
//! trusted proxies; the first (leftmost) entry, which the client wrote itself, is used only
//! when every hop after it is trusted. A peer that is not a trusted proxy is the client, and
//! its headers are ignored. A malformed or obfuscated hop stops the walk at the last trusted
//! proxy (everything left of it is unverifiable), which keys those requests together rather
//! than letting them pick a key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use http::HeaderMap;
use http::header::FORWARDED;

use crate::Error;

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `Forwarded: for=...` (RFC 7239).
    Forwarded,
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    XForwardedFor,
}

/// An address block like `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(u128::from(net.to_bits()), self.prefix, 32)
                    == mask(u128::from(ip.to_bits()), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(net.to_bits(), self.prefix, 128) == mask(ip.to_bits(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    let keep = u32::from(prefix.min(width));
    let drop = u32::from(width) - keep;
    if drop >= 128 { 0 } else { bits >> drop }
}

impl FromStr for IpNet {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Misconfigured(format!("not an address block: {s:?}").into());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

/// How many leading bits of an IPv6 client address key its limit, unless set otherwise.
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// Finds the client address behind trusted proxies. IPv6 clients are keyed by their /64
/// ([`DEFAULT_IPV6_PREFIX`]; see [`TrustedProxies::with_ipv6_prefix`]).
///
/// ```
/// use std::net::IpAddr;
/// use auth_ratelimit::client_addr::{ForwardedHeader, TrustedProxies};
///
/// let proxies = TrustedProxies::new(ForwardedHeader::XForwardedFor, ["10.0.0.0/8"])?;
/// let mut headers = http::HeaderMap::new();
/// // The client claims to be 1.1.1.1; our proxy 10.0.0.2 saw it come from 203.0.113.9.
/// headers.insert("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2".parse().unwrap());
/// let peer: IpAddr = "10.0.0.1".parse().unwrap();
/// assert_eq!(proxies.client_addr(&headers, peer), "203.0.113.9".parse::<IpAddr>().unwrap());
/// // A peer that is not our proxy is the client, whatever it writes.
/// let stranger: IpAddr = "198.51.100.7".parse().unwrap();
/// assert_eq!(proxies.client_addr(&headers, stranger), stranger);
/// # Ok::<(), auth_ratelimit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrustedProxies {
    header: ForwardedHeader,
    nets: Vec<IpNet>,
    ipv6_prefix: u8,
}

impl TrustedProxies {
    /// No proxy is trusted: the TCP peer is the client.
    pub fn none() -> Self {
        Self {
            header: ForwardedHeader::Forwarded,
            nets: Vec::new(),
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
        }
    }

    /// Trusts `header` when written by a proxy in one of `nets` (`"10.0.0.0/8"`, `"::1"`).
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] naming a block that does not parse.
    pub fn new<'a>(
        header: ForwardedHeader,
        nets: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, Error> {
        Ok(Self {
            header,
            nets: nets.into_iter().map(str::parse).collect::<Result<_, _>>()?,
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
        })
    }

    /// Keys IPv6 clients by their first `prefix` bits; the default is 64, because one
    /// subscriber usually holds a whole /64 and could otherwise rotate through its 2^64
    /// addresses to dodge the limit (RFC 6177). 128 keys each address on its own.
    pub fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix.min(128);
        self
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The client address for a request from TCP peer `peer` with `headers`, as a rate-limit
    /// key: an IPv6 client's address cut to its prefix (see [`with_ipv6_prefix`](Self::with_ipv6_prefix)).
    pub fn client_addr(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.key(self.find(headers, peer.to_canonical()))
    }

    /// The client's own address, whole (for a `Forwarded` header or a log line, not a key).
    pub fn client_ip(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        self.find(headers, peer.to_canonical())
    }

    fn find(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops = self.hops(headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.is_trusted(client) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }

    fn key(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) if self.ipv6_prefix < 128 => {
                let drop = 128 - u32::from(self.ipv6_prefix);
                let bits = v6.to_bits().checked_shr(drop).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from_bits(bits.checked_shl(drop).unwrap_or(0)))
            }
            other => other,
        }
    }

    /// Every hop, left to right, across all field lines; `None` for one that does not parse.
    fn hops(&self, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
        let name = match self.header {
            ForwardedHeader::Forwarded => FORWARDED,
            ForwardedHeader::XForwardedFor => http::HeaderName::from_static("x-forwarded-for"),
        };
        let mut hops = Vec::new();
        for line in headers.get_all(name) {
            let Ok(line) = line.to_str() else {
                hops.push(None);
                continue;
            };
            for element in split_unquoted(line, ',') {
                hops.push(match self.header {
                    ForwardedHeader::XForwardedFor => parse_node(element.trim()),
                    ForwardedHeader::Forwarded => forwarded_for(element),
                });
            }
        }
        hops
    }
}

/// The `for=` node of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    split_unquoted(element, ';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        if !name.eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some(parse_node(value))
    })?
}

/// An address with an optional port: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`, `::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, port) = rest.split_once(']')?;
        if !(port.is_empty() || port.strip_prefix(':').is_some_and(valid_port)) {
            return None;
        }
        return Ipv6Addr::from_str(v6).ok().map(IpAddr::V6);
    }
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(ip);
    }
    let (v4, port) = s.rsplit_once(':')?;
    valid_port(port)
        .then(|| Ipv4Addr::from_str(v4).ok().map(IpAddr::V4))
        .flatten()
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    s.split(move |c: char| {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            return true;
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[track_caller]
    fn check(p: &TrustedProxies, header: &str, values: &[&str], peer: &str, want: &str) {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                http::HeaderName::from_bytes(header.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        assert_eq!(
            p.client_addr(&h, ip(peer)),
            ip(want),
            "{values:?} from {peer}"
        );
    }

    #[test]
    fn x_forwarded_for() {
        // Whole IPv6 addresses, to see which one was picked.
        let p = TrustedProxies::new(ForwardedHeader::XForwardedFor, ["10.0.0.0/8", "::1"])
            .unwrap()
            .with_ipv6_prefix(128);
        let xff = "x-forwarded-for";
        check(&p, xff, &["6.6.6.6, 1.2.3.4"], "10.1.1.1", "1.2.3.4");
        check(
            &p,
            xff,
            &["6.6.6.6", "1.2.3.4, 10.0.0.9"],
            "10.1.1.1",
            "1.2.3.4",
        );
        check(&p, xff, &["1.2.3.4, 10.0.0.9"], "::1", "1.2.3.4");
        check(&p, xff, &["1.2.3.4"], "9.9.9.9", "9.9.9.9");
        check(
            &p,
            xff,
            &["6.6.6.6, garbage, 10.0.0.7"],
            "10.1.1.1",
            "10.0.0.7",
        );
        check(&p, xff, &["10.0.0.5, 10.0.0.7"], "10.1.1.1", "10.0.0.5");
        check(&p, xff, &[], "10.1.1.1", "10.1.1.1");
        check(&p, xff, &["1.2.3.4:5678"], "::ffff:10.1.1.1", "1.2.3.4");
        check(&p, xff, &["[2001:db8::7]:443"], "10.1.1.1", "2001:db8::7");
        // A peer that is not trusted is the client.
        check(
            &TrustedProxies::none(),
            xff,
            &["1.2.3.4"],
            "10.1.1.1",
            "10.1.1.1",
        );
    }

    #[test]
    fn forwarded() {
        let p = TrustedProxies::new(ForwardedHeader::Forwarded, ["192.0.2.0/24"])
            .unwrap()
            .with_ipv6_prefix(128);
        let f = "forwarded";
        check(
            &p,
            f,
            &[r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.60"#],
            "192.0.2.1",
            "2001:db8:cafe::17",
        );
        check(
            &p,
            f,
            &["For=198.51.100.17;by=203.0.113.43"],
            "192.0.2.1",
            "198.51.100.17",
        );
        check(
            &p,
            f,
            &["for=6.6.6.6, for=_hidden"],
            "192.0.2.1",
            "192.0.2.1",
        );
        check(
            &p,
            f,
            &["for=unknown, for=192.0.2.9"],
            "192.0.2.1",
            "192.0.2.9",
        );
        check(&p, f, &[r#"for="1.2.3.4";x="a,b""#], "192.0.2.1", "1.2.3.4");
        // X-Forwarded-For is ignored when Forwarded is the configured header.
        check(
            &p,
            "x-forwarded-for",
            &["1.2.3.4"],
            "192.0.2.1",
            "192.0.2.1",
        );
    }

    #[test]
    fn ipv6_prefix_keys_and_blocks() {
        // By default a /64 is one client: rotating through it does not dodge the limit.
        let p = TrustedProxies::none();
        assert_eq!(
            p.client_addr(&HeaderMap::new(), ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            p.client_addr(&HeaderMap::new(), ip("2001:db8:1:2:ffff::1")),
            ip("2001:db8:1:2::")
        );
        let p = TrustedProxies::none().with_ipv6_prefix(128);
        assert_eq!(
            p.client_addr(&HeaderMap::new(), ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2:3:4:5:6")
        );
        assert_eq!(
            p.client_addr(&HeaderMap::new(), ip("1.2.3.4")),
            ip("1.2.3.4")
        );
        for bad in ["10.0.0.0/33", "::/129", "nonsense", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
        assert!(
            "0.0.0.0/0"
                .parse::<IpNet>()
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert!(!"0.0.0.0/0".parse::<IpNet>().unwrap().contains(ip("::2")));
    }
}
