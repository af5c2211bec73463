//! Test support: real databases (a SQLite file; a PostgreSQL cluster started by the test as an
//! unprivileged user in a temp folder), a running `candor serve`, events and an HTTP client.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use candor_ingest::{
    Accepted, DatabaseUrl, IngestConfig, ReadToken, Running, Sealing, ServerConfig, StoreKey,
};
use serde_json::{Value, json};

/// A database for one test.
pub(crate) enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(Postgres),
}

impl Db {
    pub(crate) fn sqlite() -> Self {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh PostgreSQL cluster, or `None` (with the reason printed) when the binaries are
    /// missing outside CI. Under CI the missing binaries fail the test.
    pub(crate) fn postgres() -> Option<Self> {
        if !cfg!(feature = "postgres") {
            eprintln!("skipping the PostgreSQL run: built without the `postgres` feature");
            return None;
        }
        Postgres::start().map(Db::Postgres)
    }

    /// PostgreSQL with fsync on, as a production server runs it.
    pub(crate) fn postgres_durable() -> Option<Self> {
        Postgres::start_with(true).map(Db::Postgres)
    }

    /// The store key the tests' servers use.
    pub(crate) fn sealing(&self) -> Sealing {
        Sealing::Key(test_key())
    }

    /// A store opened as the tests' servers open it.
    pub(crate) fn open(&self) -> Box<dyn candor_ingest::Store> {
        self.url().open(&self.sealing()).unwrap()
    }

    pub(crate) fn url(&self) -> DatabaseUrl {
        match self {
            Db::Sqlite(dir) => DatabaseUrl::Sqlite(dir.path().join("ingest.db")),
            Db::Postgres(pg) => DatabaseUrl::Postgres(pg.url()),
        }
    }
}

/// Runs `suite` against SQLite and PostgreSQL.
pub(crate) fn both(suite: impl Fn(&Db)) {
    suite(&Db::sqlite());
    if let Some(pg) = Db::postgres() {
        suite(&pg);
    }
}

/// A PostgreSQL cluster in a temp folder, run by an unprivileged user when the test runs as root.
pub(crate) struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    user: Option<String>,
    /// Tests turn fsync off for speed; the benchmark keeps it on.
    fsync: bool,
    /// Set by [`Postgres::start_tls`]: the server speaks TLS with a certificate for
    /// [`TLS_HOST`], and [`Postgres::url`] names it with this CA file.
    tls_ca: Option<PathBuf>,
}

/// The host name a TLS test's server certificate is for; the address dialled stays loopback.
pub(crate) const TLS_HOST: &str = "pg.candor.test";

fn find_bin() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    pub(crate) fn start() -> Option<Self> {
        Self::start_with(false)
    }

    pub(crate) fn start_with(fsync: bool) -> Option<Self> {
        Self::start_configured(fsync, None)
    }

    /// A cluster that speaks TLS with `cert_pem`/`key_pem` (a certificate for [`TLS_HOST`])
    /// and logs each connection; its URL names [`TLS_HOST`] (dialled at 127.0.0.1) and trusts
    /// the CA in `ca`.
    pub(crate) fn start_tls(cert_pem: &str, key_pem: &str, ca: &Path) -> Option<Self> {
        Self::start_configured(false, Some((cert_pem, key_pem, ca)))
    }

    fn start_configured(fsync: bool, tls: Option<(&str, &str, &Path)>) -> Option<Self> {
        let Some(bin) = find_bin() else {
            let message = "PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's \
                           `postgresql` package (.ci/run does)";
            if candor_testkit::tools_required() {
                panic!("{message}");
            }
            eprintln!("skipping the PostgreSQL run: {message}");
            return None;
        };
        // PostgreSQL refuses to run as root: the cluster belongs to `nobody` then, in a folder
        // under /tmp (a TMPDIR inside root's home would be out of its reach).
        let user = is_root().then(|| "nobody".to_owned());
        let mut builder = tempfile::Builder::new();
        builder.prefix("candor-pg-");
        let dir = if user.is_some() {
            builder.tempdir_in("/tmp")
        } else {
            builder.tempdir()
        }
        .unwrap()
        .keep();
        if let Some(user) = &user {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), dir.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success(), "chown of the cluster folder failed");
        }
        let port = free_port();
        if let Some((cert, key, _)) = tls {
            // PostgreSQL reads its key only when the user it runs as owns it, mode 0600.
            use std::os::unix::fs::PermissionsExt;
            for (name, pem) in [("server.crt", cert), ("server.key", key)] {
                let path = dir.join(name);
                std::fs::write(&path, pem).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
                if let Some(user) = &user {
                    let status = Command::new("chown")
                        .args([&format!("{user}:"), path.to_str().unwrap()])
                        .status()
                        .unwrap();
                    assert!(status.success(), "chown of {name} failed");
                }
            }
        }
        let pg = Self {
            dir,
            bin,
            port,
            user,
            fsync,
            tls_ca: tls.map(|(_, _, ca)| ca.to_owned()),
        };
        let data = pg.dir.join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "candor",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        pg.start_server();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let output = match &self.user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .current_dir(&self.dir)
                .output(),
            None => Command::new(&program).args(args).output(),
        }
        .unwrap();
        assert!(
            output.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub(crate) fn start_server(&self) {
        let data = self.dir.join("data");
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c max_connections=50",
            self.port,
            self.dir.display(),
            if self.fsync { "on" } else { "off" }
        );
        if self.tls_ca.is_some() {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key \
                 -c log_connections=on",
                self.dir.display()
            ));
        }
        let log = self.dir.join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    pub(crate) fn stop_server(&self) {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }

    pub(crate) fn url(&self) -> String {
        match &self.tls_ca {
            Some(ca) => format!(
                "postgres://candor@{TLS_HOST}:{}/postgres?hostaddr=127.0.0.1&sslrootcert={}",
                self.port,
                ca.display()
            ),
            None => format!("postgres://candor@127.0.0.1:{}/postgres", self.port),
        }
    }

    /// What the server logged.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// `pg_dump` of the whole database, as a backup would hold it.
    pub(crate) fn dump(&self) -> String {
        let program = self.bin.join("pg_dump");
        let port = self.port.to_string();
        let args = ["-h", "127.0.0.1", "-p", &port, "-U", "candor", "postgres"];
        let output = match &self.user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .current_dir(&self.dir)
                .output(),
            None => Command::new(&program).args(args).output(),
        }
        .unwrap();
        assert!(
            output.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let program = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"];
        let _ = match &self.user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .output(),
            None => Command::new(&program).args(args).output(),
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `candor serve` on a free loopback port with the built-in catalogues, each declaring a
/// minimum group of 1 so tests of other things see every value by name (the tests of the
/// minimum group use the catalogues as shipped).
pub(crate) fn serve(db: &Db, config: IngestConfig) -> Running {
    serve_with(db, builtin_min_group(1), config, ServerConfig::default())
}

/// The built-in catalogues (every earlier revision, then the current one), each declaring a
/// minimum group of `k`.
pub(crate) fn builtin_min_group(k: u32) -> Accepted {
    let catalogues = candor_schema::builtin::PREVIOUS_SOURCES
        .iter()
        .chain(candor_schema::builtin::SOURCES)
        .map(|(name, source)| {
            let source =
                source.replace("[retention]\n", &format!("[retention]\nmin_group = {k}\n"));
            candor_schema::Catalogue::from_toml_str(&source, name).unwrap()
        });
    Accepted::new(catalogues)
}

/// The read token the tests' servers require (unless the test sets its own).
pub(crate) const READ_TOKEN: &str = "test-read-token-0123456789";

pub(crate) fn serve_with(
    db: &Db,
    accepted: Accepted,
    mut config: IngestConfig,
    server: ServerConfig,
) -> Running {
    if config.read_token.is_none() {
        config.read_token = Some(ReadToken::new(READ_TOKEN).unwrap());
    }
    candor_ingest::spawn(
        accepted,
        &db.url(),
        &db.sealing(),
        "127.0.0.1:0",
        config,
        server,
        false,
    )
    .unwrap()
}

/// The store key of the tests.
pub(crate) fn test_key() -> StoreKey {
    StoreKey::from_hex("5eed5eed00112233445566778899aabbccddeeff0123456789abcdef01234567").unwrap()
}

pub(crate) fn url(running: &Running, path: &str) -> String {
    format!("http://{}{path}", running.address())
}

/// A fresh event id.
pub(crate) fn event_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!("{:016x}{:016x}", nanos ^ u64::from(std::process::id()), n)
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

pub(crate) fn days_ago(days: u64) -> String {
    humantime::format_rfc3339_millis(SystemTime::now() - Duration::from_secs(days * 86_400))
        .to_string()
}

/// The agent's revision in the built-in catalogue.
pub(crate) fn revision(product: &str) -> String {
    Accepted::builtin()
        .unwrap()
        .catalogue(product)
        .unwrap()
        .spec()
        .revision
        .clone()
}

/// A valid agent event: `working_set` (a count) on the `core` line.
pub(crate) fn agent_event(value: u64) -> Value {
    agent_point("working_set", json!({"kind": "count", "data": value}))
}

pub(crate) fn agent_point(point: &str, value: Value) -> Value {
    json!({
        "event_id": event_id(),
        "time": now_rfc3339(),
        "product": "contrast-dotnet-agent",
        "product_version": "4.0.0",
        "runtime_line": "core",
        "catalogue_revision": revision("contrast-dotnet-agent"),
        "point": point,
        "value": value,
    })
}

pub(crate) fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// POSTs a JSON array; returns status and the reply as JSON (or the text as a JSON string).
pub(crate) fn post_events(running: &Running, events: &[Value]) -> (u16, Value) {
    post_body(running, serde_json::to_vec(events).unwrap(), false)
}

fn post_body(running: &Running, body: Vec<u8>, gzip: bool) -> (u16, Value) {
    let mut request = client()
        .post(url(running, "/v1/events"))
        .header("content-type", "application/json");
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.body(body).send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The JSON report of a product over all time.
pub(crate) fn report(running: &Running, product: &str) -> Value {
    let response = client()
        .get(url(running, &format!("/v1/report/{product}")))
        .bearer_auth(READ_TOKEN)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().unwrap()
}

pub(crate) fn point_count(report: &Value, point: &str) -> u64 {
    report["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == point)
        .map_or(0, |p| p["count"].as_u64().unwrap())
}

/// The reason codes of a JSON reply's listed refusals, in order.
pub(crate) fn reasons(reply: &Value) -> Vec<String> {
    reply["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// POSTs a JSON array gzip-compressed; returns status and the reply as JSON (or the text as a
/// JSON string).
pub(crate) fn post_gzip(running: &Running, events: &[Value]) -> (u16, Value) {
    post_body(running, gzip(&serde_json::to_vec(events).unwrap()), true)
}

/// The built-in catalogues, the dashboard's declaring install ids (as a vendor's own catalogue
/// may), so installations can be counted.
pub(crate) fn with_dashboard_installs() -> Accepted {
    let catalogues = candor_schema::builtin::SOURCES
        .iter()
        .map(|(name, source)| {
            let source = if name.starts_with("aspire") {
                source.replace("[collection]\n", "[collection]\ninstall_id = true\n")
            } else {
                (*source).to_owned()
            };
            candor_schema::Catalogue::from_toml_str(&source, name).unwrap()
        });
    Accepted::new(catalogues)
}

/// How many of `product`'s events the store at `url`, opened with `key`, reports over all time
/// (the built-in catalogues').
pub(crate) fn events_reported(url: &DatabaseUrl, key: StoreKey, product: &str) -> u64 {
    let accepted = Accepted::builtin().unwrap();
    let mut store = url.open(&Sealing::Key(key)).unwrap();
    candor_ingest::report::build(&mut *store, &accepted, product, i64::MIN, i64::MAX, None)
        .unwrap()
        .events
}

/// A dashboard page visit by installation `install` (its key), recorded now.
pub(crate) fn page_visit(install: &str, page: &str) -> Value {
    json!({
        "event_id": event_id(),
        "time": now_rfc3339(),
        "product": "aspire-dashboard",
        "product_version": "9.3.0",
        "runtime_line": "dashboard",
        "catalogue_revision": revision("aspire-dashboard"),
        "install_id": install,
        "point": "page_navigation",
        "value": {"kind": "properties", "data": {"page": page}},
    })
}

/// A deletion request for `product`'s events with `key`, recorded up to `before`.
pub(crate) fn deletion_request(product: &str, key: &str, before: SystemTime) -> Value {
    json!({
        "kind": "deletion-request",
        "product": product,
        "key": key,
        "request_id": event_id(),
        "before": humantime::format_rfc3339_millis(before).to_string(),
    })
}

/// Posts `body` to the deletion endpoint: the status and the answer's text.
pub(crate) fn post_deletion(running: &Running, body: &Value) -> (u16, String) {
    let response = client()
        .post(url(running, candor_schema::DELETION_PATH))
        .json(body)
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}
