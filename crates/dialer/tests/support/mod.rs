//! Test doubles of the telephony and TTS sides (never of the store: that is real SQLite).
//!
//! [`Phones`] is a scripted in-process placer: each dialed number behaves as its script says
//! (answer and press, busy, ring forever, ...), and every placement is logged with its
//! SIP Call-ID, time and the call's attempt count as committed when the INVITE "left".

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use voicebot_dialer::*;
use voicebot_store::{NewBatch, NewCall, SqliteStore, Store};

/// How a number behaves.
#[derive(Debug, Clone)]
pub enum Script {
    /// Answers after `after`; presses `press` that long after answering.
    Answer { after: Duration, press: Option<(Duration, char)> },
    /// Final failure right away.
    Reject(Outcome, u16),
    /// Rings until the ring timeout (the driver then reports no answer).
    RingForever,
}

/// One INVITE as the phone saw it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub number: String,
    pub sip_call_id: String,
    pub at: Instant,
    /// The call's `attempts` as read from the store when `place` was called.
    pub attempts_committed: u32,
}

enum Cmd {
    Play(usize),
    Stop,
    Hangup,
}

/// The scripted placer.
pub struct Phones {
    pub store: Arc<dyn Store>,
    pub scripts: HashMap<String, Script>,
    pub placed: Mutex<Vec<Placed>>,
    pub live: Arc<AtomicU32>,
    pub max_live: Arc<AtomicU32>,
    /// Every prompt handed to a session: when, and how many samples.
    pub plays: Arc<Mutex<Vec<(Instant, usize)>>>,
}

impl Phones {
    pub fn new(store: Arc<dyn Store>, scripts: &[(&str, Script)]) -> Arc<Self> {
        Arc::new(Phones {
            store,
            scripts: scripts.iter().map(|(n, s)| (n.to_string(), s.clone())).collect(),
            placed: Mutex::new(Vec::new()),
            live: Arc::new(AtomicU32::new(0)),
            max_live: Arc::new(AtomicU32::new(0)),
            plays: Arc::new(Mutex::new(Vec::new())),
        })
    }

    pub fn placed(&self) -> Vec<Placed> {
        self.placed.lock().unwrap().clone()
    }

    pub fn placed_for(&self, number: &str) -> usize {
        self.placed().iter().filter(|p| p.number == number).count()
    }
}

struct Session {
    cmds: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<CallEvent>,
    plays: Arc<Mutex<Vec<(Instant, usize)>>>,
}

#[async_trait]
impl CallSession for Session {
    async fn next_event(&mut self) -> Option<CallEvent> {
        self.events.recv().await
    }
    fn play(&mut self, pcm: Audio) {
        self.plays.lock().unwrap().push((Instant::now(), pcm.len()));
        let _ = self.cmds.send(Cmd::Play(pcm.len()));
    }
    fn stop_playback(&mut self) {
        let _ = self.cmds.send(Cmd::Stop);
    }
    fn hangup(&mut self) {
        let _ = self.cmds.send(Cmd::Hangup);
    }
}

#[async_trait]
impl CallPlacer for Phones {
    async fn place(&self, req: PlaceRequest) -> Result<Box<dyn CallSession>, PlaceError> {
        let at = Instant::now();
        let call = self.store.get_call("int-1", &req.call_id).await.unwrap().unwrap();
        self.placed.lock().unwrap().push(Placed {
            number: req.phone_number.clone(),
            sip_call_id: req.sip_call_id.clone(),
            at,
            attempts_committed: call.attempts,
        });
        let script = self.scripts.get(&req.phone_number).cloned().unwrap_or(Script::Answer {
            after: Duration::from_millis(20),
            press: Some((Duration::from_millis(30), '1')),
        });
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let n = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_live.fetch_max(n, Ordering::SeqCst);
        let live = self.live.clone();
        tokio::spawn(async move {
            phone(script, req.ring_timeout, cmd_rx, ev_tx).await;
            live.fetch_sub(1, Ordering::SeqCst);
        });
        Ok(Box::new(Session { cmds: cmd_tx, events: ev_rx, plays: self.plays.clone() }))
    }
}

/// One phone's behaviour for one call.
async fn phone(
    script: Script,
    ring_timeout: Duration,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::UnboundedSender<CallEvent>,
) {
    let end = |outcome, code| CallEvent::Ended { outcome, sip_code: Some(code) };
    let (after, mut press) = match script {
        Script::Reject(outcome, code) => {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = events.send(end(outcome, code));
            return;
        }
        Script::RingForever => {
            let _ = events.send(CallEvent::Ringing);
            tokio::select! {
                _ = tokio::time::sleep(ring_timeout) => {}
                _ = cmds.recv() => {}
            }
            let _ = events.send(end(Outcome::NoAnswer, 487));
            return;
        }
        Script::Answer { after, press } => (after, press),
    };
    tokio::time::sleep(after).await;
    let answered = Instant::now();
    let _ = events.send(CallEvent::Answered);
    let far = answered + Duration::from_secs(3600);
    let mut playback_end: Option<Instant> = None;
    loop {
        let press_at = press.map_or(far, |(d, _)| answered + d);
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Play(samples)) => {
                    let len = Duration::from_micros(samples as u64 * 125);
                    playback_end = Some(playback_end.unwrap_or_else(Instant::now).max(Instant::now()) + len);
                }
                Some(Cmd::Stop) => {
                    // Worst case of a real driver: the stopped prompt's finish was already
                    // queued when the stop arrived.
                    if playback_end.take().is_some() {
                        let _ = events.send(CallEvent::PlaybackFinished);
                    }
                }
                Some(Cmd::Hangup) | None => {
                    let _ = events.send(end(Outcome::Answered, 200));
                    return;
                }
            },
            _ = sleep_until(playback_end.unwrap_or(far)) => {
                playback_end = None;
                let _ = events.send(CallEvent::PlaybackFinished);
            }
            _ = sleep_until(press_at) => {
                let digit = press.take().map(|(_, d)| d).unwrap_or('#');
                let _ = events.send(CallEvent::Digit(digit));
            }
        }
    }
}

/// Renders 1 ms of silence per character; fails on texts containing "FAIL".
#[derive(Default)]
pub struct Voices {
    pub rendered: Mutex<Vec<String>>,
}

#[async_trait]
impl PromptRenderer for Voices {
    async fn render(&self, text: &str, _voice: &Voice) -> Result<Audio, RenderError> {
        if text.contains("FAIL") {
            return Err(RenderError::Engine("engine crashed".into()));
        }
        self.rendered.lock().unwrap().push(text.to_string());
        Ok(vec![0xFFu8; text.chars().count() * 8].into())
    }
    async fn audio(&self, id: &str) -> Result<Audio, RenderError> {
        Err(RenderError::UnknownAudio(id.into()))
    }
    fn played_ref(&self, prompt: &voicebot_workflow::Prompt, _voice: &Voice) -> Option<String> {
        match prompt {
            voicebot_workflow::Prompt::Text(text) => Some(format!("said:{text}")),
            voicebot_workflow::Prompt::Audio(_) => None,
        }
    }
}

/// Wall clock anchored at `base`, moving with real time, jumpable by tests.
pub struct TestClock {
    base: DateTime<Utc>,
    start: std::time::Instant,
    jump: AtomicI64,
}

impl TestClock {
    pub fn at(rfc3339: &str) -> Arc<Self> {
        Arc::new(TestClock {
            base: DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc),
            start: std::time::Instant::now(),
            jump: AtomicI64::new(0),
        })
    }

    /// Moves the clock forward.
    pub fn jump(&self, by: Duration) {
        self.jump.fetch_add(by.as_micros() as i64, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.base
            + chrono::Duration::from_std(self.start.elapsed()).unwrap()
            + chrono::Duration::microseconds(self.jump.load(Ordering::SeqCst))
    }
}

/// A real SQLite store in a temp dir, with one integrator.
pub struct Db {
    pub _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
}

pub async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let i = voicebot_store::Integrator {
        id: "int-1".into(),
        name: "Clinic".into(),
        callback_url: None,
        signing_secret: "whsec_x".into(),
        previous_signing_secret: None,
        previous_secret_expires_at: None,
        created_at: 0,
        default_country: None,
    };
    store.create_integrator(&i, "hash").await.unwrap();
    Db { _dir: dir, store: Arc::new(store) }
}

/// The appointment reminder: say, gather 1/2 (1 s silence, 1 prompt), thank.
pub fn reminder() -> serde_json::Value {
    serde_json::json!({"name": "r", "opt_out_digit": "9", "steps": [
        {"say": "Hello {{name}}."},
        {"gather": {"prompt": "Press 1 or 2.", "options": {"1": "a", "2": "b"},
                    "timeout_seconds": 1, "attempts": 1}},
        {"say": "Bye."}
    ]})
}

/// Stores a batch of `phones` (name variable = "Ada") created at `now`.
pub async fn batch(
    store: &Arc<dyn Store>,
    id: &str,
    workflow: serde_json::Value,
    phones: &[(&str, &str)],
    max_attempts: u32,
    now: i64,
) {
    let wf = voicebot_workflow::parse_workflow(&workflow).unwrap();
    let calls = phones
        .iter()
        .enumerate()
        .map(|(n, (p, name))| NewCall {
            id: format!("{id}-c{n}"),
            phone_number: p.to_string(),
            user_tag_identifiers: "{}".into(),
            workflow_variables: serde_json::json!({"name": name}).to_string(),
        })
        .collect();
    let b = NewBatch {
        id: id.into(),
        integrator_id: "int-1".into(),
        workflow_id: "wf".into(),
        workflow: serde_json::to_string(&wf).unwrap(),
        tts_voice_accent: "english".into(),
        tts_voice_gender: "female".into(),
        callback_url: None,
        caller_id: None,
        not_before: None,
        not_after: None,
        max_attempts,
        backoff_seconds: Some(0),
        created_at: now,
        idempotency: None,
        calls,
        name: None,
    };
    store.create_batch(&b).await.unwrap();
}

/// A fast config: one trunk, short ring timeout, quick polling.
pub fn config(node: &str, cps: f64, max_concurrent: u32) -> DialerConfig {
    let mut trunk = TrunkConfig::new("main");
    trunk.cps = cps;
    trunk.max_concurrent = max_concurrent;
    trunk.ring_timeout = Duration::from_millis(200);
    let mut c = DialerConfig::new(node, trunk);
    c.poll_interval = Duration::from_millis(20);
    c.hangup_grace = Duration::from_millis(300);
    c
}

/// Waits (at most 10 s) until every call of the batch is final.
pub async fn until_final(store: &Arc<dyn Store>, batch_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = store.batch_progress(batch_id).await.unwrap();
        if p.total > 0 && p.finished() == p.total {
            return;
        }
        assert!(Instant::now() < deadline, "batch {batch_id} not final: {p:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
