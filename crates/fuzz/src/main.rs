//! `arbiter-fuzz`: run targets, replay a crash, regenerate the seed corpus.

use arbiter_fuzz::corpus::{self, corpus_dir, crash_dir};
use arbiter_fuzz::{RunOptions, Target, execute, run, target, targets};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Mutation fuzzing of Arbiter's input paths, reproducible from a seed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a target (or `all`) over its corpus and N mutations.
    Run {
        /// A target name, or `all`.
        target: String,
        /// Mutated executions per target.
        #[arg(long, default_value_t = 100_000)]
        iterations: u64,
        /// The run's seed; the same seed replays the same inputs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop each target after this many seconds even if its iterations are not done.
        #[arg(long)]
        max_seconds: Option<u64>,
    },
    /// Run one input file once and say whether it panics.
    Replay {
        /// The target the input belongs to.
        target: String,
        /// The input file (a crash, or a corpus seed).
        file: PathBuf,
    },
    /// Regenerate the generated seeds (`seed-*`) of every target's corpus.
    SeedCorpus,
    /// List the targets.
    List,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            target: name,
            iterations,
            seed,
            max_seconds,
        } => {
            let chosen: Vec<Target> = if name == "all" {
                targets()
            } else {
                match target(&name) {
                    Some(t) => vec![t],
                    None => return unknown(&name),
                }
            };
            let options = RunOptions {
                iterations,
                seed,
                crash_dir: Some(crash_dir()),
                time_limit: max_seconds.map(Duration::from_secs),
            };
            let mut crashed = false;
            for t in &chosen {
                let seeds = match corpus::load(&corpus_dir().join(&t.name)) {
                    Ok(files) => files
                        .into_iter()
                        .map(|(_, bytes)| bytes)
                        .collect::<Vec<_>>(),
                    Err(e) => {
                        eprintln!("cannot read the corpus of {}: {e}", t.name);
                        return ExitCode::FAILURE;
                    }
                };
                let report = run(t, &seeds, &options);
                println!(
                    "{:<18} seed {seed:<6} corpus {:>3}  executions {:>11}  {:>9.0} exec/s  {:>7.1} s  crashes {}",
                    report.target,
                    seeds.len(),
                    report.executions,
                    report.per_second(),
                    report.elapsed.as_secs_f64(),
                    report.crashes
                );
                for crash in &report.kept {
                    crashed = true;
                    let file = crash
                        .file
                        .as_ref()
                        .map_or_else(|| "(not written)".to_owned(), |f| f.display().to_string());
                    println!(
                        "  crash at execution {}: {}\n    {file}",
                        crash.execution, crash.message
                    );
                }
            }
            if crashed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Replay { target: name, file } => {
            let Some(t) = target(&name) else {
                return unknown(&name);
            };
            let input = match std::fs::read(&file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    eprintln!("cannot read {}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            };
            match execute(&t, &input) {
                Ok(()) => {
                    println!("{name}: {} bytes, no panic", input.len());
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    println!("{name}: panics: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::SeedCorpus => {
            for t in targets() {
                let seeds = (t.seeds)();
                if let Err(e) = corpus::write(&corpus_dir().join(&t.name), &seeds) {
                    eprintln!("cannot write the corpus of {}: {e}", t.name);
                    return ExitCode::FAILURE;
                }
                println!("{:<18} {} seeds", t.name, seeds.len());
            }
            ExitCode::SUCCESS
        }
        Command::List => {
            for t in targets() {
                println!("{}", t.name);
            }
            ExitCode::SUCCESS
        }
    }
}

fn unknown(name: &str) -> ExitCode {
    let names: Vec<String> = targets().into_iter().map(|t| t.name).collect();
    eprintln!("no target {name}; targets: {}", names.join(", "));
    ExitCode::FAILURE
}
