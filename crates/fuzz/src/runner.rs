//! The loop: run each corpus seed as it is, then mutated copies of randomly chosen seeds,
//! each execution inside `catch_unwind`; keep what panicked.
//!
//! There is no coverage feedback (stable Rust has no sanitizer coverage), so the corpus
//! never grows: every execution is a fresh mutation of a committed seed.

use crate::mutate::Mutator;
use crate::targets::Target;
use rand::Rng;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

/// Distinct crashes written per target and run; later ones with the same message are only
/// counted, so one bug does not fill the disk.
const KEPT: usize = 16;

/// How one run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Mutated executions after the corpus pass.
    pub iterations: u64,
    /// The run's seed: the same seed replays the same inputs.
    pub seed: u64,
    /// Where crashing inputs go (`<dir>/<target>/`); `None` keeps them in memory only.
    pub crash_dir: Option<PathBuf>,
    /// Stop early after this long (for time-boxed long runs; the report says how many
    /// executions ran, and `iterations` set to that number repeats the run exactly).
    pub time_limit: Option<Duration>,
}

/// One input that panicked.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message and where it was raised.
    pub message: String,
    /// Execution number within the run (0-based; the corpus pass comes first).
    pub execution: u64,
    /// The file it was written to, if any.
    pub file: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Target name.
    pub target: String,
    /// Executions, corpus pass included.
    pub executions: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Every execution that panicked counts; the first [`KEPT`] distinct ones are kept.
    pub crashes: u64,
    /// The kept crashes.
    pub kept: Vec<Crash>,
}

impl Report {
    /// Executions per second.
    pub fn per_second(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Run `target` over `corpus` and `options.iterations` mutations of it.
pub fn run(target: &Target, corpus: &[Vec<u8>], options: &RunOptions) -> Report {
    quiet_panics();
    // Each target gets its own stream, so `all` and a single target replay alike.
    let mut mutator = Mutator::new(options.seed ^ fnv(target.name.as_bytes()));
    let started = Instant::now();
    let mut report = Report {
        target: target.name.clone(),
        executions: 0,
        elapsed: Duration::ZERO,
        crashes: 0,
        kept: Vec::new(),
    };
    let record = |input: &[u8], message: String, report: &mut Report| {
        report.crashes += 1;
        if report.kept.len() >= KEPT || report.kept.iter().any(|c| c.message == message) {
            return;
        }
        let execution = report.executions;
        let file = options
            .crash_dir
            .as_deref()
            .and_then(|dir| save(dir, target, input, &message, options.seed, execution));
        report.kept.push(Crash {
            input: input.to_vec(),
            message,
            execution,
            file,
        });
    };
    for seed in corpus {
        if let Err(message) = execute(target, seed) {
            record(seed, message, &mut report);
        }
        report.executions += 1;
    }
    let mut input = Vec::new();
    for i in 0..options.iterations {
        if i % 1024 == 0 && options.time_limit.is_some_and(|t| started.elapsed() >= t) {
            break;
        }
        let (base, other) = if corpus.is_empty() {
            (&[][..], &[][..])
        } else {
            let rng = mutator.rng();
            let a = rng.random_range(0..corpus.len());
            let b = rng.random_range(0..corpus.len());
            (&corpus[a][..], &corpus[b][..])
        };
        input.clear();
        input.extend_from_slice(base);
        mutator.mutate(&mut input, target.format, other);
        if let Err(message) = execute(target, &input) {
            record(&input, message, &mut report);
        }
        report.executions += 1;
    }
    report.elapsed = started.elapsed();
    report
}

/// Run one input; `Err` carries the panic message.
pub fn execute(target: &Target, input: &[u8]) -> Result<(), String> {
    quiet_panics();
    FUZZING.with(|f| *f.borrow_mut() = Some(String::new()));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let message = FUZZING.with(|f| f.borrow_mut().take()).unwrap_or_default();
    outcome.map_err(|_| message)
}

fn save(
    dir: &Path,
    target: &Target,
    input: &[u8],
    message: &str,
    seed: u64,
    execution: u64,
) -> Option<PathBuf> {
    let dir = dir.join(&target.name);
    let file = dir.join(format!("crash-{:016x}", fnv(input)));
    let note = format!(
        "target: {}\nrun seed: {seed}\nexecution: {execution}\npanic: {message}\nreplay: cargo run --release -p arbiter-fuzz -- replay {} {}\n",
        target.name,
        target.name,
        file.display()
    );
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, input))
        .and_then(|()| std::fs::write(file.with_extension("txt"), note));
    match written {
        Ok(()) => Some(file),
        Err(e) => {
            eprintln!("could not write {}: {e}", file.display());
            None
        }
    }
}

thread_local! {
    /// `Some` while this thread runs a fuzz input: the panic hook stores the message here
    /// instead of printing it.
    static FUZZING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Install (once) a panic hook that is silent for fuzz inputs and the default elsewhere.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let captured = FUZZING.with(|f| {
                let mut f = f.borrow_mut();
                match f.as_mut() {
                    Some(slot) => {
                        let text = info
                            .payload()
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| info.payload().downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
                        *slot = format!("{text} (at {at})");
                        true
                    }
                    None => false,
                }
            });
            if !captured {
                default(info);
            }
        }));
    });
}

/// FNV-1a, for crash file names and per-target streams: stable across builds and platforms.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
