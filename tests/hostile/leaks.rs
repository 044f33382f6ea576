//! Secrets in output (D), raw escapes and mangled errors (E), links out of a folder (G).

use std::path::Path;

use super::*;

pub(super) fn class_d(dir: Dir, cases: &mut Vec<Case>, secret: &Path) {
    let d = dir("secrets");
    let basic = d.join("basic");
    std::fs::write(&basic, format!("ops:{SECRET_PASSWORD}\n")).unwrap();
    let basic = basic.display().to_string();
    let tenant = format!("X-Scope-OrgID: {SECRET_TENANT}");
    // An API whose errors echo the request's headers.
    let echo =
        br#"{"status":"error","errorType":"bad_data","error":"refused; request was {headers}"}"#
            .to_vec();
    let mut c = case(
        "api-echoes-headers",
        'D',
        "an API error body echoing Authorization and X-Scope-OrgID",
        vec![
            run(&[
                "report",
                "--prometheus",
                "{api}",
                "--header",
                &tenant,
                "--basic-auth-file",
                &basic,
                "--format",
                "text",
            ]),
            run(&[
                "report",
                "--prometheus",
                "{api}",
                "--header",
                &format!("Authorization: Bearer {SECRET_TOKEN}"),
                "--format",
                "json",
            ]),
            run(&[
                "report",
                "--lmcache",
                "{api}/metrics",
                "--header",
                &format!("Authorization: Bearer {SECRET_TOKEN}"),
                "--format",
                "json",
            ]),
        ],
    );
    c.answers = vec![answer("/", 400, echo)];
    cases.push(c);
    // TOML errors on the line of a secret, or next to one.
    let configs = [
        format!(
            "[[target]]\nlmcache = \"http://127.0.0.1:9/metrics\"\nheader = [\"Authorization: Bearer {SECRET_TOKEN}\"] oops\n"
        ),
        format!("lmcache = [\"http://ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics\", 5s]\n"),
        format!(
            "window = \"60s\"\nlmcache = [\"http://ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics?jwt={SECRET_QUERY}\"]\ninterval = 5s\n"
        ),
    ];
    let runs = configs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let f = d.join(format!("config{i}.toml"));
            std::fs::write(&f, text).unwrap();
            run(&[
                "report",
                "--config",
                &f.display().to_string(),
                "--lmcache",
                &t0(),
            ])
            .exit(&[2])
        })
        .collect();
    cases.push(case(
        "toml-errors",
        'D',
        "TOML errors on a bearer header line and beside a password URL",
        runs,
    ));
    // A theme that is a secret file; a mistyped URL with a password; a token file of two lines.
    let token = d.join("token");
    std::fs::write(&token, format!("{SECRET_TOKEN}\nsecond line\n")).unwrap();
    let runs = vec![
        run(&[
            "screenshot",
            "--lmcache",
            &t0(),
            "--format",
            "text",
            "--theme",
            &secret.display().to_string(),
        ])
        .exit(&[2]),
        run(&[
            "report",
            "--lmcache",
            &format!("http:/ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics"),
        ])
        .exit(&[2]),
        run(&[
            "report",
            "--lmcache",
            &format!("ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics"),
        ])
        .exit(&[2, 3]),
        run(&[
            "report",
            "--lmcache",
            "http://127.0.0.1:9/metrics",
            "--bearer-token-file",
            &token.display().to_string(),
        ])
        .exit(&[2, 3]),
    ];
    cases.push(case(
        "secrets-in-arguments",
        'D',
        "a secret file as a theme, a password in a mistyped URL, a token file of two lines",
        runs,
    ));
    // A target that echoes the request's headers into its answer: what export records and
    // what report shows hold no header value.
    let mut c = case(
        "target-echoes-headers",
        'D',
        "a /metrics answer echoing the request's headers, recorded into a packet",
        vec![
            run(&[
                "export",
                "--lmcache",
                "{api}/metrics",
                "--header",
                &tenant,
                "--bearer-token-file",
                &d.join("token1").display().to_string(),
                "--duration",
                "1200ms",
                "--interval",
                "400ms",
                "--out",
                "{out}/e.kvpacket",
            ])
            .exit(&[0, 3]),
            run(&[
                "report",
                "--lmcache",
                "{api}/metrics",
                "--header",
                &tenant,
                "--format",
                "json",
            ]),
        ],
    );
    std::fs::write(d.join("token1"), format!("{SECRET_TOKEN}\n")).unwrap();
    c.answers = vec![answer(
        "/metrics",
        200,
        b"# HELP echo the request: {headers}\nlmcache_mp_echo 1\n".to_vec(),
    )];
    cases.push(c);
    // Query parameters with secret-looking names recorded into a packet.
    let body = std::fs::read(repo("fixtures/lmcache-0.5.6-cpu-run1/metrics_t0.prom")).unwrap();
    let q = SECRET_QUERY;
    let url = format!(
        "{{api}}/metrics?jwt={q}&access={q}&auth={q}&signature={q}&sig={q}&key={q}&password={q}&secret={q}&session={q}&code={q}&view=ok"
    );
    let mut c = case(
        "query-parameters",
        'D',
        "secret-looking query parameters in a target URL",
        vec![
            run(&[
                "export",
                "--lmcache",
                &url,
                "--duration",
                "1500ms",
                "--interval",
                "500ms",
                "--out",
                "{out}/e.kvpacket",
            ])
            .exit(&[0])
            .says("e.kvpacket"),
            run(&["report", "--lmcache", &url, "--format", "json"]).exit(&[0]),
        ],
    );
    c.answers = vec![answer("/metrics", 200, body)];
    cases.push(c);
}

pub(super) fn class_e(dir: Dir, cases: &mut Vec<Case>) {
    // Twenty missing members: every one named.
    {
        let mut p = Pkt::demo();
        for i in 0..20 {
            p.list(&format!("missing/member-{i:02}"), "log", b"x");
        }
        let f = dir("twenty-missing").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let mut v = run(&["verify", &f]).exit(&[1]).never("\\u{a}");
        for i in 0..20 {
            v = v.says(&format!("missing/member-{i:02}"));
        }
        cases.push(case(
            "twenty-missing",
            'E',
            "twenty missing members",
            vec![v],
        ));
    }
    // An answer over the cap names the flag that raises it.
    let big = api_vector(
        serde_json::json!([{"metric": {"job": "lmcache", "instance": "a:1"}, "value": [1795332107.0, "x".repeat(2 << 20)]}]),
        Vec::new(),
    );
    let mut c = case(
        "answer-over-cap",
        'E',
        "an API answer over --max-answer-mib",
        vec![
            run(&[
                "report",
                "--prometheus",
                "{api}",
                "--max-answer-mib",
                "1",
                "--format",
                "text",
            ])
            .says("--max-answer-mib"),
        ],
    );
    c.answers = vec![answer("/api/v1/query", 200, big)];
    cases.push(c);
    // A 3 MB instance label.
    let rows = serde_json::json!([{"metric": {"job": "lmcache", "instance": "h".repeat(3 << 20)}, "value": [1795332107.0, "1"]}]);
    let mut c = case(
        "huge-label",
        'E',
        "a discovered instance label of 3 MB",
        vec![run(&["report", "--prometheus", "{api}", "--format", "text"]).never("valid Uri")],
    );
    c.answers = vec![answer("/api/v1/query", 200, api_vector(rows, Vec::new()))];
    cases.push(c);
    // Escapes in a server's answer and in file names reach the terminal escaped.
    let d = dir("escapes");
    let name = d.join("m\u{1b}[2J\u{1b}]0;t\u{7}.prom");
    std::fs::copy(
        repo("fixtures/lmcache-0.5.6-cpu-run1/metrics_t0.prom"),
        &name,
    )
    .unwrap();
    let mut c = case(
        "escapes",
        'E',
        "escapes in a file name and in an API error",
        vec![
            run(&[
                "report",
                "--lmcache",
                &name.display().to_string(),
                "--format",
                "text",
            ])
            .exit(&[0]),
            run(&["report", "--prometheus", "{api}", "--format", "text"]),
        ],
    );
    c.answers = vec![answer(
        "/",
        400,
        b"{\"status\":\"error\",\"error\":\"bad\\u001b]0;pwn\\u0007\\nkvscope: forged line\"}"
            .to_vec(),
    )];
    cases.push(c);
}

pub(super) fn class_g(dir: Dir, cases: &mut Vec<Case>, secret: &Path) {
    // An unpacked packet whose report.json is a link to a secret.
    {
        let p = Pkt::demo();
        let d = dir("unpacked-link-out").join("p");
        p.write_dir(&d);
        symlink(secret, &d.join("report.json"));
        let d = d.display().to_string();
        cases.push(case(
            "unpacked-link-out",
            'G',
            "an unpacked packet's report.json links to a secret",
            damaged_runs(&d, "report.json"),
        ));
    }
    // An unpacked packet whose targets folder links out.
    {
        let p = Pkt::demo();
        let d = dir("unpacked-folder-link-out");
        p.write_dir(&d.join("p"));
        let elsewhere = d.join("elsewhere");
        std::fs::rename(d.join("p/targets"), &elsewhere).unwrap();
        symlink(&elsewhere, &d.join("p/targets"));
        let d = d.join("p").display().to_string();
        cases.push(case(
            "unpacked-folder-link-out",
            'G',
            "an unpacked packet's targets/ links out of it",
            damaged_runs(&d, "targets/"),
        ));
    }
    // A capture folder's server.log and run.lct, and a peer folder's scrape, linking out.
    for (name, file) in [
        ("capture-log-link-out", "server.log"),
        ("capture-trace-link-out", "run.lct"),
    ] {
        let d = dir(name).join("capture");
        capture(&d, 2);
        symlink(secret, &d.join(file));
        let d = d.display().to_string();
        let runs = vec![
            run(&["import", &d, "--out", "{out}/copy.kvpacket"]).says(file),
            run(&["report", "--packet", &d, "--format", "json"]),
        ];
        cases.push(case(
            name,
            'G',
            "a capture folder's file links to a secret",
            runs,
        ));
    }
    {
        let d = dir("peer-link-out").join("peer");
        std::fs::create_dir_all(&d).unwrap();
        let src = repo("fixtures/packet_a");
        std::fs::copy(
            src.join("vllm_metrics_loaded.prom"),
            d.join("vllm_metrics_loaded.prom"),
        )
        .unwrap();
        symlink(secret, &d.join("lmcache_metrics_loaded.prom"));
        let d = d.display().to_string();
        let runs = vec![
            run(&["import", &d, "--out", "{out}/copy.kvpacket"])
                .exit(&[2])
                .says("lmcache_metrics_loaded.prom")
                .writes_nothing(),
            run(&["report", "--packet", &d, "--format", "json"]).exit(&[2]),
        ];
        cases.push(case(
            "peer-link-out",
            'G',
            "a peer folder's scrape links to a secret",
            runs,
        ));
    }
    // A capture folder whose http/ folder links out, to answers holding the secret.
    {
        let base = dir("capture-http-link-out");
        let d = base.join("capture");
        capture(&d, 2);
        let elsewhere = base.join("elsewhere");
        std::fs::rename(d.join("http"), &elsewhere).unwrap();
        std::fs::write(
            elsewhere.join("version.json"),
            format!("\"{SECRET_FILE_TEXT}\""),
        )
        .unwrap();
        symlink(&elsewhere, &d.join("http"));
        let d = d.display().to_string();
        let runs = vec![
            run(&["import", &d, "--out", "{out}/copy.kvpacket"])
                .exit(&[2])
                .says("http/")
                .writes_nothing(),
            run(&["report", "--packet", &d, "--format", "json"]).exit(&[2]),
        ];
        cases.push(case(
            "capture-http-link-out",
            'G',
            "a capture folder's http/ links out of it",
            runs,
        ));
    }
    // A capture index row that links out (already refused: kept as a regression).
    {
        let d = dir("index-link-out").join("capture");
        capture(&d, 2);
        symlink(secret, &d.join("metrics_t1.prom"));
        let d = d.display().to_string();
        cases.push(case(
            "index-link-out",
            'G',
            "a capture index row linking to a secret",
            vec![
                run(&["import", &d, "--out", "{out}/copy.kvpacket"])
                    .exit(&[2])
                    .writes_nothing(),
            ],
        ));
    }
}
