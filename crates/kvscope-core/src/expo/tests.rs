//! Hand-made inputs for edge cases and hostile input (the real captures are tested in
//! `tests/expo_real.rs`).

use super::*;

fn one(body: &str) -> Scrape<'_> {
    parse(body.as_bytes()).expect("parses")
}

#[test]
fn colon_names_and_counter_with_total_in_type() {
    let s = one(
        "# HELP vllm:prefix_cache_hits_total hits\n# TYPE vllm:prefix_cache_hits_total counter\n\
         vllm:prefix_cache_hits_total{engine=\"0\",model_name=\"m\"} 19824.0\n\
         vllm:prefix_cache_hits_created{engine=\"0\",model_name=\"m\"} 1.7e9\n",
    );
    assert_eq!(s.families.len(), 1);
    assert_eq!(s.families[0].kind, Kind::Counter);
    assert_eq!(s.samples[0].part, Part::Value);
    assert_eq!(s.samples[0].value, 19824.0);
    assert_eq!(s.samples[1].part, Part::Created);
    assert_eq!(s.data_samples().count(), 1);
    assert_eq!(s.format, Some(Format::Prometheus004));
}

#[test]
fn openmetrics_counter_unit_exemplar_and_eof() {
    let s = one(
        "# TYPE foo counter\n# UNIT foo seconds\nfoo_total{a=\"b\"} 3 1700000000.5 # {trace_id=\"x\"} 1.0\n\
         foo_created{a=\"b\"} 1.6e9\n# EOF\n",
    );
    assert_eq!(s.format, Some(Format::OpenMetrics1));
    assert!(s.eof);
    assert_eq!(s.families[0].unit, Some("seconds"));
    assert_eq!(s.samples[0].part, Part::Value);
    assert_eq!(s.samples[0].timestamp, Some(1_700_000_000.5));
    assert_eq!(s.samples[1].part, Part::Created);
    assert_eq!(s.error_count, 0);
}

#[test]
fn content_after_eof_is_counted() {
    let s = one("# TYPE a gauge\na 1\n# EOF\nb 2\n");
    assert_eq!(s.samples.len(), 1);
    assert_eq!(s.error_count, 1);
    assert_eq!(s.errors[0].line, 4);
}

#[test]
fn prometheus_timestamps_are_milliseconds() {
    let s = one("a 1 1700000000123\n");
    assert_eq!(s.samples[0].timestamp, Some(1_700_000_000.123));
}

#[test]
fn escaped_label_values_with_separators_inside() {
    let s = one("m{a=\"x,y=z}\",b=\"q\\\"uote\\\\back\\nline\"} 1\n");
    let labels = s.labels(&s.samples[0]);
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0].value(), "x,y=z}");
    assert_eq!(labels[1].value(), "q\"uote\\back\nline");
}

#[test]
fn quoted_utf8_names() {
    let s = one(
        "# TYPE \"lmcache_mp.sm_read_requests\" counter\n{\"lmcache_mp.sm_read_requests\",\"my.label\"=\"v\"} 10\n",
    );
    assert_eq!(s.samples[0].name, "lmcache_mp.sm_read_requests");
    assert_eq!(s.families[0].kind, Kind::Counter);
    assert_eq!(s.labels(&s.samples[0])[0].name, "my.label");
}

#[test]
fn nan_and_infinities() {
    let s = one("a NaN\nb +Inf\nc -Inf\nd Inf\n");
    assert!(s.samples[0].value.is_nan());
    assert_eq!(s.samples[1].value, f64::INFINITY);
    assert_eq!(s.samples[2].value, f64::NEG_INFINITY);
    assert_eq!(s.samples[3].value, f64::INFINITY);
}

#[test]
fn histogram_parts_in_any_order() {
    let s = one(
        "# TYPE h histogram\nh_sum 3\nh_count 2\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_created 5\n",
    );
    let parts: Vec<Part> = s.samples.iter().map(|x| x.part).collect();
    assert_eq!(
        parts,
        [
            Part::Sum,
            Part::Count,
            Part::Bucket,
            Part::Bucket,
            Part::Created
        ]
    );
    assert!(s.samples.iter().all(|x| x.family == 0));
}

#[test]
fn summary_and_untyped_and_missing_final_newline() {
    let s = one("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 4\ns_count 2\nloose 7");
    assert_eq!(s.samples.len(), 4);
    assert_eq!(s.samples[0].part, Part::Value);
    assert_eq!(s.families[1].name, "loose");
    assert_eq!(s.families[1].kind, Kind::Unknown);
    assert_eq!(s.samples[3].value, 7.0);
}

#[test]
fn declared_family_without_samples_is_kept() {
    let s = one("# HELP x help text\n# TYPE x gauge\n# TYPE y counter\ny_total 1\n");
    assert_eq!(s.families[0].name, "x");
    assert_eq!(s.families[0].samples, 0);
    assert_eq!(s.families[0].help, Some("help text"));
}

#[test]
fn samples_far_from_their_type_line_still_resolve() {
    let s = one("# TYPE a_total counter\n# TYPE b gauge\nb 1\na_total 2\na_created 3\n");
    assert_eq!(s.samples[1].family, 0);
    assert_eq!(s.samples[2].part, Part::Created);
}

#[test]
fn bad_lines_are_counted_with_line_numbers_and_skipped() {
    let s =
        one("good 1\nbad{a=\"1\" 2\n{=} 3\nnovalue\nx{a=\"1\",a=\"2\"} 1\ny abc\nz 1 2 3\nok 2\n");
    assert_eq!(s.samples.len(), 2);
    assert_eq!(s.error_count, 6);
    let lines: Vec<u32> = s.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
}

#[test]
fn duplicate_series_are_both_returned() {
    let s = one("a{x=\"1\"} 1\na{x=\"1\"} 2\n");
    assert_eq!(s.samples.len(), 2);
}

#[test]
fn html_and_json_bodies_are_named() {
    assert_eq!(
        parse(b"  <!DOCTYPE html><html>").unwrap_err(),
        ExpoError::NotMetrics {
            looks_like: "HTML or XML"
        }
    );
    assert_eq!(
        parse(b"{\"detail\": \"Not Found\"}").unwrap_err(),
        ExpoError::NotMetrics { looks_like: "JSON" }
    );
    // An OpenMetrics UTF-8 name line is not JSON.
    assert!(parse(b"{\"a.b\"} 1\n").is_ok());
}

#[test]
fn empty_input_is_no_samples() {
    let s = one("");
    assert!(s.samples.is_empty());
    assert_eq!(s.error_count, 0);
}

#[test]
fn caps_end_the_parse_with_a_named_error() {
    let limits = Limits {
        max_samples: 2,
        ..Limits::default()
    };
    let err = parse_with(b"a 1\nb 2\nc 3\n", None, &limits).unwrap_err();
    assert_eq!(
        err,
        ExpoError::Cap {
            what: "samples in one scrape",
            limit: 2
        }
    );
    let limits = Limits {
        max_body_bytes: 3,
        ..Limits::default()
    };
    assert!(matches!(
        parse_with(b"a 1\n", None, &limits),
        Err(ExpoError::Cap { .. })
    ));
    let limits = Limits {
        max_buckets_per_family: 1,
        ..Limits::default()
    };
    let body = b"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n";
    assert!(matches!(
        parse_with(body, None, &limits),
        Err(ExpoError::Cap { .. })
    ));
}

#[test]
fn invalid_utf8_line_is_skipped_not_fatal() {
    let s = parse(b"a 1\nb{x=\"\xff\"} 2\nc 3\n").unwrap();
    assert_eq!(s.samples.len(), 2);
    assert_eq!(s.error_count, 1);
}

#[test]
fn crlf_and_blank_lines() {
    let s = one("a 1\r\n\r\n\n  b 2\r\n");
    assert_eq!(s.samples.len(), 2);
    assert_eq!(s.error_count, 0);
}

#[test]
fn created_companion_families_of_prometheus_client_are_not_families() {
    // Shape of vLLM's real 0.0.4 output (packet_a): `_created` gets its own HELP and TYPE gauge.
    let s = one(
        "# HELP c_total h\n# TYPE c_total counter\nc_total{a=\"1\"} 5\n\
         # HELP c_created h\n# TYPE c_created gauge\nc_created{a=\"1\"} 1.7e9\n\
         # HELP h h\n# TYPE h histogram\nh_count 1\nh_sum 2\n# HELP h_created h\n# TYPE h_created gauge\nh_created 1.7e9\n\
         # HELP g_created a plain gauge that happens to end in _created\n# TYPE g_created gauge\ng_created 3\n",
    );
    let names: Vec<&str> = s.families.iter().map(|f| f.name).collect();
    assert_eq!(names, ["c_total", "h", "g_created"]);
    assert_eq!(s.data_samples().count(), 4);
    assert_eq!(s.samples[1].part, Part::Created);
    assert_eq!(s.samples[4].part, Part::Created);
    assert_eq!(s.samples[5].part, Part::Value);
    assert_eq!(s.error_count, 0);
}

#[test]
fn repeated_names_resolve_like_fresh_ones() {
    // Consecutive lines with one name skip the name scan; results must not change, including
    // across a declaration and for names that merely start with the previous one.
    let s = one(
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_bucket_extra 3\nh_count 2\n\
         a 1\nab 2\na{x=\"1\"} 3\n# TYPE a gauge\na 4\n",
    );
    let got: Vec<(&str, Part, u32)> = s
        .samples
        .iter()
        .map(|x| (x.name, x.part, x.family))
        .collect();
    let h = 0;
    let fam = |n: &str| s.families.iter().position(|f| f.name == n).unwrap() as u32;
    assert_eq!(
        got,
        [
            ("h_bucket", Part::Bucket, h),
            ("h_bucket", Part::Bucket, h),
            ("h_bucket_extra", Part::Value, fam("h_bucket_extra")),
            ("h_count", Part::Count, h),
            ("a", Part::Value, fam("a")),
            ("ab", Part::Value, fam("ab")),
            ("a", Part::Value, fam("a")),
            ("a", Part::Value, fam("a")),
        ]
    );
    assert_eq!(s.families[fam("a") as usize].kind, Kind::Gauge);
}

/// Hand-written: a sample may carry 64 labels; one more is a skipped line, so no line can make
/// the duplicate-name check (quadratic in labels) slow.
#[test]
fn labels_per_sample_are_capped() {
    let line = |n: usize| {
        let labels: Vec<String> = (0..n).map(|i| format!("l{i}=\"v\"")).collect();
        format!("m{{{}}} 1\n", labels.join(","))
    };
    let body = line(64);
    let ok = parse(body.as_bytes()).unwrap();
    assert_eq!((ok.samples.len(), ok.error_count), (1, 0));
    let body = format!("{}{}", line(65), line(3));
    let capped = parse(body.as_bytes()).unwrap();
    assert_eq!((capped.samples.len(), capped.error_count), (1, 1));
    assert_eq!(capped.errors[0].reason, "more than 64 labels on one sample");
}

/// Hand-made lines for the shared lexer: quoting is respected (`}`, spaces, `\"` and `\\`
/// inside values), labels come unescaped, and what is not one sample is an error.
#[test]
fn split_sample_follows_the_parsers_grammar() {
    let line = r#"vllm:x{host="a } b",q="say \"hi\"",p="c:\\d"} 5 6"#;
    let s = super::split_sample(line).unwrap();
    assert_eq!(s.series, r#"vllm:x{host="a } b",q="say \"hi\"",p="c:\\d"}"#);
    assert_eq!((s.name, s.value, s.timestamp), ("vllm:x", "5", Some("6")));
    let values: Vec<String> = s.labels.iter().map(|l| l.value().into_owned()).collect();
    assert_eq!(values, ["a } b", "say \"hi\"", "c:\\d"]);
    let bare = super::split_sample("m 5").unwrap();
    assert_eq!((bare.series, bare.value, bare.timestamp), ("m", "5", None));
    assert!(super::split_sample("m 5 6 7").is_err());
    assert!(super::split_sample("").is_err());
    assert!(super::split_sample("# TYPE m counter").is_err());
    assert!(super::split_sample(r#"m{a="unterminated} 5"#).is_err());
}
