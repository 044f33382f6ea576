//! `kvscope rules`: the rule pack as a Prometheus rule file (or promtool unit tests for it),
//! on standard output.

use super::Failure;
use super::args::{RulesArgs, RulesFormat};
use crate::config::Config;
use kvscope_core::promql::Ctx;
use kvscope_core::rulefile::{self, Format, Spec};

/// The name the README's recipe saves the rules as, which the tests' `rule_files` name.
pub const RULE_FILE: &str = "kvscope-rules.yml";

/// The default window, as everywhere.
const DEFAULT_WINDOW: f64 = 60.0;

/// The rule file (or its tests) as text.
pub fn run(args: &RulesArgs) -> Result<String, Failure> {
    let spec = spec(args)?;
    if args.tests {
        return rulefile::unit::write(
            &spec,
            &rulefile::unit::builtin().map_err(Failure::bad)?,
            RULE_FILE,
        )
        .map_err(Failure::bad);
    }
    Ok(spec.write(match args.format {
        RulesFormat::Prometheus => Format::Prometheus,
        RulesFormat::Operator => Format::Operator,
    }))
}

/// What the flags and the config file ask for.
pub fn spec(args: &RulesArgs) -> Result<Spec, Failure> {
    let (window, thresholds) = match &args.config {
        None => (DEFAULT_WINDOW, Default::default()),
        Some(p) => {
            let cfg = Config::load(Some(p)).map_err(Failure::bad)?;
            let window = match &cfg.window {
                Some(w) => kvscope_core::timefmt::parse_duration(w)
                    .map_err(|e| Failure::bad(format!("{}: window: {e}", p.display())))?,
                None => DEFAULT_WINDOW,
            };
            (window, cfg.thresholds)
        }
    };
    let mut ctx = Ctx::new(window);
    if let Some(m) = &args.matchers {
        crate::sources::promapi::check_matchers(m).map_err(Failure::bad)?;
        let m = m.trim();
        ctx.matchers = m[1..m.len() - 1].trim().to_string();
    }
    Ok(Spec {
        ctx,
        thresholds,
        runbook_base: args
            .runbook_url
            .clone()
            .unwrap_or_else(|| rulefile::RUNBOOK.to_string()),
        generator: format!("kvscope {}", env!("CARGO_PKG_VERSION")),
    })
}
