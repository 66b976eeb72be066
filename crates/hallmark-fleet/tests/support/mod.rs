//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory,
//! `pg_ctl start` on 127.0.0.1 and a free port, password (SCRAM) logins over TCP, a
//! superuser connection for set-up, `pg_ctl stop -m immediate` on drop, and
//! `stop()`/`start()` for outage tests.
//!
//! `initdb` refuses to run as root, and CI runs as root: then every server command
//! runs as the `postgres` system user (`runuser -u postgres --`), which the Debian
//! package creates, and the directories it writes are handed to that user. Binaries:
//! `HALLMARK_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
//! Without them a test prints `SKIPPED (PostgreSQL): why` and returns, unless
//! `HALLMARK_REQUIRE_POSTGRES=1`, where it fails.
#![allow(dead_code)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The set-up superuser.
pub const SUPERUSER: &str = "postgres";

/// A running (or stopped) test server. Stopped and removed on drop.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    /// `Some((uid, gid))` of `postgres` when the tests run as root.
    owner: Option<(u32, u32)>,
    password: String,
    running: bool,
}

/// Skips (or fails under `HALLMARK_REQUIRE_POSTGRES=1`) with a reason.
fn skip(test: &str, why: &str) -> Option<TestPostgres> {
    if std::env::var("HALLMARK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("{test}: PostgreSQL is required (HALLMARK_REQUIRE_POSTGRES=1) but {why}");
    }
    eprintln!("SKIPPED (PostgreSQL): {test}: {why}");
    None
}

/// Where `initdb` and `pg_ctl` are.
fn find_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("HALLMARK_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(format!("HALLMARK_PG_BIN={} holds no initdb", dir.display()))
        };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
    }
    Err("no initdb in /usr/lib/postgresql/*/bin or PATH (install the `postgresql` package: \
         ./scripts/setup.sh)"
        .into())
}

/// uid and gid of the `postgres` system user.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != "postgres" {
            return None;
        }
        fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener.local_addr().expect("local address").port()
}

impl TestPostgres {
    /// A fresh server, or `None` (after printing why) when PostgreSQL is not installed.
    pub fn start(test: &str) -> Option<TestPostgres> {
        let bin = match find_bin() {
            Ok(bin) => bin,
            Err(why) => return skip(test, &why),
        };
        let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let owner = if root {
            match postgres_user() {
                Some(ids) => Some(ids),
                None => {
                    return skip(test, "the tests run as root and there is no `postgres` user to run the server as")
                }
            }
        } else {
            None
        };
        let dir = tempfile::Builder::new().prefix("hallmark-pg-").tempdir().expect("temporary directory");
        // The server's user must reach the data directory through its parent.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("create data dir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod data dir");
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).expect("chown data dir to postgres");
        }
        let password = format!(
            "test-{:x}-{:x}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        );
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n")).expect("write password file");
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).expect("chmod password file");
        let mut pg = TestPostgres { dir, data, bin, port: free_port(), owner, password, running: false };
        let data_arg = pg.data.display().to_string();
        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        pg.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &pwfile_arg,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        .unwrap_or_else(|e| panic!("{test}: initdb failed: {e}"));
        let _ = std::fs::remove_file(&pwfile);
        // A port taken between choosing and binding: choose again.
        let mut last = String::new();
        for _ in 0..3 {
            match pg.try_start() {
                Ok(()) => return Some(pg),
                Err(e) => {
                    last = e;
                    pg.port = free_port();
                }
            }
        }
        panic!("{test}: the test PostgreSQL did not start: {last}\nserver log:\n{}", pg.log());
    }

    /// Runs one of the server's programs, as `postgres` when we are root.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let exe = self.bin.join(program);
        let mut cmd = if self.owner.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        // A directory the server's user may enter (initdb and pg_ctl look at the cwd).
        cmd.args(args).current_dir(self.dir.path()).env("LC_ALL", "C");
        let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("{program} {}: {}\n{text}", args.join(" "), out.status))
        }
    }

    fn try_start(&mut self) -> Result<(), String> {
        let data = self.data.display().to_string();
        let log = self.data.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=40 -c shared_buffers=16MB",
            self.port, data
        );
        self.run("pg_ctl", &["-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start"])?;
        self.running = true;
        Ok(())
    }

    /// Starts the server again on the same port (after [`TestPostgres::stop`]).
    pub fn start_again(&mut self) {
        if !self.running {
            self.try_start().unwrap_or_else(|e| panic!("restarting the test PostgreSQL: {e}\n{}", self.log()));
        }
    }

    /// Stops the server at once, like a crash or a pulled cable (`-m immediate`).
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data.display().to_string();
            self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
                .unwrap_or_else(|e| panic!("stopping the test PostgreSQL: {e}"));
            self.running = false;
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgresql://USER@127.0.0.1:PORT/DB`.
    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// A superuser connection to `db`, for set-up and for looking behind the API.
    pub fn admin(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .password(&self.password)
            .dbname(db)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("superuser connection to {db}: {e}"))
    }

    /// Creates a database and returns its name.
    pub fn create_database(&self, db: &str) -> String {
        self.admin("postgres").batch_execute(&format!("CREATE DATABASE {db}")).expect("create database");
        db.to_string()
    }

    /// Installs a server certificate and key (PEM) and turns TLS on (reload).
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) {
        let cert = self.data.join("server.crt");
        let key = self.data.join("server.key");
        std::fs::write(&cert, cert_pem).expect("write server.crt");
        std::fs::write(&key, key_pem).expect("write server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod server.key");
        if let Some((uid, gid)) = self.owner {
            for f in [&cert, &key] {
                std::os::unix::fs::chown(f, Some(uid), Some(gid)).expect("chown TLS files");
            }
        }
        let mut admin = self.admin("postgres");
        // ALTER SYSTEM refuses to run in a transaction block: one statement at a time.
        for sql in [
            "ALTER SYSTEM SET ssl = on",
            "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
            "ALTER SYSTEM SET ssl_key_file = 'server.key'",
            "SELECT pg_reload_conf()",
        ] {
            admin.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        // The reload is asynchronous: wait until new connections see it.
        for _ in 0..100 {
            let on: String = self.admin("postgres").query_one("SHOW ssl", &[]).expect("SHOW ssl").get(0);
            if on == "on" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the test PostgreSQL did not turn TLS on:\n{}", self.log());
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data.display().to_string();
            let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
    }
}
