//! Everything that can be typed on the command line, as clap definitions. The logic behind
//! each command lives in its own module; this file is the vocabulary of flags.

use clap::{Parser, Subcommand};

use super::report::OutputFormat;
use super::screenshot::ShotArgs;
use crate::timefmt::{parse_duration, parse_interval};

#[derive(Parser)]
#[command(
    name = "kvscope",
    version,
    about = "See whether the KV cache of an LLM serving stack (LMCache + vLLM/SGLang) is working"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Watch live targets in the terminal UI.
    Watch {
        /// LMCache MP server: a base URL (http://host:8080, or host:8080), or its /metrics URL.
        /// Repeatable.
        #[arg(long, value_name = "URL")]
        lmcache: Vec<String>,
        /// Engine (vLLM/SGLang) base or /metrics URL. Repeatable.
        #[arg(long, value_name = "URL")]
        engine: Vec<String>,
        #[command(flatten)]
        follow: FollowOpts,
        #[command(flatten)]
        live: LiveOpts,
    },
    /// Watch a fleet through a Prometheus-compatible API: a table of every LMCache server and
    /// engine it scrapes, with the single-box figures and findings; Enter opens one.
    // It reads Prometheus, not the servers (so no /env), and e writes the instance's window.
    #[command(
        mut_arg("prometheus", |a| a.required(true)),
        mut_arg("allow_env", |a| a.hide(true).conflicts_with("prometheus")),
        mut_arg("export_last", |a| a.hide(true).conflicts_with("prometheus"))
    )]
    Fleet {
        #[command(flatten)]
        fleet: FleetOpts,
        /// Refresh interval [default: 15s].
        #[arg(long, value_parser = parse_interval)]
        refresh: Option<f64>,
        #[command(flatten)]
        live: LiveOpts,
    },
    /// Render the TUI for saved scrapes at a given size, as SVG or plain text.
    Screenshot(ShotArgs),
    /// Replay a real recorded LMCache run and vLLM scrape on loopback, with the TUI attached.
    Demo {
        /// Only run the replay servers (LMCache on PORT, engine on PORT+1) and print their URLs.
        #[arg(long)]
        serve_only: bool,
        /// LMCache side's port; the engine gets the next one. Default: any two free ports.
        #[arg(long)]
        port: Option<u16>,
        /// Replay speed relative to the recording (0.01 to 1000).
        #[arg(long, default_value_t = 1.0, value_parser = demo_speed)]
        speed: f64,
        #[command(flatten)]
        live: LiveOpts,
    },
    /// Analyse scrapes (files or live URLs) and print the report as JSON, text or markdown.
    // --prometheus reads a fleet, instead of targets, packets and the files beside targets.
    #[command(mut_arg("prometheus", |a| a.conflicts_with_all([
        "lmcache", "engine", "packet", "routes", "lct", "server_log", "engine_log", "otel",
        "lookup_hashes",
    ])))]
    Report(ReportCmd),
    /// Record live targets (metrics and LMCache routes) for a while into an evidence packet.
    Export(ExportCmd),
    /// Convert saved evidence to a packet: a capture folder (metrics_index.tsv, http/), or a
    /// peer packet folder (*_metrics_loaded.prom).
    Import {
        /// The folder to read.
        #[arg(value_name = "SRC")]
        src: std::path::PathBuf,
        /// The packet to write (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        /// Window for the figures of the packet's report.json.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        window: f64,
        /// Replace host names and addresses with stable pseudonyms (a binary trace, which
        /// cannot be rewritten safely, is left out and the manifest says so).
        #[arg(long)]
        redact_hosts: bool,
    },
    /// Replay a packet in the terminal UI, on the packet's own clock (no network).
    Replay {
        /// A .kvpacket file, its unpacked directory, a capture folder or a peer packet folder.
        #[arg(value_name = "PACKET")]
        packet: std::path::PathBuf,
        /// Start paused at this moment (RFC 3339, or +90s from the first event).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Playback speed: 1, 10, 100 or max (+ and - change it).
        #[arg(long, default_value = "1", value_parser = crate::session::playback::Speed::parse)]
        speed: crate::session::playback::Speed,
        /// Window for windowed figures [default: 60s].
        #[arg(long, value_parser = parse_duration)]
        window: Option<f64>,
        /// Theme, as for watch.
        #[arg(long)]
        theme: Option<String>,
        /// Config file (theme, window, [keys]), as for watch.
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
        /// Read the mouse, as for watch.
        #[arg(long)]
        mouse: bool,
    },
    /// Serve a packet's recorded endpoints (/metrics and LMCache routes) on loopback, in
    /// recorded time, looping as a restarted server would.
    Serve {
        /// A .kvpacket file, its unpacked directory, a capture folder or a peer packet folder.
        #[arg(value_name = "PACKET")]
        packet: std::path::PathBuf,
        /// First port: targets get P, P+1, … (LMCache first, then engines) [default: any free].
        #[arg(long, value_name = "P", default_value_t = 0)]
        port: u16,
        /// Pace relative to the recording (0.01 to 1000).
        #[arg(long, default_value_t = 1.0, value_parser = serve_speed)]
        speed: f64,
        /// Rewrite recorded sample timestamps to now (none is added where none was recorded),
        /// so a Prometheus server or a dashboard can scrape the recording.
        #[arg(long)]
        live_timestamps: bool,
    },
    /// Print kvscope's rules as a Prometheus rule file: recording rules for the fleet table's
    /// figures (kvscope:<figure>:<window>) and an alert for every rule whose inputs are
    /// metrics, with its severity, `for` and runbook. The README has the recipe.
    Rules(RulesArgs),
    /// Check a packet: every member against the manifest; exit 0 intact, 1 damaged, 2 not a packet.
    Verify {
        /// The packet: a .kvpacket file or its unpacked directory.
        #[arg(value_name = "PACKET")]
        packet: std::path::PathBuf,
    },
    /// Print a shell completion script (bash: `kvscope completions bash >
    /// ~/.local/share/bash-completion/completions/kvscope`; the README has zsh and fish).
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page, in roff (`kvscope man > ~/.local/share/man/man1/kvscope.1`).
    Man,
}

/// `--fail-on`: `critical`, `warning` or `info`.
/// `demo --speed`: a factor from 0.01 to 1000.
pub fn demo_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.01..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}': give a number from 0.01 to 1000")),
    }
}

pub fn severity(s: &str) -> Result<crate::analysis::findings::Severity, String> {
    use crate::analysis::findings::Severity;
    Severity::ALL
        .iter()
        .copied()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| format!("'{s}' is not a severity (critical, warning or info)"))
}

/// A verdict state: `working`, `not_hitting` … (`not-hitting` too).
pub fn cache_state(s: &str) -> Result<crate::analysis::verdict::CacheState, String> {
    use crate::analysis::verdict::CacheState;
    let want = s.trim().replace('-', "_").to_lowercase();
    CacheState::ALL
        .iter()
        .copied()
        .find(|x| x.as_str() == want)
        .ok_or_else(|| {
            let all: Vec<&str> = CacheState::ALL.iter().map(|x| x.as_str()).collect();
            format!("'{s}' is not a verdict state ({})", all.join(", "))
        })
}

/// `--speed` of `serve`: a number from 0.01 to 1000.
pub fn serve_speed(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (0.01..=1000.0).contains(v))
        .ok_or_else(|| format!("'{s}' is not a speed (a number from 0.01 to 1000)"))
}

/// `--series-limit`: a whole number from 1 to 100 million.
pub fn series_limit(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=100_000_000).contains(n))
        .ok_or_else(|| format!("'{s}' is not a series limit (a whole number from 1 to 100000000)"))
}

/// Options shared by the live commands; unset ones come from the config file, then defaults.
#[derive(clap::Args, Clone)]
pub struct LiveOpts {
    /// Scrape interval (500ms, 2s, 5m; at least 100ms) [default: 2s].
    #[arg(long, value_parser = parse_interval)]
    pub interval: Option<f64>,
    /// Window for windowed figures [default: 60s].
    #[arg(long, value_parser = parse_duration)]
    pub window: Option<f64>,
    /// Per-request timeout [default: 5s].
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<f64>,
    /// Theme: dark (default), light, high-contrast, mono (NO_COLOR picks it), or a theme file.
    #[arg(long)]
    pub theme: Option<String>,
    /// Config file [default: $XDG_CONFIG_HOME/kvscope/config.toml or ~/.config/kvscope/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Also read the LMCache server's /env (values redacted, except diagnostic settings such as
    /// LMCACHE_*, VLLM_* and PYTHONHASHSEED whose names do not look secret).
    #[arg(long)]
    pub allow_env: bool,
    /// Log file [default: $XDG_STATE_HOME/kvscope/kvscope.log or ~/.local/state/kvscope/kvscope.log].
    #[arg(long, value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
    /// Series one scrape may carry per instance; a scrape with more is refused [default: 100000].
    #[arg(long, value_name = "N", value_parser = series_limit)]
    pub series_limit: Option<usize>,
    /// Where `e` writes evidence packets [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub export_dir: Option<std::path::PathBuf>,
    /// `e` writes only the last D of the history (30s, 10m) [default: all of it, up to an hour].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub export_last: Option<f64>,
    /// `e` replaces host names and addresses (target URLs, host-like labels, bodies) with
    /// stable pseudonyms, for packets sent outside the company.
    #[arg(long)]
    pub redact_hosts: bool,
    /// Read the mouse: a click focuses a pane or selects a row, the wheel scrolls (off by
    /// default, so the terminal's own text selection keeps working; `mouse = true` in the config).
    #[arg(long)]
    pub mouse: bool,
    #[command(flatten)]
    pub auth: AuthOpts,
}

/// Where a fleet is read: a Prometheus-compatible query API, or a `/federate` endpoint.
#[derive(clap::Args, Clone, Debug)]
pub struct FleetOpts {
    /// Read a fleet instead of targets: a Prometheus-compatible query API's base URL
    /// (http://prometheus:9090; Thanos; Mimir's …/prometheus with --header X-Scope-OrgID:…;
    /// VictoriaMetrics), or a /federate URL with its match[] selectors.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Label matchers narrowing the fleet, e.g. '{cluster="a",job=~"lmcache|vllm"}'.
    #[arg(long = "match", value_name = "SELECTOR")]
    pub matchers: Option<String>,
    /// The label that groups targets into rows: targets sharing its value form one (e.g. a pod
    /// or node label). By default a row is an LMCache target with the engines on its host
    /// (when the host has one LMCache target); `instance` makes every target its own row.
    #[arg(long, value_name = "LABEL")]
    pub group_by: Option<String>,
    /// With report --prometheus: that row's single-box report (kvscope-report/1, read from its
    /// raw samples at the table's time), its row's as_of beside it. The value is the row's
    /// name: its LMCache target's instance label.
    #[arg(long, value_name = "INSTANCE")]
    pub instance: Option<String>,
    /// Largest answer read from the API, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_answer_mib: u32,
}

/// Files beside a target, read with its metrics. Each belongs to the --lmcache/--engine
/// target before it on the command line.
#[derive(clap::Args, Clone)]
pub struct FollowOpts {
    /// LMCache's storage trace (.lct, from --trace-level) of the target before it.
    #[arg(long, value_name = "FILE")]
    pub lct: Vec<std::path::PathBuf>,
    /// The LMCache server's log of the target before it; - reads standard input.
    #[arg(long, value_name = "FILE|-")]
    pub server_log: Vec<std::path::PathBuf>,
    /// The engine's log (vLLM; embedded LMCache writes there too) of the target before it;
    /// - reads standard input.
    #[arg(long, value_name = "FILE|-")]
    pub engine_log: Vec<std::path::PathBuf>,
    /// An OpenTelemetry span export (a collector's OTLP-JSON file, or the Python SDK's span
    /// JSON) of the target before it.
    #[arg(long, value_name = "FILE")]
    pub otel: Vec<std::path::PathBuf>,
    /// LMCache's lookup-hash log (--lookup-hash-log-dir) of the target before it: one of its
    /// files, or the directory (its lookup_hashes_*.jsonl files in order; followed live,
    /// the newest).
    #[arg(long, value_name = "FILE|DIR")]
    pub lookup_hashes: Vec<std::path::PathBuf>,
    /// Today's L1 size for the capacity curve when /status does not give it: bytes, or with
    /// KiB, MiB, GiB (GB counts as LMCache's --l1-size-gb does: 2^30 bytes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub l1_size: Option<f64>,
    /// Distinct chunks the capacity curve follows exactly before it samples them (SHARDS,
    /// fixed size): more is exacter and costs about 34 bytes each [default: 2000000; 64 to
    /// 20000000].
    #[arg(long, value_name = "N", value_parser = parse_capacity_exact)]
    pub capacity_exact: Option<usize>,
}

/// `--capacity-exact`: a whole number of distinct chunks, from 64 to 20,000,000.
fn parse_capacity_exact(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of chunks"))?;
    if (64..=20_000_000).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside 64 to 20000000 chunks"))
    }
}

/// A size: a number of bytes, or one with a unit (`KiB`, `MiB`, `GiB`, `TiB`; `K`, `M`, `G`,
/// `T` with or without `B` count the same, as LMCache's `--l1-size-gb` does).
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 1GiB, 512MiB, 1073741824)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (KiB, MiB, GiB, TiB)"
            ));
        }
    };
    let bytes = n * 2f64.powi(shift);
    if bytes.is_finite() && bytes >= 1.0 && bytes <= 2f64.powi(60) {
        Ok(bytes)
    } else {
        Err(format!("{text:?}: a size from 1 byte to 1 EiB"))
    }
}

/// Request headers for targets that need them (LMCache 0.5.7 API keys).
#[derive(clap::Args, Clone)]
pub struct AuthOpts {
    /// Extra request header NAME:VALUE. Before any target flag: for every target; after a
    /// --lmcache/--engine URL: for that target only. Repeatable. Never printed.
    #[arg(long, value_name = "NAME:VALUE")]
    pub header: Vec<String>,
    /// File holding a bearer token, sent as `Authorization: Bearer …`; placed like --header.
    /// Never printed.
    #[arg(long, value_name = "FILE")]
    pub bearer_token_file: Vec<std::path::PathBuf>,
    /// File holding USER:PASSWORD on its first line, sent as HTTP basic auth; placed like
    /// --header. Never printed.
    #[arg(long, value_name = "FILE")]
    pub basic_auth_file: Vec<std::path::PathBuf>,
    /// A CA certificate (PEM; a bundle is fine) trusted besides the system's, for servers
    /// behind a private CA. Repeatable; placed like --header.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<std::path::PathBuf>,
    /// A client certificate (PEM) for servers that ask for one (mutual TLS), with
    /// --client-key; placed like --header.
    #[arg(long, value_name = "FILE")]
    pub client_cert: Vec<std::path::PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --client-cert. Never printed.
    #[arg(long, value_name = "FILE")]
    pub client_key: Vec<std::path::PathBuf>,
    /// Do not check servers' TLS certificates (shown in the header for as long as it runs);
    /// placed like --header.
    #[arg(long)]
    pub insecure: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::playback::Speed;

    fn parse(argv: &[&str]) -> Result<Command, String> {
        Cli::try_parse_from(argv)
            .map(|c| c.command)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn replay_and_serve_take_their_speeds_and_refuse_others() {
        match parse(&[
            "kvscope",
            "replay",
            "p.kvpacket",
            "--speed",
            "max",
            "--at",
            "+5s",
        ]) {
            Ok(Command::Replay { speed, at, .. }) => {
                assert_eq!((speed, at.as_deref()), (Speed::Max, Some("+5s")));
            }
            _ => panic!("replay parses"),
        }
        assert!(parse(&["kvscope", "replay", "p", "--speed", "7"]).is_err());
        match parse(&[
            "kvscope",
            "serve",
            "p",
            "--port",
            "18080",
            "--live-timestamps",
        ]) {
            Ok(Command::Serve {
                port,
                speed,
                live_timestamps,
                ..
            }) => assert_eq!((port, speed, live_timestamps), (18080, 1.0, true)),
            _ => panic!("serve parses"),
        }
        for bad in ["0", "2000", "fast"] {
            assert!(
                parse(&["kvscope", "serve", "p", "--speed", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(parse(&["kvscope", "import", "d", "--out", "o", "--redact-hosts"]).is_ok());
    }
}

/// `kvscope report`'s flags.
#[derive(clap::Args)]
pub struct ReportCmd {
    /// LMCache /metrics: FILE, FILE@2026-11-22T07:23:02Z, a metrics_index.tsv, or a URL
    /// (host:port is http://host:port unless a file has that name). Repeatable; files form one
    /// timeline in the given order, each URL is a target.
    #[arg(long, value_name = "FILE|URL")]
    pub lmcache: Vec<String>,
    /// Engine (vLLM/SGLang) /metrics, same forms as --lmcache.
    #[arg(long, value_name = "FILE|URL")]
    pub engine: Vec<String>,
    /// An evidence packet (a .kvpacket file or its unpacked directory) instead of targets.
    #[arg(long, value_name = "PACKET", conflicts_with_all = ["lmcache", "engine"])]
    pub packet: Option<std::path::PathBuf>,
    /// With --packet: the report at this moment (RFC 3339, or +90s from the first event).
    #[arg(long, value_name = "TIME", requires = "packet")]
    pub at: Option<String>,
    /// Scrapes per URL.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub samples: u32,
    /// Time between scrapes of a URL (500ms, 2s, 5m; at least 100ms).
    #[arg(long, default_value = "2s", value_parser = parse_interval)]
    pub interval: f64,
    /// Window for windowed figures.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub window: f64,
    /// Per-request timeout for URLs.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: f64,
    /// Output format [default: text when standard output is a terminal, json otherwise
    /// (a pipe, a file, CI)].
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Exit 1 when a rule of this severity or above fires: critical, warning or info
    /// (without it, findings never change the exit code).
    #[arg(long, value_name = "SEVERITY", value_parser = severity)]
    pub fail_on: Option<crate::analysis::findings::Severity>,
    /// Exit 1 unless the verdict (on every fleet instance) is one of these states, for CI
    /// gates: working, degraded, not_hitting, no_traffic, down, unknown; comma-separated
    /// (docs/verdict.md defines each)
    #[arg(long, value_name = "STATE[,STATE…]", value_parser = cache_state, value_delimiter = ',')]
    pub fail_unless: Vec<crate::analysis::verdict::CacheState>,
    /// Also read the LMCache HTTP routes of URL targets once (health, status, config,
    /// threads …; the read-only allowlist of watch), so route-based rules can judge.
    #[arg(long)]
    pub routes: bool,
    /// With --routes, also read /env (values redacted).
    #[arg(long, requires = "routes")]
    pub allow_env: bool,
    /// A config file whose `[findings]` thresholds the rules use (without it, the
    /// defaults: a report reads no config file it is not given).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Series one scrape may carry per instance; a scrape with more is refused.
    #[arg(long, value_name = "N", default_value_t = crate::store::DEFAULT_SERIES_LIMIT, value_parser = series_limit)]
    pub series_limit: usize,
    #[command(flatten)]
    pub auth: AuthOpts,
    #[command(flatten)]
    pub follow: FollowOpts,
    #[command(flatten)]
    pub fleet: FleetOpts,
}

/// `kvscope export`'s flags.
#[derive(clap::Args)]
pub struct ExportCmd {
    /// LMCache MP server: a base URL (or host:port) or its /metrics URL. Repeatable.
    #[arg(long, value_name = "URL")]
    pub lmcache: Vec<String>,
    /// Engine (vLLM/SGLang) base or /metrics URL. Repeatable.
    #[arg(long, value_name = "URL")]
    pub engine: Vec<String>,
    /// How long to record (30s, 5m, 1h).
    #[arg(long, value_parser = parse_duration)]
    pub duration: f64,
    /// Scrape interval (at least 100ms).
    #[arg(long, default_value = "2s", value_parser = parse_interval)]
    pub interval: f64,
    /// Per-request timeout.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: f64,
    /// Also read the LMCache server's /env (values redacted).
    #[arg(long)]
    pub allow_env: bool,
    /// Series one scrape may carry per instance; a scrape with more is refused.
    #[arg(long, value_name = "N", default_value_t = crate::store::DEFAULT_SERIES_LIMIT, value_parser = series_limit)]
    pub series_limit: usize,
    /// The packet to write (never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
    /// Replace host names and addresses with stable pseudonyms.
    #[arg(long)]
    pub redact_hosts: bool,
    #[command(flatten)]
    pub auth: AuthOpts,
    #[command(flatten)]
    pub follow: FollowOpts,
}

/// `kvscope rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// A config file: its `window` and `[findings]` thresholds and `[findings.for]` hold-downs
    /// (without one, the defaults: 60s and docs/findings.md's).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "prometheus")]
    pub format: RulesFormat,
    /// Label matchers every selector carries, e.g. '{namespace="llm"}': what the rules judge
    /// (KvscopeTargetDown and the meta-alerts read every target without it).
    #[arg(long = "match", value_name = "SELECTOR")]
    pub matchers: Option<String>,
    /// Where runbook_url points: '<URL>#<rule code>' [default: docs/findings.md].
    #[arg(long, value_name = "URL")]
    pub runbook_url: Option<String>,
    /// Print promtool unit tests made from the real captures built into kvscope instead (for
    /// `promtool test rules`, beside the rules saved as kvscope-rules.yml).
    #[arg(long)]
    pub tests: bool,
}

/// The rule file's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    /// A Prometheus rule file (rule_files:).
    Prometheus,
    /// A prometheus-operator PrometheusRule resource.
    Operator,
}
