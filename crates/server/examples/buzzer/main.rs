//! A tiny external game for Arbiter's parties (docs/external-games.md): the first member to
//! buzz wins.
//!
//! ```sh
//! KEY=$(arbiter keys create --name buzzer --scope game:read,game:write --game buzzer)
//! arbiter serve &
//! ARBITER_API_KEY=$KEY cargo run -p arbiter-server --example buzzer
//! ```
//! It registers itself at Arbiter (`ARBITER_ADDR`, default `127.0.0.1:7878`) as played at
//! `http://<LISTEN>/` (`BUZZER_LISTEN`, default `127.0.0.1:7900`); a party's host then picks
//! "Buzzer" (`ext:buzzer`) and starts it, and each member opens their ticket's URL.

mod game;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arbiter_addr =
        std::env::var("ARBITER_ADDR").unwrap_or_else(|_| "127.0.0.1:7878".to_owned());
    let key = std::env::var("ARBITER_API_KEY").map_err(|_| "set ARBITER_API_KEY")?;
    let listen = std::env::var("BUZZER_LISTEN").unwrap_or_else(|_| "127.0.0.1:7900".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    // The bound address, not the option: port 0 picks a free port.
    let here = listener.local_addr()?;
    let arbiter = game::Arbiter {
        addr: arbiter_addr.clone(),
        key,
    };
    arbiter.register(&format!("http://{here}/")).await?;
    println!("Buzzer is listening on http://{here}/");
    let app = game::router(arbiter, format!("http://{arbiter_addr}"));
    axum::serve(listener, app).await?;
    Ok(())
}
