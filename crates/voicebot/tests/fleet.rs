//! A fleet (issue 8, acceptance 2 and 3): three real `voicebot serve` nodes on one PostgreSQL
//! schema dial the virtual phone. The trunk's `cps` and `max_concurrent` must hold across the
//! fleet as the phone sees it, every call must end final exactly once with work spread over
//! the nodes, and after `kill -9` of one node the others must take over its calls through the
//! heartbeats: its open attempts `INTERRUPTED` and retried within `max_attempts`, no SIP
//! Call-ID used twice, one completion callback.
//!
//! Each test creates its own schema on `VOICEBOT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and drops it afterwards. The tests take turns:
//! each loads the two cores on its own.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::phone::*;
use common::*;
use serde_json::{Value, json};

/// The trunk's limits, shared by the three nodes.
const CPS: usize = 60;
const MAX_CONCURRENT: usize = 20;
/// INVITEs spaced 10 % wider than `1/cps`: absorbs 100 ms of bunching between a node's send
/// slot and the phone reading its socket, on a test box whose two cores run three servers,
/// the phone and PostgreSQL (and often a build).
const CPS_MARGIN: f64 = 0.1;

/// One test at a time: three servers, a phone and PostgreSQL already fill two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A fresh PostgreSQL schema, dropped with everything in it when the test ends.
struct Schema {
    rt: tokio::runtime::Runtime,
    server_url: String,
    name: String,
}

impl Schema {
    fn create() -> Schema {
        let server_url = std::env::var("VOICEBOT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let name = format!("fleet_{}", uuid::Uuid::new_v4().simple());
        let schema = Schema { rt, server_url, name };
        schema.admin(&format!("CREATE SCHEMA {}", schema.name));
        schema
    }

    /// The URL the nodes use: the test server, this schema first on the search path.
    fn url(&self) -> String {
        format!("{}?options[search_path]={}", self.server_url, self.name)
    }

    fn admin(&self, sql: &str) {
        self.rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&self.server_url)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {}: {e}", self.server_url));
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await.expect(sql);
            let _ = conn.close().await;
        });
    }

    /// Rows of a query as text columns (integers printed).
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        self.rt.block_on(async {
            use sqlx::{Connection, Row};
            let mut conn = sqlx::PgConnection::connect(&self.url()).await.expect("connect");
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut conn).await.expect(sql);
            let _ = conn.close().await;
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<Option<String>, _>(i).map(|v| v.unwrap_or_default()).unwrap_or_else(
                                |_| r.get::<Option<i64>, _>(i).unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .collect()
        })
    }

    fn number(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].parse().expect("a number")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.admin(&format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

/// Three nodes on one schema, dialing one phone through one trunk.
struct Fleet {
    nodes: Vec<Server>,
    phone: Phone,
    key: String,
    secret: String,
    workflow_id: String,
    // Dropped last: the servers must be gone before the schema is.
    schema: Schema,
}

impl Fleet {
    fn start(extra_toml: &str) -> Fleet {
        let schema = Schema::create();
        let phone =
            Phone::start(json!({"default": {"answer_after_ms": 50, "press": "1", "press_after_ms": 300}}));
        let nodes: Vec<Server> = (1..=3)
            .map(|n| {
                let toml = format!(
                    "database_pool_size = 8\n\
                     [dialing]\nnode = \"node-{n}\"\nwindow_start = \"00:00\"\nwindow_end = \"00:00\"\n\
                     retry_busy_seconds = 1\nretry_no_answer_seconds = 1\nretry_failed_seconds = 1\n\
                     poll_interval_ms = 100\nheartbeat_seconds = 0.25\ndead_after_seconds = 3\n\
                     [[trunks]]\nname = \"phone\"\nuri = \"sip:{}\"\nring_timeout_seconds = 3\n\
                     cps = {CPS}\ncps_margin = {CPS_MARGIN}\nmax_concurrent = {MAX_CONCURRENT}\n{extra_toml}",
                    phone.handle.local_addr()
                );
                Server::start_on(Some(&schema.url()), &toml, "warn")
            })
            .collect();
        let a = nodes[0].create_integrator("Fleet clinic");
        let wf = json!({"name": "quick", "steps": [
            {"gather": {"prompt": "Press 1.", "options": {"1": "yes"}, "timeout_seconds": 2, "attempts": 1}}
        ]});
        let (_, created) = nodes[1].post(&a.key, "/voicebot/v1/workflows", &wf);
        let workflow_id = created["data"]["workflow_id"].as_str().expect("workflow_id").to_string();
        Fleet { nodes, phone, key: a.key, secret: a.secret, workflow_id, schema }
    }

    /// Posts a batch of `n` numbers through node 3; returns its id.
    fn batch(&self, n: usize, max_attempts: u32, callback_url: Option<String>) -> String {
        let rows: Vec<Value> = (0..n).map(|i| json!({"phone_number": format!("+234803{:07}", i)})).collect();
        let mut body = json!({"workflow_id": self.workflow_id, "workflow_params": rows, "retry": {"max_attempts": max_attempts}});
        if let Some(url) = callback_url {
            body["callback_url"] = Value::from(url);
        }
        let (code, resp) = self.nodes[2].post(&self.key, "/voicebot/v1/call", &body);
        assert_eq!(code, 200, "{resp}");
        resp["data"]["batch_id"].as_str().expect("batch_id").to_string()
    }

    /// Waits until the batch is final, reading its row (not the 3,000-call report).
    fn wait_final(&self, batch_id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let status =
                &self.schema.rows(&format!("SELECT status FROM batches WHERE id = '{batch_id}'"))[0][0];
            if status == "COMPLETED" {
                return;
            }
            let logs: Vec<String> = self.nodes.iter().map(Server::log).collect();
            assert!(
                Instant::now() < deadline,
                "batch {status} after {within:?}; logs:\n{}",
                logs.join("\n---\n")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// What the phone saw, polled every few milliseconds (each poll copies the phone's list of
/// Call-IDs, so polling faster would load the phone it measures): for each INVITE, the
/// interval between the poll before it arrived and the poll that saw it, and the most calls
/// live at once.
struct Watch {
    arrivals: Vec<(Instant, Instant)>,
    peak: usize,
}

fn watch_phone(phone: &Phone, stop: &AtomicBool) -> Watch {
    let mut w = Watch { arrivals: Vec::new(), peak: 0 };
    let mut last_poll = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let seen = phone.handle.invites_seen().len();
        let now = Instant::now();
        while w.arrivals.len() < seen {
            w.arrivals.push((last_poll, now));
        }
        w.peak = w.peak.max(phone.handle.active_calls());
        last_poll = now;
        std::thread::sleep(Duration::from_millis(4));
    }
    w
}

impl Watch {
    /// The most INVITEs that certainly arrived within one second: those whose whole arrival
    /// interval lies in a one-second window (a stalled poll widens intervals, never narrows
    /// them, so a stall of this test cannot look like a burst of the dialer).
    fn most_in_one_second(&self) -> usize {
        let mut by_start = self.arrivals.clone();
        by_start.sort();
        (0..by_start.len())
            .map(|i| {
                let from = by_start[i].0;
                by_start[i..]
                    .iter()
                    .filter(|(_, seen)| seen.duration_since(from) < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    /// The same count with every INVITE stamped when the poll saw it (for the log).
    fn most_seen_in_one_second(&self) -> usize {
        let seen: Vec<Instant> = self.arrivals.iter().map(|(_, s)| *s).collect();
        (0..seen.len())
            .map(|i| {
                seen[i..].iter().take_while(|t| t.duration_since(seen[i]) < Duration::from_secs(1)).count()
            })
            .max()
            .unwrap_or(0)
    }
}

/// Every Call-ID the phone saw belongs to one attempt row, and no call was INVITEd under a
/// Call-ID twice (a record per Call-ID; retransmissions of one INVITE share it).
fn assert_no_call_id_reused(fleet: &Fleet) -> HashMap<String, String> {
    let attempts: HashMap<String, String> = fleet
        .schema
        .rows("SELECT sip_call_id, call_id FROM attempts")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let seen = fleet.phone.handle.invites_seen();
    let unique: HashSet<&String> = seen.iter().map(|(id, _)| id).collect();
    assert_eq!(unique.len(), seen.len(), "a Call-ID arrived as two calls");
    for (call_id, datagrams) in &seen {
        assert!(attempts.contains_key(call_id), "the phone got an INVITE ({call_id}) with no attempt row");
        assert!(*datagrams <= 7, "{call_id}: {datagrams} INVITE datagrams");
    }
    let records = fleet.phone.handle.records();
    let recorded: HashSet<&String> = records.iter().map(|r| &r.call_id).collect();
    assert_eq!(recorded.len(), records.len(), "a Call-ID was answered twice");
    attempts
}

#[test]
fn three_nodes_share_a_batch_within_fleet_wide_limits() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let fleet = Fleet::start("");
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (batch_id, watch) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_phone(&fleet.phone, &stop));
        let batch_id = fleet.batch(3000, 1, None);
        fleet.wait_final(&batch_id, Duration::from_secs(150));
        stop.store(true, Ordering::SeqCst);
        (batch_id, watcher.join().expect("watcher"))
    });
    let elapsed = started.elapsed();
    let s = &fleet.schema;

    // Every call final exactly once: completed, one attempt, one answered INVITE at the phone.
    let statuses =
        s.rows(&format!("SELECT status, COUNT(*) FROM calls WHERE batch_id = '{batch_id}' GROUP BY status"));
    assert_eq!(statuses, [["COMPLETED".to_string(), "3000".to_string()]], "{statuses:?}");
    assert_eq!(s.number("SELECT COUNT(*) FROM attempts"), 3000, "one attempt per call");
    assert_eq!(s.number("SELECT COUNT(DISTINCT call_id) FROM attempts WHERE outcome = 'ANSWERED'"), 3000);
    assert_no_call_id_reused(&fleet);
    assert_eq!(fleet.phone.handle.invites_seen().len(), 3000);
    let (code, report) = fleet.nodes[0].get(&fleet.key, &format!("/voicebot/v1/batch/{batch_id}"));
    assert_eq!(code, 200);
    assert_eq!(report["data"]["stats"]["completed_calls"], 3000, "{}", report["data"]["stats"]);

    // Work spread over the nodes.
    let per_node: HashMap<String, i64> = s
        .rows("SELECT node, COUNT(*) FROM attempts GROUP BY node")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().expect("count")))
        .collect();
    for node in ["node-1", "node-2", "node-3"] {
        assert!(per_node.get(node).copied().unwrap_or(0) > 0, "{node} dialed nothing: {per_node:?}");
    }

    // The trunk's limits held fleet-wide, as the phone saw it.
    if let Ok(path) = std::env::var("FLEET_DUMP") {
        let t0 = watch.arrivals[0].0;
        let lines: Vec<String> = watch
            .arrivals
            .iter()
            .map(|(a, b)| {
                format!("{} {}", a.duration_since(t0).as_micros(), b.duration_since(t0).as_micros())
            })
            .collect();
        std::fs::write(path, lines.join("\n")).unwrap();
    }
    let most = watch.most_in_one_second();
    assert!(most <= CPS, "{most} INVITEs reached the phone within one second at cps = {CPS}");
    assert!(
        watch.peak <= MAX_CONCURRENT,
        "{} calls live at the phone, max_concurrent = {MAX_CONCURRENT}",
        watch.peak
    );
    eprintln!(
        "3,000 calls on 3 nodes in {:.1} s ({:.1} calls/s): per node {per_node:?}; at the phone at most \
         {most} INVITEs in one second ({} by poll time), {} calls live at once",
        elapsed.as_secs_f64(),
        3000.0 / elapsed.as_secs_f64(),
        watch.most_seen_in_one_second(),
        watch.peak
    );
}

#[test]
fn kill_9_of_one_node_is_taken_over_by_the_others() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut fleet = Fleet::start(&fast_callbacks_toml("[0, 0.5, 0.5]"));
    let receiver = Receiver::start(&fleet.secret, "200");
    let stop = AtomicBool::new(false);
    let calls = 900;
    let (batch_id, watch) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_phone(&fleet.phone, &stop));
        let batch_id = fleet.batch(calls, 3, Some(receiver.url()));
        // Mid-batch, with calls of every node live at the phone.
        let deadline = Instant::now() + Duration::from_secs(60);
        while fleet.phone.handle.invites_seen().len() < calls / 3 {
            assert!(Instant::now() < deadline, "the batch did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        fleet.nodes[0].kill9();
        let killed_at = Instant::now();
        fleet.wait_final(&batch_id, Duration::from_secs(90));
        eprintln!("batch final {:.1} s after the kill", killed_at.elapsed().as_secs_f64());
        stop.store(true, Ordering::SeqCst);
        (batch_id, watcher.join().expect("watcher"))
    });
    let s = &fleet.schema;

    // The others finished the batch: every call completed within max_attempts.
    let statuses =
        s.rows(&format!("SELECT status, COUNT(*) FROM calls WHERE batch_id = '{batch_id}' GROUP BY status"));
    assert_eq!(statuses, [["COMPLETED".to_string(), calls.to_string()]], "{statuses:?}");
    assert_eq!(s.number("SELECT COUNT(*) FROM calls WHERE attempts > 3"), 0);
    let most_rows = "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM attempts GROUP BY call_id) t";
    assert!(s.number(most_rows) <= 3, "a call had more attempt rows than max_attempts");

    // The killed node's open attempts were interrupted by heartbeat (its leases are minutes
    // long; the batch ended in seconds), and each interrupted call was dialed again, anew.
    let interrupted = s.rows(
        "SELECT a.call_id, a.node, a.ended_at - a.started_at FROM attempts a WHERE a.outcome = 'INTERRUPTED'",
    );
    assert!(!interrupted.is_empty(), "no attempt of the killed node was live at the kill");
    for r in &interrupted {
        assert_eq!(r[1], "node-1", "only the killed node's attempts are interrupted: {r:?}");
        let after_ms = r[2].parse::<i64>().expect("duration") / 1000;
        assert!(after_ms < 30_000, "interrupted {after_ms} ms after it started: by lease, not heartbeat");
        let later = s.number(&format!(
            "SELECT COUNT(*) FROM attempts WHERE call_id = '{}' AND outcome = 'ANSWERED' AND node <> 'node-1'",
            r[0]
        ));
        assert_eq!(later, 1, "interrupted call {} was not completed by another node", r[0]);
    }
    let attempts = assert_no_call_id_reused(&fleet);
    // An attempt row without an INVITE can only be one the killed node committed and never sent.
    let seen: HashSet<String> = fleet.phone.handle.invites_seen().into_iter().map(|(id, _)| id).collect();
    let interrupted_ids: HashSet<String> = s
        .rows("SELECT sip_call_id FROM attempts WHERE outcome = 'INTERRUPTED' AND node = 'node-1'")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for sip_call_id in attempts.keys().filter(|id| !seen.contains(*id)) {
        assert!(interrupted_ids.contains(sip_call_id), "attempt {sip_call_id} never reached the phone");
    }
    assert!(watch.most_in_one_second() <= CPS, "cps exceeded around the kill");

    // Exactly one completion callback.
    receiver.wait_for(1, 30);
    std::thread::sleep(Duration::from_secs(2));
    let got = receiver.requests();
    assert_eq!(got.len(), 1, "callbacks: {got:?}");
    assert_eq!(
        s.number(&format!(
            "SELECT COUNT(*) FROM callback_outbox WHERE batch_id = '{batch_id}' AND state = 'DELIVERED'"
        )),
        1
    );
    eprintln!(
        "kill -9 mid-batch: {} attempts interrupted and retried elsewhere, {} attempts for {calls} calls, \
         at most {} INVITEs in one second",
        interrupted.len(),
        attempts.len(),
        watch.most_in_one_second()
    );
}
