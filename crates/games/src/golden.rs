//! Golden files for the games' wire format: each game's `golden` test plays seeded games
//! through `Playtest` and writes one line per step with hashes of every viewer's view, so
//! any change to any view of those plays fails it. `BLESS_GOLDEN=1 cargo test -p
//! arbiter-games golden` rewrites the files, for a deliberate change of the wire format only.

use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{Game, Playtest, Viewer};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// ` who=hash` for each of `players` (by id) and the spectator (`-`): the first 8 bytes of
/// the SHA-256 of each view's JSON text.
pub(crate) fn view_hashes<G: Game>(table: &Playtest<G>, players: &[PlayerId]) -> String {
    let viewers = players.iter().cloned().map(Viewer::Player);
    let mut line = String::new();
    for viewer in viewers.chain([Viewer::Spectator]) {
        let hash = Sha256::digest(table.view(&viewer).to_string().as_bytes());
        let who = match &viewer {
            Viewer::Player(p) => p.as_str(),
            Viewer::Spectator => "-",
        };
        let _ = write!(line, " {who}=");
        for b in &hash[..8] {
            let _ = write!(line, "{b:02x}");
        }
    }
    line
}

/// Compare `got` with `tests/golden/<file>` line by line (or write it under `BLESS_GOLDEN`),
/// naming the first line that differs.
pub(crate) fn assert_matches(file: &str, got: &str) {
    let path = format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("BLESS_GOLDEN").is_some() {
        std::fs::write(&path, got).expect("write the golden file");
    }
    let want = std::fs::read_to_string(&path).expect("the golden file (BLESS_GOLDEN=1 writes it)");
    for (n, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        assert_eq!(
            g,
            w,
            "views changed at line {} of {file} (left: now)",
            n + 1
        );
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "a different number of steps than {file}"
    );
}
