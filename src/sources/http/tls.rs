//! TLS beyond the system's CA certificates: a private CA (`--ca-cert`), a client certificate
//! (`--client-cert`, `--client-key`) for servers that ask for one, and `--insecure`. Files are
//! read and checked when the flags are, so a wrong file is named before anything is scraped;
//! key material is never printed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::SetupError::{self, Credentials};

/// Largest certificate or key file kvscope reads (a CA bundle is a few hundred KB).
pub const MAX_PEM_BYTES: u64 = 4 << 20;

/// One target's TLS settings.
#[derive(Clone, Default)]
pub struct Tls {
    /// Extra CA certificates trusted besides the system's: each file with its PEM text.
    pub ca: Vec<(PathBuf, Vec<u8>)>,
    /// A client certificate chain and its key, as one PEM text.
    pub identity: Option<ClientIdentity>,
    /// Accept any server certificate (`--insecure`): shown wherever the target is.
    pub insecure: bool,
}

/// A client certificate and its private key.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert: PathBuf,
    pem: Vec<u8>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ca: Vec<_> = self.ca.iter().map(|(p, _)| p.display()).collect();
        let cert = self.identity.as_ref().map(|i| i.cert.display());
        write!(
            f,
            "Tls {{ ca: {ca:?}, client_cert: {cert:?} (key hidden), insecure: {} }}",
            self.insecure
        )
    }
}

impl Tls {
    /// From the flags (or a `[[target]]` table's keys) of one target or of every target.
    pub fn from_flags(
        ca: &[PathBuf],
        client_cert: &[PathBuf],
        client_key: &[PathBuf],
        insecure: bool,
    ) -> Result<Tls, SetupError> {
        let ca = ca
            .iter()
            .map(|p| ca_file(p).map(|pem| (p.clone(), pem)))
            .collect::<Result<Vec<_>, _>>()?;
        let identity = match (client_cert, client_key) {
            ([], []) => None,
            ([cert], [key]) => Some(identity(cert, key)?),
            ([_], []) => {
                return Err(Credentials(
                    "--client-cert needs --client-key (the certificate's private key)".into(),
                ));
            }
            ([], [_]) => {
                return Err(Credentials(
                    "--client-key needs --client-cert (the certificate it belongs to)".into(),
                ));
            }
            _ => {
                return Err(Credentials(
                    "--client-cert and --client-key: give one pair per target (or one for every target)"
                        .into(),
                ));
            }
        };
        Ok(Tls {
            ca,
            identity,
            insecure,
        })
    }

    /// `self` for every target, then `own` for one: CAs add up, its own client certificate
    /// wins, and either's `--insecure` holds.
    pub fn with(&self, own: &Tls) -> Tls {
        Tls {
            ca: self.ca.iter().chain(&own.ca).cloned().collect(),
            identity: own.identity.clone().or_else(|| self.identity.clone()),
            insecure: self.insecure || own.insecure,
        }
    }

    /// The client builder with these settings. Without CA certificates on the machine (a bare
    /// container, a minimal chroot), only `--ca-cert` is trusted: plain HTTP still works, and
    /// HTTPS says what to give.
    pub fn apply(&self, b: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, SetupError> {
        let mut b = b;
        if self.insecure {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        let mut extra = Vec::new();
        for (path, pem) in &self.ca {
            extra.extend(
                reqwest::Certificate::from_pem_bundle(pem)
                    .map_err(|e| Credentials(format!("--ca-cert {}: {e}", path.display())))?,
            );
        }
        if system_has_roots() {
            if !extra.is_empty() {
                b = b.tls_certs_merge(extra);
            }
        } else {
            b = b.tls_certs_only(extra);
        }
        if let Some(id) = &self.identity {
            let identity = reqwest::Identity::from_pem(&id.pem)
                .map_err(|e| Credentials(format!("--client-cert {}: {e}", id.cert.display())))?;
            b = b.identity(identity);
        }
        Ok(b)
    }
}

/// Whether the machine has CA certificates where TLS libraries look (`SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, the distribution's bundle). Read once.
pub fn system_has_roots() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| !rustls_native_certs::load_native_certs().certs.is_empty())
}

fn read_pem(flag: &str, path: &Path) -> Result<Vec<u8>, SetupError> {
    crate::files::read_capped(path, MAX_PEM_BYTES, crate::files::Kind::RegularOrPipe)
        .map_err(|e| Credentials(format!("{flag}: {e}")))
}

/// A CA file: at least one PEM certificate.
fn ca_file(path: &Path) -> Result<Vec<u8>, SetupError> {
    let pem = read_pem("--ca-cert", path)?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        _ => Err(Credentials(format!(
            "--ca-cert {}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)",
            path.display()
        ))),
    }
}

/// A client certificate with its key, checked to form an identity.
fn identity(cert: &Path, key: &Path) -> Result<ClientIdentity, SetupError> {
    let mut pem = read_pem("--client-cert", cert)?;
    pem.push(b'\n');
    pem.extend(read_pem("--client-key", key)?);
    reqwest::Identity::from_pem(&pem).map_err(|_| {
        Credentials(format!(
            "--client-cert {} with --client-key {}: not a PEM certificate and its private key (PKCS#8, PKCS#1 or SEC1)",
            cert.display(),
            key.display()
        ))
    })?;
    Ok(ClientIdentity {
        cert: cert.to_path_buf(),
        pem,
    })
}

/// A hint for a failed connection whose cause is TLS, from the error's text.
pub fn hint(error: &str) -> Option<&'static str> {
    if error.contains("UnknownIssuer") || error.contains("unknown issuer") {
        Some(if system_has_roots() {
            "the server's certificate is not signed by a CA this machine trusts: give --ca-cert FILE with the CA that signed it (or --insecure to skip the check)"
        } else {
            "this machine has no CA certificates (SSL_CERT_FILE, SSL_CERT_DIR, /etc/ssl/certs): give --ca-cert FILE with the CA that signed the server's certificate"
        })
    } else if error.contains("NotValidForName") || error.contains("not valid for name") {
        Some(
            "the server's certificate does not name this host: use the name it was issued for (or --insecure to skip the check)",
        )
    } else if error.contains("CertificateRequired") || error.contains("certificate required") {
        Some("the server asks for a client certificate: give --client-cert FILE --client-key FILE")
    } else if error.contains("Expired") {
        Some("the server's certificate has expired (or this machine's clock is wrong)")
    } else {
        None
    }
}
