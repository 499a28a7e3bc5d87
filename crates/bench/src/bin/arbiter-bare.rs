//! `arbiter-bare`: the bare WebSocket broadcast server of `bench/compare.sh`'s reference row
//! (see [`arbiter_bench::bare`]). Prints `listening on ADDR` once it accepts connections.

use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;

/// A minimal broadcast server speaking enough of Arbiter's protocol for `arbiter bench`.
#[derive(Parser)]
struct Args {
    /// Where to listen (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:7879")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The same runtime as `arbiter serve`: multi-threaded, one worker per CPU it may use.
    let result = tokio::runtime::Runtime::new().and_then(|rt| {
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            println!("listening on {}", listener.local_addr()?);
            arbiter_bench::bare::serve(listener).await
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arbiter-bare: {e}");
            ExitCode::FAILURE
        }
    }
}
