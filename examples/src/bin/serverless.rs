//! A serverless-style handler driven from the command line: reads one request line
//! (`Authorization` value as the first argument, if any) and prints the response.
//!
//! `DEMO_API_KEY=k cargo run -p examples --bin serverless -- "Bearer k"`

use examples::serverless::handle;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut request = http::Request::get("/whoami");
    if let Some(authorization) = std::env::args().nth(1) {
        request = request.header("authorization", authorization);
    }
    let response = handle(request.body(String::new())?).await;
    #[allow(clippy::print_stdout)]
    {
        println!("{}", response.status().as_u16());
        for (name, value) in response.headers() {
            println!("{name}: {}", value.to_str().unwrap_or("?"));
        }
        println!("\n{}", response.body());
    }
    Ok(())
}
