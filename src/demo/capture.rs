//! The real LMCache 0.5.6 capture and packet_a's real vLLM scrape, built into the binary so
//! `kvscope demo` works anywhere. See fixtures/README.md for where they came from.

macro_rules! run1 {
    ($rel:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/lmcache-0.5.6-cpu-run1/",
            $rel
        ))
    };
}

/// The `/metrics` timeline, t0..t31, in capture order.
pub static SCRAPES: [&[u8]; 32] = [
    run1!("metrics_t0.prom"),
    run1!("metrics_t1.prom"),
    run1!("metrics_t2.prom"),
    run1!("metrics_t3.prom"),
    run1!("metrics_t4.prom"),
    run1!("metrics_t5.prom"),
    run1!("metrics_t6.prom"),
    run1!("metrics_t7.prom"),
    run1!("metrics_t8.prom"),
    run1!("metrics_t9.prom"),
    run1!("metrics_t10.prom"),
    run1!("metrics_t11.prom"),
    run1!("metrics_t12.prom"),
    run1!("metrics_t13.prom"),
    run1!("metrics_t14.prom"),
    run1!("metrics_t15.prom"),
    run1!("metrics_t16.prom"),
    run1!("metrics_t17.prom"),
    run1!("metrics_t18.prom"),
    run1!("metrics_t19.prom"),
    run1!("metrics_t20.prom"),
    run1!("metrics_t21.prom"),
    run1!("metrics_t22.prom"),
    run1!("metrics_t23.prom"),
    run1!("metrics_t24.prom"),
    run1!("metrics_t25.prom"),
    run1!("metrics_t26.prom"),
    run1!("metrics_t27.prom"),
    run1!("metrics_t28.prom"),
    run1!("metrics_t29.prom"),
    run1!("metrics_t30.prom"),
    run1!("metrics_t31.prom"),
];

/// `file<TAB>utc_time<TAB>phase…` for the scrapes above.
pub static INDEX: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/lmcache-0.5.6-cpu-run1/metrics_index.tsv"
));

/// One recorded answer to a GET route: path (with query), status, content type, body.
pub struct RecordedAnswer {
    pub path: &'static str,
    pub content_type: &'static str,
    pub status: &'static str,
    pub body: &'static [u8],
}

macro_rules! route {
    ($dir:literal, $path:literal, $stem:literal, json) => {
        route!($dir, $path, $stem, "application/json", ".json")
    };
    ($dir:literal, $path:literal, $stem:literal, text) => {
        route!($dir, $path, $stem, "text/plain; charset=utf-8", ".txt")
    };
    ($dir:literal, $path:literal, $stem:literal, $content_type:literal, $ext:literal) => {
        RecordedAnswer {
            path: $path,
            content_type: $content_type,
            status: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/lmcache-0.5.6-cpu-run1/",
                $dir,
                "/",
                $stem,
                ".status"
            )),
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/lmcache-0.5.6-cpu-run1/",
                $dir,
                "/",
                $stem,
                $ext
            )),
        }
    };
}

/// Routes as the server answered them after the workload.
pub static ROUTES_AFTER: &[RecordedAnswer] = &[
    route!("http", "/", "root", json),
    route!("http", "/healthcheck", "healthcheck", json),
    route!("http", "/status", "status", json),
    route!("http", "/config", "config", json),
    route!("http", "/config/adapters", "config_adapters", json),
    route!("http", "/version", "version", json),
    route!("http", "/lmc_version", "lmc_version", json),
    route!("http", "/commit_id", "commit_id", json),
    route!("http", "/threads", "threads", text),
    route!("http", "/periodic-threads", "periodic-threads", json),
    route!(
        "http",
        "/periodic-threads-health",
        "periodic-threads-health",
        json
    ),
    route!(
        "http",
        "/periodic-threads/lmcache-mp-worker-reaper",
        "periodic-threads_lmcache-mp-worker-reaper",
        json
    ),
    route!("http", "/quota", "quota", json),
    route!("http", "/quota/nosuchsalt", "quota_nosuchsalt", json),
    route!("http", "/loglevel", "loglevel", text),
    route!(
        "http",
        "/loglevel?logger_name=lmcache",
        "loglevel_logger_name_lmcache",
        text
    ),
    route!("http", "/env", "env", text),
    route!("http", "/openapi.json", "openapi", json),
    route!("http", "/cache/objects", "cache_objects", json),
    route!(
        "http",
        "/reconfigure/fs/l2/status",
        "reconfigure_fs_l2_status",
        json
    ),
    route!(
        "http",
        "/reconfigure/dax/l1/status",
        "reconfigure_dax_l1_status",
        json
    ),
    route!("http", "/api/healthcheck", "api_healthcheck", json),
    route!("http", "/api/status", "api_status", json),
    route!("http", "/api/quota", "api_quota", json),
    route!("http", "/conf", "conf", json),
];

/// Routes as the server answered them before any traffic.
pub static ROUTES_IDLE: &[RecordedAnswer] = &[
    route!("http_idle", "/", "root", json),
    route!("http_idle", "/healthcheck", "healthcheck", json),
    route!("http_idle", "/status", "status", json),
    route!("http_idle", "/config", "config", json),
    route!("http_idle", "/version", "version", json),
    route!("http_idle", "/lmc_version", "lmc_version", json),
    route!("http_idle", "/commit_id", "commit_id", json),
    route!(
        "http_idle",
        "/periodic-threads-health",
        "periodic-threads-health",
        json
    ),
    route!("http_idle", "/quota", "quota", json),
];

/// The real vLLM scrape of packet_a, and when it was taken (its packet's timestamp).
pub static ENGINE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/packet_a/vllm_metrics_loaded.prom"
));
pub const ENGINE_CAPTURED: &str = "2026-05-07T23:00:57Z";
