//! Fetches a JWKS document through the production client, from a tiny server this example
//! starts on loopback, and shows what the client refuses: plain HTTP to a remote host, an
//! oversized body, and a redirect it does not follow.
//!
//! `cargo run -p auth-http --example fetch`

#![allow(clippy::print_stdout)] // printing is what the example is for

use std::io::{Read, Write};
use std::net::TcpListener;

use auth_core::HttpClient;
use auth_http::{Client, Config};

/// Answers each connection with the next canned response, then stops.
fn serve(responses: Vec<String>) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for (stream, response) in listener.incoming().zip(responses) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    Ok(base)
}

fn response(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}"#;
    let base = serve(vec![
        response("200 OK", "content-type: application/json\r\n", jwks),
        response("200 OK", "", &"x".repeat(4096)),
        response(
            "302 Found",
            "location: http://127.0.0.1:9/elsewhere\r\n",
            "",
        ),
    ])?;
    let client = Client::new(Config::default().with_max_body_bytes(1024))?;
    let get = |path: &str| http::Request::get(format!("{base}{path}")).body(Vec::new());

    let ok = client.send(get("/jwks")?).await?;
    println!(
        "JWKS: {} {}",
        ok.status(),
        String::from_utf8_lossy(ok.body())
    );

    match client.send(get("/big")?).await {
        Ok(r) => println!("unexpected: {}", r.status()),
        Err(e) => println!("oversized body refused: {e}"),
    }
    let redirect = client.send(get("/moved")?).await?;
    println!("redirect not followed: {}", redirect.status());

    let remote = http::Request::get("http://idp.example.com/jwks").body(Vec::new())?;
    match client.send(remote).await {
        Ok(r) => println!("unexpected: {}", r.status()),
        Err(e) => println!("plain HTTP to a remote host refused: {e}"),
    }
    Ok(())
}
