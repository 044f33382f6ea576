//! Hand-made API answers (shaped after Prometheus 2.42's, which `tests/fleet.rs` reads for
//! real) for the edge cases and hostile answers a real server rarely gives.

use super::*;
use crate::expo::Kind;

fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels
            .iter()
            .map(|(k, v)| (Text::from(*k), Text::from(*v)))
            .collect(),
        points: points.to_vec(),
    }
}

#[test]
fn an_answer_that_is_not_the_api_says_what_it_was() {
    let html = b"<!DOCTYPE html><html><body>Sign in</body></html>";
    assert!(matches!(
        decode::<Matrix>(200, html),
        Err(ApiError::NotApi(_))
    ));
    assert!(matches!(
        decode::<Matrix>(502, b"<html>Bad Gateway</html>"),
        Err(ApiError::Status(502, _))
    ));
    let e = decode::<Matrix>(200, b"plain words\x1b[2J").unwrap_err();
    assert!(
        matches!(&e, ApiError::NotApi(w) if !w.contains('\x1b')),
        "{e:?}"
    );
    let err = br#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
    let e = decode::<Matrix>(422, err).unwrap_err();
    assert_eq!(
        e,
        ApiError::Status(
            422,
            "timeout: query timed out in expression evaluation".into()
        )
    );
    assert!(!e.unreachable());
    let e = decode::<Matrix>(503, b"Service Unavailable").unwrap_err();
    assert!(e.unreachable(), "{e}");
    // A 401 says how to give credentials.
    assert!(
        ApiError::Status(401, String::new())
            .to_string()
            .contains("--bearer-token-file")
    );
}

#[test]
fn warnings_of_a_partial_answer_are_kept_cleaned() {
    let body = br#"{"status":"success","warnings":["partial response: store \u001b[31mB unavailable"],
        "data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"j","instance":"i"},
        "values":[[1700000000.5,"1"],[1700000001.5,"NaN"],[1700000002.5,"+Inf"]]}]}}"#;
    let (m, warnings): (Matrix, _) = decode(200, body).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("partial response") && !warnings[0].contains('\x1b'));
    let s = m.series().unwrap();
    assert_eq!(s[0].label("job"), Some("j"));
    assert_eq!(s[0].points[0], (1_700_000_000_500, 1.0));
    assert!(s[0].points[1].1.is_nan());
    assert_eq!(s[0].points[2].1, f64::INFINITY);
}

#[test]
fn a_vector_where_a_matrix_was_asked_is_an_error() {
    let body = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let (m, _): (Matrix, _) = decode(200, body).unwrap();
    assert!(matches!(m.series(), Err(ApiError::Failed(_))));
    let not_a_number = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"many"]]}]}}"#;
    assert!(
        matches!(matrix(200, not_a_number), Err(ApiError::Failed(e)) if e.contains("not a number"))
    );
    let other = br#"{"status":"success","data":{"unexpected":true}}"#;
    assert!(matches!(
        decode::<Matrix>(200, other),
        Err(ApiError::Failed(_))
    ));
}

#[test]
fn families_come_from_metadata_or_from_the_names_shape() {
    let t = Types(HashMap::from([
        ("lmcache_mp_x_seconds".to_string(), Kind::Histogram),
        ("lmcache_mp_y_total".to_string(), Kind::Counter),
        ("vllm:z".to_string(), Kind::Counter),
    ]));
    assert_eq!(
        t.family("lmcache_mp_x_seconds_bucket"),
        ("lmcache_mp_x_seconds", Kind::Histogram)
    );
    assert_eq!(
        t.family("lmcache_mp_y_total"),
        ("lmcache_mp_y_total", Kind::Counter)
    );
    // An OpenMetrics counter's metadata names the family without `_total`.
    assert_eq!(t.family("vllm:z_total"), ("vllm:z", Kind::Counter));
    assert_eq!(t.family("other"), ("other", Kind::Unknown));
    let none = Types::default();
    assert_eq!(none.family("a_bucket"), ("a", Kind::Histogram));
    assert_eq!(none.family("a_sum"), ("a_sum", Kind::Unknown));
}

#[test]
fn bodies_write_one_scrape_per_time_with_types_and_buckets_in_order() {
    let types = Types(HashMap::from([
        ("h".to_string(), Kind::Histogram),
        ("c_total".to_string(), Kind::Counter),
        ("c_created".to_string(), Kind::Gauge),
    ]));
    let target = [("job", "j"), ("instance", "i")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut l: Vec<(&str, &str)> = target.to_vec();
        l.extend_from_slice(extra);
        l
    };
    let all = [
        series(
            &with(&[("__name__", "h_bucket"), ("le", "10")]),
            &[(1000, 2.0), (2000, 3.0)],
        ),
        series(
            &with(&[("__name__", "h_bucket"), ("le", "+Inf")]),
            &[(1000, 2.0), (2000, 4.0)],
        ),
        series(
            &with(&[("__name__", "h_bucket"), ("le", "2.5")]),
            &[(1000, 1.0), (2000, 1.0)],
        ),
        series(
            &with(&[("__name__", "h_count")]),
            &[(1000, 2.0), (2000, 4.0)],
        ),
        series(&with(&[("__name__", "h_sum")]), &[(1000, 5.0), (2000, 9.5)]),
        series(
            &with(&[("__name__", "c_created")]),
            &[(1000, 17.0), (2000, 17.0)],
        ),
        series(
            &with(&[("__name__", "c_total"), ("path", "a\"b\\c\nd")]),
            &[(1000, 1.0), (2000, 2.0)],
        ),
        series(&with(&[("__name__", "up")]), &[(1000, 1.0), (2000, 1.0)]),
        // Only in the second scrape.
        series(&with(&[("__name__", "late")]), &[(2000, f64::NAN)]),
    ];
    let refs: Vec<&Series> = all.iter().collect();
    let strip = vec!["job".to_string(), "instance".to_string()];
    let out = bodies(&refs, &types, &strip, 0);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0, 1000);
    let first = &out[0].1;
    assert_eq!(
        first,
        "# TYPE c_total counter\nc_total{path=\"a\\\"b\\\\c\\nd\"} 1\n\
         # TYPE c_created gauge\nc_created 17\n\
         # TYPE h histogram\nh_bucket{le=\"2.5\"} 1\nh_bucket{le=\"10\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 5\n"
    );
    assert!(out[1].1.contains("late NaN\n"));
    // The parser reads the rebuilt body whole: the `_created` family as the counter's
    // companion, the histogram as one family.
    let parsed = crate::expo::parse(first.as_bytes()).unwrap();
    assert_eq!(parsed.error_count, 0);
    assert_eq!(parsed.data_samples().count(), 6);
    // Newer than the newest held only.
    assert_eq!(bodies(&refs, &types, &strip, 1000).len(), 1);
}

#[test]
fn selectors_are_quoted_and_checked() {
    assert_eq!(regex_quote("10.0.0.1:8080"), "10\\.0\\.0\\.1:8080");
    assert_eq!(regex_quote("a|b(c)"), "a\\|b\\(c\\)");
    assert_eq!(label_quote("x\"y\\z"), "x\\\"y\\\\z");
    assert!(check_matchers("{job=\"lmcache\",cluster=~\"a.*\"}").is_ok());
    assert!(check_matchers("job=\"lmcache\"").is_err());
    assert!(check_matchers("{__name__=\"x\"}").is_err());
    assert!(check_matchers("{a=\"}\"} or {b=\"c\"}").is_err());
    assert_eq!(
        with_names("{job=\"l\"}", &names_matching(ROLE_PREFIXES[0].1)),
        "__name__=~\"lmcache_mp_.+\",job=\"l\""
    );
    assert_eq!(
        with_names("", &names_matching(ROLE_PREFIXES[1].1)),
        "__name__=~\"vllm:.+|sglang:.+|lmcache:.+\""
    );
    assert_eq!(
        role_of("lmcache_mp_l1_read_chunks_total"),
        Some(Role::Lmcache)
    );
    assert_eq!(role_of("lmcache:num_hit_tokens_total"), Some(Role::Engine));
    assert_eq!(role_of("sglang:num_queue_reqs"), Some(Role::Engine));
    assert_eq!(role_of("process_start_time_seconds"), None);
}

#[test]
fn a_federate_answer_reads_as_series_of_many_instances() {
    // The shape of Prometheus 2.42's /federate: untyped families, job and instance on every
    // sample, a millisecond timestamp on every line.
    let body = b"# TYPE lmcache_mp_l1_read_chunks_total untyped\n\
lmcache_mp_l1_read_chunks_total{instance=\"a:1\",job=\"lmcache\"} 4 1700000000123\n\
lmcache_mp_l1_read_chunks_total{instance=\"b:1\",job=\"lmcache\"} 7 1700000000456\n\
# TYPE vllm:num_requests_waiting untyped\n\
vllm:num_requests_waiting{instance=\"a:2\",job=\"vllm\",model_name=\"m\"} 0 1700000000789\n";
    let s = federated(body).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[1].label("instance"), Some("b:1"));
    assert_eq!(s[1].points, vec![(1_700_000_000_456, 7.0)]);
    assert!(matches!(
        federated(b"<html>login</html>"),
        Err(ApiError::NotApi(_))
    ));
}
