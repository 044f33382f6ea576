//! `kvscope screenshot`: the TUI drawn from saved scrapes at a given size, as SVG or text.

use super::Failure;
use super::report::{OutputFormat, ReportArgs, load};
use crate::tui::{App, screenshot, theme::Theme};

/// What `screenshot` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShotFormat {
    Svg,
    Text,
}

/// What `screenshot` was asked to do (its command-line flags).
#[derive(clap::Args)]
pub struct ShotArgs {
    /// LMCache scrapes: FILE, FILE@TIME or a metrics_index.tsv (as for report).
    #[arg(long, value_name = "FILE")]
    pub lmcache: Vec<String>,
    /// Engine scrapes, same forms.
    #[arg(long, value_name = "FILE")]
    pub engine: Vec<String>,
    /// Terminal size, COLSxROWS.
    #[arg(long, default_value = "120x40")]
    pub size: String,
    #[arg(long, value_enum, default_value = "svg")]
    pub format: ShotFormat,
    /// Theme: dark, light, high-contrast, mono, or a theme file.
    #[arg(long)]
    pub theme: Option<String>,
    /// Where to write; standard output when absent.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// `COLSxROWS`, each 1..=1000.
pub fn parse_size(size: &str) -> Result<(u16, u16), Failure> {
    size.split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
        .filter(|(w, h)| (1..=1000).contains(w) && (1..=1000).contains(h))
        .ok_or_else(|| Failure::bad(format!("--size {size}: write COLSxROWS, e.g. 120x40")))
}

/// The picture as text (SVG or plain), the TUI as it stands just after the newest scrape.
pub fn render(args: &ShotArgs) -> Result<String, Failure> {
    let (w, h) = parse_size(&args.size)?;
    let theme = Theme::pick(args.theme.as_deref(), false).map_err(Failure::bad)?;
    let inputs = ReportArgs {
        lmcache: args.lmcache.clone(),
        engine: args.engine.clone(),
        samples: 1,
        interval: 2.0,
        window: 60.0,
        timeout: 5.0,
        format: OutputFormat::Json,
        auth: Default::default(),
        series_limit: crate::store::DEFAULT_SERIES_LIMIT,
        packet: None,
        at: None,
        fail_on: None,
        fail_unless: Vec::new(),
        routes: None,
        follows: Vec::new(),
        l1_size: None,
        capacity_exact: None,
        thresholds: Default::default(),
    };
    let model = load(&inputs)?;
    let newest = model
        .targets()
        .filter_map(|(_, t)| t.newest()?.time)
        .fold(0.0, f64::max);
    let mut app = App::new(model, inputs.interval, inputs.window, theme, None);
    app.on_tick(newest);
    let buf = screenshot::render(&app, w, h);
    Ok(match args.format {
        ShotFormat::Svg => screenshot::svg(&buf),
        ShotFormat::Text => screenshot::text(&buf),
    })
}

/// Runs `screenshot`: renders, then writes to `--out` or standard output.
pub fn run(args: &ShotArgs) -> Result<(), Failure> {
    let text = render(args)?;
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::bad(format!("cannot write {}: {e}", path.display()))),
        None => super::write_stdout(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> String {
        format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    fn args(size: &str, format: ShotFormat) -> ShotArgs {
        ShotArgs {
            lmcache: vec![fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv")],
            engine: vec![fixture("packet_a/vllm_metrics_loaded.prom")],
            size: size.into(),
            format,
            theme: Some("mono".into()),
            out: None,
        }
    }

    #[test]
    fn sizes_are_cols_by_rows_within_bounds() {
        assert_eq!(parse_size("120x40").unwrap(), (120, 40));
        for bad in [
            "120", "0x40", "120x0", "1001x40", "x", "120x40x1", "-1x5", "12 x 4",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.message.contains(bad), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn a_text_screenshot_of_real_scrapes_is_the_size_asked_and_shows_the_architecture() {
        let text = render(&args("100x30", ShotFormat::Text)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 30);
        assert!(lines.iter().all(|l| l.chars().count() <= 100));
        assert!(text.contains("vllm_mp_lmcache"), "{text}");
        let svg = render(&args("100x30", ShotFormat::Svg)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("vllm_mp_lmcache"));
    }

    #[test]
    fn a_bad_theme_or_input_is_a_bad_input_failure() {
        let mut a = args("80x24", ShotFormat::Text);
        a.theme = Some("/nonexistent/theme.toml".into());
        assert_eq!(render(&a).unwrap_err().code, crate::cli::EXIT_BAD_INPUT);
        let mut a = args("80x24", ShotFormat::Text);
        a.lmcache = vec![fixture("does-not-exist.prom")];
        let e = render(&a).unwrap_err();
        assert!(e.message.contains("does-not-exist.prom"), "{}", e.message);
    }
}
