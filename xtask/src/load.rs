//! `cargo xtask load`: a closed-loop HTTP/1.1 load generator, to measure the `auth serve`
//! gateway against its upstream reached directly (issue #19: the gateway keeps at least 0.7x
//! the direct throughput and adds under 1 ms at p99, at 1 and 64 connections).
//!
//! Usage: [`USAGE`]. Each connection sends GET requests back to back (or, with `--rate`, on a
//! fixed schedule) and reads each body to its end; a request is measured when it starts after the warmup and ends before the end.
//! `--compare` runs the direct URL, then the proxied one, with the same settings, and prints
//! the throughput ratio (proxied / direct) and the p99 the proxy adds. Loopback only: the host
//! must be `127.0.0.1`, `::1` or `localhost` (which must resolve to a loopback address).

mod client;
mod stats;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Uri};

use client::{Plan, Target};
use stats::{Comparison, Report};

const MAX_CONNECTIONS: usize = 4096;

/// The command line, parsed.
#[derive(Debug, Clone)]
struct Args {
    /// One URL, or the direct and the proxied URLs of `--compare`.
    urls: Vec<Url>,
    plan: Plan,
    /// The generator's runtime threads; by default one per connection, up to the cores.
    threads: Option<usize>,
    headers: Vec<(HeaderName, HeaderValue)>,
    json: bool,
}

/// A URL the generator may load: plain `http://` to a loopback host.
#[derive(Debug, Clone, PartialEq)]
struct Url {
    text: String,
    /// As written, without brackets: `127.0.0.1`, `::1` or `localhost`.
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority without user information.
    authority: String,
    path: Uri,
}

pub(crate) fn load(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        return Ok(());
    }
    let args = parse_args(args)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = args
        .threads
        .unwrap_or_else(|| args.plan.connections.min(cores));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut reports = Vec::new();
    for (i, url) in args.urls.iter().enumerate() {
        let target = runtime.block_on(resolve(url, &args.headers))?;
        if args.urls.len() > 1 {
            eprintln!("==> {} {}", ["direct", "proxied"][i.min(1)], url.text);
        }
        reports.push(runtime.block_on(client::measure(&target, args.plan)));
    }
    let silent: Vec<&Report> = reports.iter().filter(|r| r.requests == 0).collect();
    let failure = (!silent.is_empty()).then(|| {
        let urls: Vec<&str> = silent.iter().map(|r| r.url.as_str()).collect();
        format!("no response from {}", urls.join(" nor "))
    });
    let output = match <[Report; 2]>::try_from(reports) {
        Ok([direct, proxied]) => {
            let c = Comparison { direct, proxied };
            if args.json {
                c.json().to_string()
            } else {
                format!(
                    "{}\n{}\n{}",
                    c.direct.text("direct   "),
                    c.proxied.text("proxied  "),
                    c.summary()
                )
            }
        }
        Err(reports) => reports
            .iter()
            .map(|r| {
                if args.json {
                    r.json().to_string()
                } else {
                    r.text("")
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{}", output.trim_end());
    }
    failure.map_or(Ok(()), Err)
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut urls = Vec::new();
    let mut plan = Plan {
        connections: 1,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(10),
        rate: None,
    };
    let mut threads = None;
    let mut headers = Vec::new();
    let mut json = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{arg} wants {what}"))
        };
        match arg.as_str() {
            "--url" => urls.push(parse_url(value("a URL")?)?),
            "--compare" => {
                urls.push(parse_url(value("DIRECT_URL PROXIED_URL")?)?);
                urls.push(parse_url(value("DIRECT_URL PROXIED_URL")?)?);
            }
            "--connections" => {
                let n = value("a number")?;
                plan.connections = match n.parse::<usize>() {
                    Ok(n) if (1..=MAX_CONNECTIONS).contains(&n) => n,
                    _ => return Err(format!("--connections: 1 to {MAX_CONNECTIONS}, not {n:?}")),
                }
            }
            "--threads" => {
                let n = value("a number")?;
                threads = match n.parse::<usize>() {
                    Ok(n) if (1..=256).contains(&n) => Some(n),
                    _ => return Err(format!("--threads: 1 to 256, not {n:?}")),
                }
            }
            "--rate" => {
                let r = value("requests a second")?;
                plan.rate = match r.parse::<f64>() {
                    Ok(r) if r.is_finite() && (1.0..=10_000_000.0).contains(&r) => Some(r),
                    _ => {
                        return Err(format!(
                            "--rate: 1 to 10000000 requests a second, not {r:?}"
                        ));
                    }
                }
            }
            "--duration" => plan.duration = seconds(arg, value("seconds")?, false)?,
            "--warmup" => plan.warmup = seconds(arg, value("seconds")?, true)?,
            "--header" => headers.push(parse_header(value("'Name: value'")?)?),
            "--json" => json = true,
            other => return Err(format!("load: unexpected {other:?}\n\n{USAGE}")),
        }
    }
    let compare = args.iter().any(|a| a == "--compare");
    if urls.is_empty() || (compare && urls.len() != 2) || (!compare && urls.len() != 1) {
        return Err(format!(
            "load: one --url, or one --compare with two URLs\n\n{USAGE}"
        ));
    }
    Ok(Args {
        urls,
        plan,
        threads,
        headers,
        json,
    })
}

pub(crate) const USAGE: &str = "\
usage: cargo xtask load --url URL [OPTIONS]
       cargo xtask load --compare DIRECT_URL PROXIED_URL [OPTIONS]

  --connections N       keep-alive HTTP/1.1 connections, one closed loop each (default 1)
  --duration SECS       measured time (default 10)
  --warmup SECS         time before it, not measured (default 1)
  --rate R              R requests a second over all connections, each on a fixed
                        schedule (open loop; latency counts from when a request was due)
  --threads N           the generator's threads (default: one per connection, up to the cores)
  --header 'Name: v'    sent with every GET; repeatable
  --json                one JSON object instead of the text report

URLs are http:// to 127.0.0.1, ::1 or localhost only.";

fn seconds(flag: &str, text: &str, zero_ok: bool) -> Result<Duration, String> {
    match text.parse::<f64>().map(Duration::try_from_secs_f64) {
        Ok(Ok(d)) if zero_ok || !d.is_zero() => Ok(d),
        _ => Err(format!("{flag}: a number of seconds, not {text:?}")),
    }
}

/// Parses `text` and refuses anything but plain HTTP to a loopback host.
fn parse_url(text: &str) -> Result<Url, String> {
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(format!("{text}: plain http:// only, no TLS")),
        _ => return Err(format!("{text}: wants http://HOST:PORT/PATH")),
    }
    let (Some(authority), Some(host)) = (uri.authority(), uri.host()) else {
        return Err(format!("{text}: no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>() == Ok(Ipv4Addr::LOCALHOST)
        || host.parse::<Ipv6Addr>() == Ok(Ipv6Addr::LOCALHOST);
    if !loopback {
        return Err(format!(
            "{text}: only 127.0.0.1, ::1 or localhost may be loaded, not {host}"
        ));
    }
    let authority = authority.as_str();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let path = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|e| format!("{text}: path: {e}"))?;
    Ok(Url {
        text: text.to_owned(),
        host: host.to_owned(),
        port: uri.port_u16().unwrap_or(80),
        authority: authority.to_owned(),
        path,
    })
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let bad = |why: String| format!("--header {text:?}: {why} (wants 'Name: value')");
    let (name, value) = text.split_once(':').ok_or_else(|| bad("no colon".into()))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| bad(e.to_string()))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|e| bad(e.to_string()))?;
    Ok((name, value))
}

/// The address to connect to (`localhost`: its first loopback address) and the headers.
async fn resolve(url: &Url, extra: &[(HeaderName, HeaderValue)]) -> Result<Target, String> {
    let addr = match url.host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, url.port),
        Err(_) => tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("{}: resolve {}: {e}", url.text, url.host))?
            .find(|a| a.ip().is_loopback())
            .ok_or_else(|| format!("{}: {} has no loopback address", url.text, url.host))?,
    };
    let mut headers = HeaderMap::new();
    let host = HeaderValue::from_str(&url.authority).map_err(|e| format!("{}: {e}", url.text))?;
    headers.insert(HOST, host);
    for (name, value) in extra {
        if name == HOST {
            headers.insert(HOST, value.clone());
        } else {
            headers.append(name, value.clone());
        }
    }
    Ok(Target {
        url: url.text.clone(),
        addr,
        path: url.path.clone(),
        headers,
    })
}
