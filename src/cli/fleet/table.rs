//! The fleet table's refresh: a fixed number of instant queries, whatever the fleet's size.

use super::*;
use crate::fleet::table::{Answers, Source};

impl FleetArgs {
    /// The queries a table refresh sends, for these settings.
    pub fn queries(&self) -> Queries {
        let mut ctx = kvscope_core::promql::Ctx::new(self.window);
        let m = self.matchers.trim();
        if let Some(inner) = m.strip_prefix('{').and_then(|m| m.strip_suffix('}')) {
            ctx.matchers = inner.trim().to_string();
        }
        Queries {
            ctx,
            thresholds: self.thresholds.clone(),
            group_by: self.group_by.clone(),
        }
    }

    /// What a reader of these settings keeps between refreshes: the table, or (a `/federate`
    /// endpoint, which evaluates no PromQL) a fleet of raw samples.
    pub fn held(&self, reader: &Reader) -> Held {
        if reader.federate.is_some() {
            let mut fleet = Fleet::new(self.group_label(), self.window);
            fleet.thresholds = self.thresholds.clone();
            fleet.series_limit = self.series_limit;
            fleet.keep_events = false;
            Held::Raw(Box::new(fleet))
        } else {
            let mut table = Table::new(self.window, self.thresholds.clone(), self.group_by.clone());
            let (cap, _) = crate::cli::env_count(
                "KVSCOPE_MAX_INSTANCES",
                crate::fleet::table::MAX_TARGETS as u64,
            );
            table.max_targets = usize::try_from(cap).unwrap_or(usize::MAX);
            Held::Table(table)
        }
    }
}

/// What a fleet reader keeps between refreshes.
pub enum Held {
    /// The table computed by Prometheus.
    Table(Table),
    /// Raw samples of every instance (a `/federate` endpoint).
    Raw(Box<Fleet>),
}

impl Held {
    /// The table as it stands.
    pub fn table(&self) -> std::borrow::Cow<'_, Table> {
        match self {
            Held::Table(t) => std::borrow::Cow::Borrowed(t),
            Held::Raw(f) => std::borrow::Cow::Owned(Table::of_fleet(f)),
        }
    }
}

impl Reader {
    /// Reads the table at `time` (now when `None`): discovery, `up`, Prometheus's scrape
    /// health, the figures (the recorded series when `kvscope rules` is loaded, else the
    /// expressions) and the rules' states (`ALERTS`, else the conditions).
    pub async fn refresh_table(
        &mut self,
        table: &mut Table,
        queries: &Queries,
        time: Option<f64>,
    ) -> Result<Refresh, ApiError> {
        let began = Instant::now();
        let (q0, b0) = (self.api.queries, self.api.bytes);
        let time = time.unwrap_or_else(crate::timefmt::now);
        let mut warnings = Vec::new();
        let ask = async |api: &mut promapi::Api, q: &str, warnings: &mut Vec<String>| {
            let (r, w) = api.instant(q, time).await?;
            warnings.extend(w);
            Ok::<_, ApiError>(r)
        };
        let discovered = ask(&mut self.api, &queries.discovery(), &mut warnings).await?;
        let up = ask(&mut self.api, &queries.up(), &mut warnings).await?;
        let health = self.api.targets().await?;
        let mut source = Source::Recorded;
        let mut figures = ask(&mut self.api, &queries.recorded(), &mut warnings).await?;
        if figures.is_empty() {
            source = Source::Expressions;
            for q in queries.figures() {
                figures.extend(ask(&mut self.api, &q, &mut warnings).await?);
            }
        }
        let stamps = match source {
            Source::Recorded => {
                let q = queries.stamps();
                ask(&mut self.api, &q, &mut warnings).await?
            }
            _ => Vec::new(),
        };
        let rules = match source {
            Source::Recorded => ask(&mut self.api, &queries.alerts(), &mut warnings).await?,
            Source::Expressions | Source::Raw => {
                let mut all = Vec::new();
                for q in queries.conditions() {
                    all.extend(ask(&mut self.api, &q, &mut warnings).await?);
                }
                all
            }
        };
        let said = table.apply(Answers {
            time,
            discovered,
            up,
            health,
            figures,
            rules,
            source,
            stamps,
        });
        warnings.extend(said);
        Ok(Refresh {
            queries: self.api.queries - q0,
            seconds: began.elapsed().as_secs_f64(),
            bytes: self.api.bytes - b0,
            warnings: capped_warnings(warnings),
            error: None,
        })
    }
}
