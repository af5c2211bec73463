//! How Candor reaches a PostgreSQL database: in the clear only on this machine (a Unix socket,
//! `localhost` or a loopback address), over TLS that verifies the server's certificate and
//! name everywhere else. The events' keyed hashes and a report's opened rows never cross a
//! network in the clear.
//!
//! The database URL takes libpq's two TLS parameters, which Candor reads itself (the driver
//! knows neither of them):
//! - `sslmode`: `disable`, `allow` or `prefer` keep a connection on this machine in the clear;
//!   for a remote one `disable` is refused and `allow`/`prefer` are taken as TLS. `require`,
//!   `verify-ca` and `verify-full` ask for TLS on this machine too. Candor always verifies what libpq's `verify-full` does: the chain
//!   to a trusted root, and the host name (the URL's host, also where `hostaddr` gives the
//!   address to dial).
//! - `sslrootcert`: a PEM file of the certificates to trust (a private CA); without it, the
//!   system's roots. A file that cannot be read or holds no certificate is a one-line error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::StoreError;

/// The largest `sslrootcert` file read.
const MAX_ROOTS_BYTES: u64 = 1 << 20;

/// How a connection is made.
pub(crate) struct Reach {
    config: postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

impl Reach {
    /// Reads `url` (with Candor's reading of `sslmode` and `sslrootcert`) and decides how to
    /// reach the database, refusing a remote one in the clear.
    pub(crate) fn new(url: &str) -> Result<Self, StoreError> {
        let (driver_url, tls_params) = split_tls_params(url)?;
        let mut config: postgres::Config = driver_url.parse().map_err(StoreError::UrlSyntax)?;
        let remote = remote_host(&config);
        let mode = tls_params.mode.as_deref();
        let asked = matches!(mode, Some("require" | "verify-ca" | "verify-full"));
        if let (Some(host), Some("disable")) = (&remote, mode) {
            return Err(StoreError::Url(format!(
                "PostgreSQL at `{host}` is not on this machine, and sslmode=disable would send \
                 the store's rows over the network in the clear: drop it (Candor then connects \
                 with TLS)"
            )));
        }
        let tls = if remote.is_some() || asked {
            config.ssl_mode(SslMode::Require);
            Some(MakeRustlsConnect::new(client_config(
                tls_params.root_cert.as_deref(),
            )?))
        } else {
            config.ssl_mode(SslMode::Disable);
            None
        };
        Ok(Self { config, tls })
    }

    /// The driver's settings, to add Candor's session options to.
    pub(crate) fn config_mut(&mut self) -> &mut postgres::Config {
        &mut self.config
    }

    /// Opens one connection; an error in one line with what lies behind it (a TLS
    /// handshake's refused certificate).
    pub(crate) fn connect(&self) -> Result<postgres::Client, StoreError> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        }
        .map_err(StoreError::Postgres)
    }

    /// Whether connections are made over TLS.
    #[cfg(test)]
    fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// `sslmode` and `sslrootcert`, taken out of a URL's query.
#[derive(Debug, Default, PartialEq)]
struct TlsParams {
    mode: Option<String>,
    root_cert: Option<PathBuf>,
}

/// The URL (or keyword/value string) without `sslmode` and `sslrootcert`, and their values.
fn split_tls_params(url: &str) -> Result<(String, TlsParams), StoreError> {
    let mut params = TlsParams::default();
    let mut take = |name: &str, value: String| -> Result<bool, StoreError> {
        match name {
            "sslmode" => {
                if !matches!(
                    value.as_str(),
                    "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"
                ) {
                    // The value is not shown: in a keyword string it may run into a
                    // password.
                    return Err(StoreError::Url(
                        "sslmode is none of disable, allow, prefer, require, verify-ca, \
                         verify-full"
                            .to_owned(),
                    ));
                }
                params.mode = Some(value);
                Ok(true)
            }
            "sslrootcert" => {
                params.root_cert = Some(PathBuf::from(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        // `key=value` words. A quoted value (libpq's `'…'`, which may hold spaces) is not
        // split here: such a string is refused when it also gives Candor's two parameters.
        if url.contains(['\'', '\\']) && (url.contains("sslmode") || url.contains("sslrootcert")) {
            return Err(StoreError::Url(
                "a keyword connection string with quoted values cannot give sslmode or \
                 sslrootcert: write it as a postgres:// URL"
                    .to_owned(),
            ));
        }
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let (name, value) = word.split_once('=').unwrap_or((word, ""));
            if !take(name, value.to_owned())? {
                kept.push(word);
            }
        }
        let url = kept.join(" ");
        return Ok((url, params));
    }
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), params));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Percent-escapes only: a `+` in a path is a `+`.
        let decoded =
            url::form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
        if !take(name, decoded)? {
            kept.push(pair);
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, params))
}

/// The first host of `config` that is not this machine, if any.
fn remote_host(config: &postgres::Config) -> Option<String> {
    use postgres::config::Host;
    let remote = config.get_hosts().iter().find_map(|host| match host {
        Host::Tcp(name) => {
            let local = name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            (!local).then(|| name.clone())
        }
        #[cfg(unix)]
        Host::Unix(_) => None,
    });
    remote.or_else(|| {
        config
            .get_hostaddrs()
            .iter()
            .find(|ip| !ip.is_loopback())
            .map(ToString::to_string)
    })
}

/// A rustls client that trusts `roots` (a PEM file) or else the system's roots, on the
/// crypto rustls is built with here.
fn client_config(roots: Option<&Path>) -> Result<rustls::ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Tls {
            what: "the protocol versions".to_owned(),
            source: Box::new(e),
        })?;
    let Some(path) = roots else {
        use rustls_platform_verifier::BuilderVerifierExt;
        return builder
            .with_platform_verifier()
            .map(|b| b.with_no_client_auth())
            .map_err(|e| StoreError::Tls {
                what: "the system's roots".to_owned(),
                source: Box::new(e),
            });
    };
    let shown = || {
        format!(
            "sslrootcert {}",
            candor_check::shown_up_to(&path.display().to_string(), 200)
        )
    };
    let unusable = |what: &str, source: Box<dyn std::error::Error + Send + Sync>| StoreError::Tls {
        what: format!("{}{what}", shown()),
        source,
    };
    let pem = read_capped(path).map_err(|e| unusable("", Box::new(e)))?;
    let mut store = rustls::RootCertStore::empty();
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unusable(" is not PEM certificates", Box::new(e)))?;
        store
            .add(cert)
            .map_err(|e| unusable(" holds a certificate rustls refuses", Box::new(e)))?;
    }
    if store.is_empty() {
        return Err(StoreError::Url(format!("{} holds no certificate", shown())));
    }
    Ok(builder.with_root_certificates(store).with_no_client_auth())
}

/// A regular file's bytes, at most [`MAX_ROOTS_BYTES`]; a FIFO or device is refused rather
/// than waited on.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    // Looked at before it is opened: opening a FIFO would block until a writer came.
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_ROOTS_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_ROOTS_BYTES} bytes"
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ROOTS_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_kept() {
        let (url, params) = split_tls_params(
            "postgres://u@db.example.com/t?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fc++.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@db.example.com/t?application_name=x");
        assert_eq!(params.mode.as_deref(), Some("verify-full"));
        assert_eq!(params.root_cert, Some(PathBuf::from("/etc/c++.pem")));
        // A password never reaches an error, however the string is quoted.
        for text in [
            "host=db.example.com password='hunter2SECRET sslmode=x' sslmode=require",
            "host=db.example.com password=hunter2SECRET sslmode=hunter2SECRET",
        ] {
            let Err(StoreError::Url(why)) = split_tls_params(text) else {
                panic!("{text} is refused");
            };
            assert!(!why.contains("hunter2"), "{why}");
        }
        let (url, params) = split_tls_params("postgres://u@127.0.0.1/t").unwrap();
        assert_eq!(url, "postgres://u@127.0.0.1/t");
        assert_eq!(params, TlsParams::default());
        assert!(split_tls_params("postgres://u@h/t?sslmode=sometimes").is_err());
        let (words, params) =
            split_tls_params("host=db.example.com user=u sslmode=require sslrootcert=/ca.pem")
                .unwrap();
        assert_eq!(words, "host=db.example.com user=u");
        assert_eq!(params.mode.as_deref(), Some("require"));
        assert_eq!(params.root_cert, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn this_machine_is_plain_and_anywhere_else_is_tls_or_refused() {
        let local = Reach::new("postgres://u@127.0.0.1:5432/t").unwrap();
        assert!(!local.uses_tls());
        let socket = Reach::new("postgres://u@%2Ftmp%2Fpg/t").unwrap();
        assert!(!socket.uses_tls());
        let asked = Reach::new("postgres://u@localhost/t?sslmode=require").unwrap();
        assert!(asked.uses_tls());
        // A name that is not this machine, even where the address dialled is loopback.
        let named = Reach::new("postgres://u@db.example.com/t?hostaddr=127.0.0.1").unwrap();
        assert!(named.uses_tls());
        let remote = Reach::new("postgres://u@10.1.2.3/t?sslmode=prefer").unwrap();
        assert!(remote.uses_tls());
        let Err(StoreError::Url(refused)) =
            Reach::new("postgres://u@db.example.com/t?sslmode=disable")
        else {
            panic!("a remote database in the clear is refused");
        };
        assert!(refused.contains("db.example.com"), "{refused}");
    }

    /// A FIFO, made with mkfifo(1).
    fn fifo(dir: &Path) -> PathBuf {
        let path = dir.join("roots.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(made, "mkfifo");
        path
    }

    #[test]
    fn a_root_file_that_holds_no_certificate_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        for (url, needle) in [
            (
                format!(
                    "postgres://u@db.example.com/t?sslrootcert={}",
                    empty.display()
                ),
                "holds no certificate",
            ),
            (
                format!(
                    "postgres://u@db.example.com/t?sslrootcert={}",
                    dir.path().join("missing.pem").display()
                ),
                "sslrootcert",
            ),
            (
                format!(
                    "postgres://u@db.example.com/t?sslrootcert={}",
                    dir.path().display()
                ),
                "not a regular file",
            ),
            (
                format!(
                    "postgres://u@db.example.com/t?sslrootcert={}",
                    fifo(dir.path()).display()
                ),
                "not a regular file",
            ),
        ] {
            let Err(refused) = Reach::new(&url) else {
                panic!("{url} is refused");
            };
            let why = refused.to_string();
            assert!(why.contains(needle) && !why.contains('\n'), "{why}");
        }
    }
}
