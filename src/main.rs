//! The `kvscope` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kvscope::cli::{self, OutputFormat, ReportArgs};
use kvscope::timefmt::parse_duration;

#[derive(Parser)]
#[command(
    name = "kvscope",
    version,
    about = "See whether the KV cache of an LLM serving stack (LMCache + vLLM/SGLang) is working"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse scrapes (files or live URLs) and print the report as JSON, text or markdown.
    Report {
        /// LMCache /metrics: FILE, FILE@2026-11-22T07:23:02Z, a metrics_index.tsv, or a URL.
        /// Repeatable; files form one timeline in the given order, each URL is a target.
        #[arg(long, value_name = "FILE|URL")]
        lmcache: Vec<String>,
        /// Engine (vLLM/SGLang) /metrics, same forms as --lmcache.
        #[arg(long, value_name = "FILE|URL")]
        engine: Vec<String>,
        /// Scrapes per URL.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        samples: u32,
        /// Time between scrapes of a URL (500ms, 2s, 5m).
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        interval: f64,
        /// Window for windowed figures.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        window: f64,
        /// Per-request timeout for URLs.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        timeout: f64,
        #[arg(long, value_enum, default_value = "json")]
        format: OutputFormat,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Report {
            lmcache,
            engine,
            samples,
            interval,
            window,
            timeout,
            format,
        } => {
            let args = ReportArgs {
                lmcache,
                engine,
                samples: samples as usize,
                interval,
                window,
                timeout,
                format,
            };
            match cli::report(&args) {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err(f) => {
                    eprintln!("kvscope: {}", kvscope::sanitize::clean(&f.message));
                    ExitCode::from(f.code as u8)
                }
            }
        }
    }
}
