//! `forwarded_walk`: `TrustedProxies::client_ip`, the walk through `X-Forwarded-For` or
//! `Forwarded` from the TCP peer leftwards through trusted proxies.
//!
//! The input describes the request: the header kind, the peer, and hops drawn from a pool of
//! trusted and untrusted addresses in their written forms (bare, with a port, bracketed,
//! IPv4-mapped, quoted) and from strings that are no address, spread over field lines. An
//! oracle written here from the specification says what the walk must return: the peer if
//! it is not trusted; else, from the right, the first hop not trusted, or the last trusted
//! address before a hop that does not parse, or the leftmost hop when all are trusted. So
//! the walk never returns an address from a hop with an untrusted hop to its right. Any
//! other byte string is also tried as the header (no panic; an untrusted peer is the client).

use std::net::IpAddr;

use auth_ratelimit::client_addr::{ForwardedHeader, TrustedProxies};
use http::header::{HeaderMap, HeaderName, HeaderValue};

const TRUSTED: [&str; 3] = ["10.0.0.0/8", "2001:db8::/32", "::1"];

/// Addresses, trusted or not, as the walk should read them.
const POOL: [&str; 8] = [
    "10.0.0.1",
    "10.9.8.7",
    "203.0.113.9",
    "198.51.100.7",
    "2001:db8::5",
    "2001:db9::7",
    "::1",
    "::ffff:10.0.0.9",
];

/// Hops that are no address.
const JUNK: [&str; 5] = ["unknown", "_hidden", "1.2.3", "::zz", ""];

fn proxies(header: ForwardedHeader) -> TrustedProxies {
    TrustedProxies::new(header, TRUSTED).expect("valid blocks")
}

fn written(ip: IpAddr, form: u8, header: ForwardedHeader) -> String {
    let node = match (ip, form % 3) {
        (IpAddr::V4(v4), 1) => format!("{v4}:8080"),
        (IpAddr::V6(v6), 1) => format!("[{v6}]"),
        (IpAddr::V6(v6), 2) => format!("[{v6}]:443"),
        (ip, _) => ip.to_string(),
    };
    match header {
        ForwardedHeader::XForwardedFor => node,
        _ if form & 4 == 0 => format!("for=\"{node}\""),
        _ => format!("proto=https;for=\"{node}\";by=proxy"),
    }
}

/// What the walk must return for `hops` (`None`: not an address) behind `peer`.
fn oracle(p: &TrustedProxies, hops: &[Option<IpAddr>], peer: IpAddr) -> IpAddr {
    let peer = peer.to_canonical();
    if !p.is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop else { return client };
        client = ip.to_canonical();
        if !p.is_trusted(client) {
            return client;
        }
    }
    client
}

fn structured(data: &[u8]) {
    let [kind, peer, rest @ ..] = data else {
        return;
    };
    let header = if kind % 2 == 0 {
        ForwardedHeader::XForwardedFor
    } else {
        ForwardedHeader::Forwarded
    };
    let p = proxies(header);
    let peer: IpAddr = POOL[usize::from(*peer) % POOL.len()].parse().expect("pool");
    let mut hops = Vec::new();
    let mut lines = vec![Vec::new()];
    for pair in rest.chunks_exact(2).take(16) {
        let (choice, form) = (pair[0], pair[1]);
        let (hop, text) = if choice < 200 {
            let ip: IpAddr = POOL[usize::from(choice) % POOL.len()]
                .parse()
                .expect("pool");
            (Some(ip), written(ip, form, header))
        } else {
            (None, JUNK[usize::from(choice) % JUNK.len()].to_owned())
        };
        hops.push(hop);
        if form & 8 != 0 && !lines.last().is_some_and(Vec::is_empty) {
            lines.push(Vec::new());
        }
        lines.last_mut().expect("a line").push(text);
    }
    let name = match header {
        ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
        _ => http::header::FORWARDED,
    };
    let mut headers = HeaderMap::new();
    for line in lines.iter().filter(|l| !l.is_empty()) {
        let value = HeaderValue::from_str(&line.join(", ")).expect("ascii");
        headers.append(name.clone(), value);
    }
    let got = p.client_ip(&headers, peer);
    assert_eq!(got, oracle(&p, &hops, peer), "{headers:?} from {peer}");
}

fn raw(data: &[u8]) {
    for header in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded] {
        let p = proxies(header);
        let mut headers = HeaderMap::new();
        for line in data.split(|&b| b == b'\n') {
            if let Ok(v) = HeaderValue::from_bytes(line) {
                headers.append(HeaderName::from_static("x-forwarded-for"), v.clone());
                headers.append(http::header::FORWARDED, v);
            }
        }
        let stranger: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(
            p.client_ip(&headers, stranger),
            stranger,
            "an untrusted peer"
        );
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let _ = p.client_ip(&headers, proxy);
        let _ = p.client_addr(&headers, proxy);
    }
}

/// The property of target `forwarded_walk`.
pub fn check(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 0 => structured(rest),
        Some((_, rest)) => raw(rest),
        None => {}
    }
}
