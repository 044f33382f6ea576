//! TLS against a loopback HTTPS server with a CA generated for the test: `--ca-cert`,
//! `--client-cert`/`--client-key` (a server that requires a client certificate), `--insecure`,
//! their placement per target, and every command that makes requests (report, export,
//! report --prometheus, which is the fleet's client).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// A CA, a server certificate for 127.0.0.1 and localhost signed by it, and a client
/// certificate signed by it, written as PEM files.
struct Pki {
    dir: PathBuf,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    server: (Vec<rustls::pki_types::CertificateDer<'static>>, String),
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("kvscope-tls-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(DnType::CommonName, "kvscope test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();

        let leaf = |names: Vec<String>, file: &str| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
            (vec![cert.der().clone()], key.serialize_pem())
        };
        let server = leaf(vec!["127.0.0.1".into(), "localhost".into()], "server");
        leaf(vec!["kvscope-client".into()], "client");
        // A certificate from another CA: what --ca-cert must not be fooled by.
        let other = rcgen::generate_simple_self_signed(vec!["elsewhere".to_string()]).unwrap();
        std::fs::write(dir.join("other-ca.pem"), other.cert.pem()).unwrap();
        std::fs::write(dir.join("not-pem.txt"), "hello\n").unwrap();
        Pki {
            dir,
            ca_der: ca.der().clone(),
            server,
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTPS server on loopback answering every request with `body` (as `/metrics`), in a
/// thread of its own; requiring a client certificate signed by the CA when `mutual`. Returns
/// its base URL and the request lines it saw.
fn https(pki: &Pki, mutual: bool, body: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if mutual {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(pki.server.1.as_bytes()).unwrap();
    let config = builder.with_single_cert(pki.server.0.clone(), key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, body, log) = (acceptor.clone(), body.clone(), log.clone());
                tokio::spawn(async move {
                    // A failed handshake (no client certificate, an unknown CA) ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 8192];
                    let n = tls.read(&mut buf).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buf[..n]);
                    log.lock()
                        .unwrap()
                        .push(request.lines().next().unwrap_or("").to_string());
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(&body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    (url, seen)
}

fn scrape() -> Vec<u8> {
    std::fs::read(common::fixture("lmcache-0.5.6-cpu-run1/metrics_t5.prom")).unwrap()
}

/// kvscope with `args`; its output is piped, so a report is JSON.
fn kvscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        // The system's CAs are whatever this machine has; the test's CA is in none of them.
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            err(o)
        )
    })
}

/// The report's LMCache target was read (its scrape parsed).
fn lmcache_read(o: &Output) -> bool {
    let r = report_json(o);
    r["mode"]["architecture"].as_str() == Some("lmcache_mp_server")
}

#[test]
fn a_private_ca_is_trusted_only_when_given() {
    let pki = Pki::new("ca");
    let (url, seen) = https(&pki, false, scrape());
    let ca = pki.path("ca.pem");

    // Without it: the server's certificate is unknown, and the error says what to give.
    let o = kvscope(&["report", "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(err(&o).contains("--ca-cert"), "{}", err(&o));

    // With it: read.
    let o = kvscope(&["report", "--ca-cert", &ca, "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(lmcache_read(&o));

    // Another CA does not vouch for this server.
    let other = pki.path("other-ca.pem");
    let o = kvscope(&["report", "--ca-cert", &other, "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));

    // Placed after a target, it is that target's only: the engine (the same server) is not
    // trusted, the LMCache target is.
    let o = kvscope(&[
        "report",
        "--engine",
        &url,
        "--lmcache",
        &url,
        "--ca-cert",
        &ca,
    ]);
    let r = report_json(&o);
    let inputs = r["inputs"].as_array().expect("inputs");
    let scrapes = |role: &str| {
        inputs
            .iter()
            .find(|t| t["role"] == role)
            .and_then(|t| t["scrapes"].as_u64())
    };
    assert_eq!(scrapes("lmcache"), Some(1), "{r:#}");
    assert_eq!(scrapes("engine"), Some(0), "{r:#}");

    // Files that are not what the flag needs are named, before any request.
    let before = seen.lock().unwrap().len();
    for (args, says) in [
        (
            vec!["--ca-cert", "/nonexistent/ca.pem"],
            "/nonexistent/ca.pem",
        ),
        (
            vec!["--ca-cert", &pki.path("not-pem.txt")],
            "no PEM certificate",
        ),
        (
            vec!["--client-cert", &pki.path("client.pem")],
            "--client-key",
        ),
        (
            vec![
                "--client-cert",
                &pki.path("client.pem"),
                "--client-key",
                &ca,
            ],
            "private key",
        ),
    ] {
        let mut full = vec!["report"];
        full.extend(args);
        full.extend(["--lmcache", &url]);
        let o = kvscope(&full);
        assert_eq!(o.status.code(), Some(2), "{full:?}: {}", err(&o));
        assert!(err(&o).contains(says), "{full:?}: {}", err(&o));
        // Key material is never echoed.
        assert!(!err(&o).contains("PRIVATE KEY"), "{}", err(&o));
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "a bad flag still sent requests"
    );
}

#[test]
fn insecure_skips_the_check_and_says_so() {
    let pki = Pki::new("insecure");
    let (url, _) = https(&pki, false, scrape());
    let o = kvscope(&["report", "--insecure", "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(lmcache_read(&o));
    assert!(err(&o).contains("--insecure"), "no warning: {}", err(&o));
}

#[test]
fn a_server_that_requires_a_client_certificate_gets_one() {
    let pki = Pki::new("mutual");
    let (url, seen) = https(&pki, true, scrape());
    let ca = pki.path("ca.pem");
    let o = kvscope(&["report", "--ca-cert", &ca, "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(
        seen.lock().unwrap().is_empty(),
        "served without a certificate"
    );
    assert!(err(&o).contains("--client-cert"), "{}", err(&o));

    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let o = kvscope(&[
        "report",
        "--ca-cert",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
        "--lmcache",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(lmcache_read(&o));
    assert!(seen.lock().unwrap()[0].starts_with("GET /metrics"));
}

#[test]
fn export_and_the_fleet_client_take_the_same_options() {
    let pki = Pki::new("others");
    let (url, seen) = https(&pki, false, scrape());
    let ca = pki.path("ca.pem");

    let out = pki.dir.join("p.kvpacket");
    let o = kvscope(&[
        "export",
        "--ca-cert",
        &ca,
        "--lmcache",
        &url,
        "--duration",
        "1s",
        "--interval",
        "500ms",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = kvscope(&["report", "--packet", out.to_str().unwrap()]);
    assert!(lmcache_read(&o), "the exported packet holds the scrapes");

    // The fleet reads Prometheus through the same client: without the CA the API cannot be
    // reached (exit 3, with the hint); with it, the request gets through the handshake.
    let api = format!("{url}/federate?match[]=%7Bjob%3D%22lmcache%22%7D");
    let o = kvscope(&["report", "--prometheus", &api]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(err(&o).contains("--ca-cert"), "{}", err(&o));
    let before = seen.lock().unwrap().len();
    let o = kvscope(&["report", "--ca-cert", &ca, "--prometheus", &api]);
    assert_ne!(o.status.code(), Some(3), "{}", err(&o));
    let after = seen.lock().unwrap().clone();
    assert!(
        after[before..]
            .iter()
            .any(|l| l.starts_with("GET /federate")),
        "{after:?}"
    );
}

#[test]
fn config_target_tables_carry_their_tls_files() {
    // Read through the settings path: the same Tls the flags make.
    let pki = Pki::new("config");
    let cfg = pki.dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[target]]\nlmcache = \"https://127.0.0.1:1\"\nca_cert = [\"{}\"]\ninsecure = true\n",
            pki.path("ca.pem")
        ),
    )
    .unwrap();
    let args = kvscope::cli::settings::resolve(live_opts(&cfg), vec![], vec![], Default::default())
        .unwrap();
    let auth = args.auth.for_target(kvscope::vocab::Role::Lmcache, 0);
    assert_eq!(auth.tls.ca.len(), 1);
    assert!(auth.tls.insecure);

    std::fs::write(
        &cfg,
        "[[target]]\nlmcache = \"https://127.0.0.1:1\"\nclient_cert = \"/nonexistent/c.pem\"\nclient_key = \"/nonexistent/c.key\"\n",
    )
    .unwrap();
    let Err(e) =
        kvscope::cli::settings::resolve(live_opts(&cfg), vec![], vec![], Default::default())
    else {
        panic!("a missing client certificate is refused")
    };
    assert!(e.message.contains("/nonexistent/c.pem"), "{}", e.message);
}

fn live_opts(config: &Path) -> kvscope::cli::args::LiveOpts {
    use clap::Parser;
    let cli = kvscope::cli::args::Cli::parse_from([
        "kvscope",
        "watch",
        "--config",
        config.to_str().unwrap(),
    ]);
    match cli.command {
        kvscope::cli::args::Command::Watch { live, .. } => live,
        _ => unreachable!(),
    }
}
