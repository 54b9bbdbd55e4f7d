//! Outgoing calls: the Rust counterpart of the tutorial's
//! `requests.get(url, headers={"Authorization": f"Bearer {api_key}"})`, with the key from an
//! environment variable and the header marked sensitive.
//!
//! `API_KEY=... cargo run -p examples --bin reqwest_client -- http://127.0.0.1:PORT/whoami`

use auth_core::StaticCredential;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: reqwest_client URL")?;
    // API_KEY, or the file API_KEY_FILE names; the error names the variable, never the value.
    let credential = StaticCredential::bearer_from_env("API_KEY")?;

    let mut request = http::Request::get(url).body(Vec::new())?;
    // Refused unless the URL is https (or http to loopback): no key in clear text.
    credential.apply(&mut request)?;
    let client = reqwest::Client::new();
    let response = client.execute(reqwest::Request::try_from(request)?).await?;
    let status = response.status();
    let body = response.text().await?;
    #[allow(clippy::print_stdout)]
    {
        println!("{}\n{body}", status.as_u16());
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("server answered {status}").into())
    }
}
