//! Test harness: runs the real `voicebot` binary on 127.0.0.1 with its own SQLite file,
//! and speaks HTTP to it. Shared by the end-to-end test files.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod phone;

pub const SEED_WORKFLOW_ID: &str = "9b643eb4-0799-4761-bd34-9580eb315aaf";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_voicebot")
}

/// A free TCP port on 127.0.0.1 (bound and released; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    listen: String,
    rust_log: &'static str,
}

pub struct Integrator {
    pub id: String,
    pub key: String,
    pub secret: String,
}

impl Server {
    /// Starts a server with an optional extra TOML config.
    pub fn start_with(extra_toml: &str) -> Server {
        Self::start_logging(extra_toml, "warn")
    }

    /// Starts a server logging at `rust_log` (`RUST_LOG` syntax) into `server.log`.
    pub fn start_logging(extra_toml: &str, rust_log: &'static str) -> Server {
        Self::start_on(None, extra_toml, rust_log)
    }

    /// Starts a server on `database_url` (default: its own SQLite file) with extra TOML.
    pub fn start_on(database_url: Option<&str>, extra_toml: &str, rust_log: &'static str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let listen = format!("127.0.0.1:{}", free_port());
        let config = dir.path().join("voicebot.toml");
        let db = match database_url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", dir.path().join("voicebot.db").display()),
        };
        let toml = format!(
            "listen = \"{listen}\"\ndatabase_url = \"{db}\"\ndata_dir = \"{}\"\n{extra_toml}",
            dir.path().join("data").display()
        );
        std::fs::write(&config, toml).expect("write config");
        let mut server =
            Server { child: None, url: format!("http://{listen}"), dir, config, listen, rust_log };
        server.spawn();
        server
    }

    pub fn start() -> Server {
        Self::start_with("")
    }

    /// The server process's id (for a test that stops it from elsewhere).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("server running")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("voicebot.db")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("--config")
            .arg(&self.config)
            .env_remove("VOICEBOT_LISTEN")
            .env_remove("VOICEBOT_DATABASE_URL");
        cmd.env("RUST_LOG", self.rust_log);
        cmd
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        let child =
            self.command().arg("serve").stdout(Stdio::null()).stderr(log).spawn().expect("spawn server");
        self.child = Some(child);
        self.wait_healthy();
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = client().get(format!("{}/healthz", self.url)).send()
                && r.status().is_success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server on {} did not become healthy; log:\n{}", self.listen, self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `kill -9`, then start again on the same database.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    /// Runs a CLI subcommand against this server's config; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().expect("run cli");
        assert!(out.status.success(), "voicebot {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8 stdout")
    }

    pub fn create_integrator(&self, name: &str) -> Integrator {
        let out = self.cli(&["integrators", "create", "--name", name]);
        let v: Value = serde_json::from_str(out.trim()).expect("one JSON object on stdout");
        let s = |k: &str| v[k].as_str().expect(k).to_string();
        Integrator { id: s("integrator_id"), key: s("api_key"), secret: s("signing_secret") }
    }

    pub fn get(&self, key: &str, path: &str) -> (u16, Value) {
        send(client().get(format!("{}{path}", self.url)).bearer_auth(key))
    }

    pub fn post(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        send(client().post(format!("{}{path}", self.url)).bearer_auth(key).json(body))
    }

    pub fn post_raw(&self, key: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
        send(client().post(format!("{}{path}", self.url)).bearer_auth(key).body(body))
    }

    pub fn put(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        send(client().put(format!("{}{path}", self.url)).bearer_auth(key).json(body))
    }

    /// PUTs the seed's workflow id with a reminder workflow using `[name]`.
    pub fn put_seed_workflow(&self, key: &str) {
        let (code, body) =
            self.put(key, &format!("/voicebot/v1/workflows/{SEED_WORKFLOW_ID}"), &seed_workflow());
        assert_eq!(code, 200, "{body}");
    }

    /// Rows in a table, read straight from the database file.
    pub fn count(&self, table: &str) -> i64 {
        count_rows(&self.db_path(), table)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client")
}

pub fn send(req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
    let resp = req.send().expect("request");
    let code = resp.status().as_u16();
    let text = resp.text().expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body ({code}): {text}"));
    (code, body)
}

pub fn seed_workflow() -> Value {
    serde_json::json!({
        "name": "Appointment reminder",
        "workflow_type": "ROBOCALL",
        "message": "Hello [name], your appointment is tomorrow.",
        "include_reply": true,
        "response_options": {"1": "Press 1 to confirm", "2": "Press 2 to reschedule"}
    })
}

/// The seed's request body.
pub fn seed_batch() -> Value {
    serde_json::json!({
        "tts_voice_accent": "igbo",
        "tts_voice_gender": "female",
        "workflow_id": SEED_WORKFLOW_ID,
        "workflow_params": [{
            "phone_number": "+2348076960623",
            "user_tag_identifiers": {"customer_id": "CUST001"},
            "workflow_variables": {"name": "James"}
        }]
    })
}

/// A batch of `n` distinct valid Nigerian numbers.
pub fn batch_of(n: usize) -> Value {
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "phone_number": format!("+234803{:07}", i),
                "user_tag_identifiers": {"row": i},
                "workflow_variables": {"name": format!("Patient {i}")}
            })
        })
        .collect();
    serde_json::json!({"workflow_id": SEED_WORKFLOW_ID, "tts_voice_accent": "yoruba", "workflow_params": rows})
}

/// Runs one read-only query returning rows of text columns.
pub fn query_strings(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
            .await
            .expect("open db");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut conn).await.expect("query");
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.try_get::<String, _>(i).unwrap_or_else(|_| r.get::<i64, _>(i).to_string()))
                    .collect()
            })
            .collect()
    })
}

pub fn count_rows(db: &Path, table: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
            .await
            .expect("open db");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await
            .expect("count");
        n
    })
}

/// A completion-callback receiver: `tests/receivers/webhook_receiver.py` (PyPI
/// `standardwebhooks`) on 127.0.0.1, answering per request from `plan` (e.g. `"500,timeout,200"`)
/// and logging one JSON line per request.
pub struct Receiver {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    pub fn start(secret: &str, plan: &str) -> Receiver {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("requests.jsonl");
        std::fs::write(&log, "").expect("log");
        let script = format!("{}/tests/receivers/webhook_receiver.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(secret)
            .arg(plan)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (scripts/test.sh installs standardwebhooks)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("receiver port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("receiver did not start: {line:?}"));
        Receiver { child, port, log, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Requests received so far, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until at least `n` requests arrived (panics after `secs`).
    pub fn wait_for(&self, n: usize, secs: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "receiver got {} of {n} requests: {got:?}", got.len());
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Config for callback tests: private targets allowed, a short retry schedule.
pub fn fast_callbacks_toml(schedule: &str) -> String {
    format!(
        "[callbacks]\nallow_private = true\ntimeout_seconds = 1.0\nschedule_seconds = {schedule}\njitter = 0.0\npoll_interval_ms = 50\n"
    )
}

impl Server {
    /// Posts a batch (optionally with a `callback_url`) and cancels it, so it is final
    /// (`CANCELLED`) through the real API; returns its id.
    pub fn final_batch(&self, key: &str, callback_url: Option<&str>) -> String {
        let mut body = seed_batch();
        if let Some(url) = callback_url {
            body["callback_url"] = Value::from(url);
        }
        let (code, v) = self.post(key, "/voicebot/v1/call", &body);
        assert_eq!(code, 200, "{v}");
        let id = v["data"]["batch_id"].as_str().expect("batch_id").to_string();
        let (code, v) = self.post(key, &format!("/voicebot/v1/batch/{id}/cancel"), &Value::Null);
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["data"]["status"], "CANCELLED", "{v}");
        id
    }

    /// `GET /batch/{id}/callback` data.
    pub fn callback(&self, key: &str, batch_id: &str) -> Value {
        let (code, v) = self.get(key, &format!("/voicebot/v1/batch/{batch_id}/callback"));
        assert_eq!(code, 200, "{v}");
        v["data"].clone()
    }

    /// Waits until the batch's callback reaches `state` with at least `attempts` attempts.
    pub fn wait_callback(&self, key: &str, batch_id: &str, state: &str, attempts: u64, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let d = self.callback(key, batch_id);
            if d["state"] == state && d["attempts"].as_u64().unwrap_or(0) >= attempts {
                return d;
            }
            assert!(Instant::now() < deadline, "callback never reached {state}/{attempts}: {d}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}
