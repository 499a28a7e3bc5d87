//! `arbiter bench` (being written, issue 11).

use clap::Args;

/// Options of `arbiter bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// WebSocket URL of the server under test.
    #[arg(long, default_value = "ws://127.0.0.1:7878/ws")]
    pub url: String,
}

/// Run a benchmark and print its report.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    Err(format!("not written yet: {}", args.url))
}
