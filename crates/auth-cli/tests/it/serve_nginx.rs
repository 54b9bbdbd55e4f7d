//! The nginx snippet of the README (`crates/auth-cli/gateway/nginx.conf`), run for real: nginx
//! asks `auth serve` about each request (`auth_request`) and passes the ones it allows to a
//! Python service with the identity and without the key. `.ci/services` installs nginx.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::http::client;
use crate::serve_gateway::Upstream;
use crate::server::{Server, create_key};
use crate::support::temp_dir;

/// nginx with the snippet, its addresses pointed at `gateway` and `upstream`; killed on drop.
struct Nginx {
    child: Child,
    url: String,
}

impl Nginx {
    fn start(dir: &std::path::Path, gateway: &str, upstream: &str) -> Self {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("nginx is missing: run `bash .ci/services` to install it");
        let snippet = include_str!("../../gateway/nginx.conf");
        // A free port, released for nginx to take: if another process takes it first, nginx
        // fails to bind and the next port is tried (a retry, never a wrong answer).
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let server = snippet
                .replace("127.0.0.1:8000", &format!("127.0.0.1:{port}"))
                .replace("http://127.0.0.1:8080", gateway)
                .replace("http://127.0.0.1:9000", upstream);
            let prefix = dir.join(format!("nginx-{port}"));
            std::fs::create_dir_all(&prefix).unwrap();
            let temp = |name: &str| prefix.join(name).display().to_string();
            let config = format!(
                // One process: killing it leaves no orphaned worker behind.
                "master_process off;\ndaemon off;\npid {pid};\nerror_log {err};\n\
                 events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {a};\n \
                 proxy_temp_path {b};\n fastcgi_temp_path {c};\n uwsgi_temp_path {d};\n \
                 scgi_temp_path {e};\n{server}\n}}\n",
                pid = temp("nginx.pid"),
                err = temp("error.log"),
                a = temp("body"),
                b = temp("proxy"),
                c = temp("fastcgi"),
                d = temp("uwsgi"),
                e = temp("scgi"),
            );
            let path = prefix.join("nginx.conf");
            std::fs::write(&path, config).unwrap();
            let mut child = Command::new(bin)
                .arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Ready when it accepts; exited when it could not bind.
            for _ in 0..200 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self {
                        child,
                        url: format!("http://127.0.0.1:{port}"),
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("nginx did not start; see {}", dir.display());
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn nginx_auth_request_lets_a_valid_key_through_and_keeps_a_bad_one_out() {
    let dir = temp_dir("nginx");
    let upstream = Upstream::start();
    let data = dir.join("data");
    let gateway = Server::start(&data, &[]);
    let (key, _) = create_key(&data, "alice", &["read"]);
    let nginx = Nginx::start(&dir, &gateway.url, &upstream.url);
    let http = client();
    let send = |token: Option<String>| {
        let mut r = http.get(format!("{}/orders/7", nginx.url));
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.send()
    };

    let refused = send(Some("sk_live_not-a-key".into())).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(
        upstream.seen().await.is_empty(),
        "a refused request reached the service"
    );

    let allowed = send(Some(key.clone())).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let seen = upstream.seen().await;
    assert_eq!(seen.len(), 1);
    let h = &seen[0]["headers"];
    assert_eq!(h["x-auth-subject"], "alice", "{h}");
    assert_eq!(h["x-auth-scopes"], "read", "{h}");
    assert!(
        h.get("authorization").is_none(),
        "the key reached the service: {h}"
    );
}
