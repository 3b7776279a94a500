//! The dialer loop end to end against a real SQLite store and a scripted placer.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use support::*;
use tokio::sync::oneshot;
use voicebot_dialer::*;
use voicebot_store::{BatchStatus, CallStatus, ClaimRequest, NewAttempt, Store};

const NOON: &str = "2026-03-02T12:00:00Z"; // 13:00 in Lagos: inside the window

struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), DialerError>>,
}

fn start(
    config: DialerConfig,
    store: &Arc<dyn Store>,
    phones: &Arc<Phones>,
    voices: Arc<Voices>,
    clock: Arc<dyn Clock>,
) -> Running {
    let dialer = Dialer::new(config, store.clone(), phones.clone(), voices, clock);
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        dialer
            .run(async {
                let _ = rx.await;
            })
            .await
    });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task).await.unwrap().unwrap().unwrap();
    }
}

async fn call(store: &Arc<dyn Store>, id: &str) -> voicebot_store::CallRow {
    store.get_call("int-1", id).await.unwrap().unwrap()
}

/// The calls among `ids` that the phones saw, and those they did not.
async fn split(
    store: &Arc<dyn Store>,
    phones: &Phones,
    ids: &[&str],
) -> (Vec<voicebot_store::CallRow>, Vec<voicebot_store::CallRow>) {
    let mut calls = Vec::new();
    for id in ids {
        calls.push(call(store, id).await);
    }
    calls.into_iter().partition(|c| phones.placed_for(&c.phone_number) > 0)
}

#[tokio::test]
async fn answered_call_speaks_and_records_the_selection() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    batch(&db.store, "b1", reminder(), &[("+2348000000001", "Ada")], 3, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &[]);
    let voices = Arc::new(Voices::default());
    let run = start(config("n1", 10.0, 5), &db.store, &phones, voices.clone(), clock);
    until_final(&db.store, "b1").await;
    run.stop().await;
    let c = call(&db.store, "b1-c0").await;
    assert_eq!(c.status, CallStatus::Completed);
    assert_eq!(
        (c.options_selected.as_deref(), c.attempts, c.outcome.as_deref()),
        (Some("1"), 1, Some("ANSWERED"))
    );
    // The attempt keeps the digits pressed and, in order, the names of the prompts it played.
    let attempts = db.store.call_attempts("int-1", "b1-c0").await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].digits, "1");
    let played = &attempts[0].played;
    assert_eq!(
        (played.first().map(String::as_str), played.last().map(String::as_str)),
        (Some("said:Hello Ada."), Some("said:Bye.")),
        "{played:?}"
    );
    let placed = phones.placed();
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].attempts_committed, 1, "attempt committed before the INVITE");
    assert!(voices.rendered.lock().unwrap().contains(&"Hello Ada.".to_string()));
    let b = db.store.get_batch("int-1", "b1").await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::Completed);
}

#[tokio::test]
async fn mixed_batch_gives_exact_final_statuses() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let ms = Duration::from_millis;
    let scripts = [
        ("+2348000000001", Script::Answer { after: ms(10), press: Some((ms(20), '1')) }),
        ("+2348000000002", Script::Answer { after: ms(10), press: Some((ms(20), '2')) }),
        ("+2348000000003", Script::Answer { after: ms(10), press: None }),
        ("+2348000000004", Script::Reject(Outcome::Busy, 486)),
        ("+2348000000005", Script::RingForever),
        ("+2348000000006", Script::Reject(Outcome::InvalidNumber, 404)),
    ];
    let phones_list: Vec<(&str, &str)> = scripts.iter().map(|(n, _)| (*n, "Ada")).collect();
    batch(&db.store, "b1", reminder(), &phones_list, 2, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &scripts);
    let run = start(config("n1", 50.0, 10), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    run.stop().await;
    let expect = [
        (CallStatus::Completed, Some("1"), 1),
        (CallStatus::Completed, Some("2"), 1),
        (CallStatus::Completed, None, 1),
        (CallStatus::Failed, None, 2),
        (CallStatus::Timeout, None, 2),
        (CallStatus::Failed, None, 1),
    ];
    for (n, (status, selected, attempts)) in expect.into_iter().enumerate() {
        let c = call(&db.store, &format!("b1-c{n}")).await;
        assert_eq!(
            (c.status, c.options_selected.as_deref(), c.attempts),
            (status, selected, attempts),
            "call {n}"
        );
        assert_eq!(phones.placed_for(&c.phone_number), attempts as usize, "INVITEs for call {n}");
    }
    let ids: HashSet<String> = phones.placed().into_iter().map(|p| p.sip_call_id).collect();
    assert_eq!(ids.len(), 8, "a distinct Call-ID per attempt");
    assert_eq!(db.store.get_batch("int-1", "b1").await.unwrap().unwrap().status, BatchStatus::Completed);
}

#[tokio::test]
async fn cps_and_concurrency_limits_hold() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let numbers: Vec<String> = (0..12).map(|i| format!("+23480000001{i:02}")).collect();
    let list: Vec<(&str, &str)> = numbers.iter().map(|n| (n.as_str(), "Ada")).collect();
    let scripts: Vec<(&str, Script)> = numbers
        .iter()
        .map(|n| (n.as_str(), Script::Answer { after: Duration::from_millis(30), press: None }))
        .collect();
    let say =
        serde_json::json!({"name": "s", "steps": [{"say": "A short prompt of about forty characters"}]});
    batch(&db.store, "b1", say, &list, 1, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &scripts);
    let run = start(config("n1", 20.0, 3), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    run.stop().await;
    let placed = phones.placed();
    assert_eq!(placed.len(), 12);
    assert!(phones.max_live.load(std::sync::atomic::Ordering::SeqCst) <= 3, "max concurrent");
    let mut times: Vec<_> = placed.iter().map(|p| p.at).collect();
    times.sort();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_millis(49), "INVITEs {:?} apart at 20 CPS", w[1] - w[0]);
    }
}

#[tokio::test]
async fn do_not_call_and_tts_failure_are_never_dialed() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let list = [("+2348000000001", "Ada"), ("+2348000000002", "FAIL"), ("+2348000000003", "Bo")];
    batch(&db.store, "b1", reminder(), &list, 3, clock.now_micros()).await;
    db.store.add_do_not_call("int-1", "+2348000000001", "api", clock.now_micros()).await.unwrap();
    let phones = Phones::new(db.store.clone(), &[]);
    let run = start(config("n1", 10.0, 5), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    run.stop().await;
    let c0 = call(&db.store, "b1-c0").await;
    assert_eq!(
        (c0.status, c0.reason.as_deref(), c0.attempts),
        (CallStatus::Failed, Some(reason::DO_NOT_CALL), 0)
    );
    let c1 = call(&db.store, "b1-c1").await;
    assert_eq!(
        (c1.status, c1.reason.as_deref(), c1.attempts),
        (CallStatus::Failed, Some(reason::TTS_FAILED), 0)
    );
    assert_eq!(call(&db.store, "b1-c2").await.status, CallStatus::Completed);
    assert_eq!(phones.placed().len(), 1, "only the third number rang");
}

#[tokio::test]
async fn opt_out_digit_adds_the_number_to_the_list() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    batch(&db.store, "b1", reminder(), &[("+2348000000001", "Ada")], 3, clock.now_micros()).await;
    let ms = Duration::from_millis;
    let scripts = [("+2348000000001", Script::Answer { after: ms(10), press: Some((ms(5), '9')) })];
    let phones = Phones::new(db.store.clone(), &scripts);
    let run = start(config("n1", 10.0, 5), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    run.stop().await;
    let c = call(&db.store, "b1-c0").await;
    assert_eq!((c.status, c.options_selected), (CallStatus::Completed, None));
    let dnc = db.store.list_do_not_call("int-1").await.unwrap();
    assert_eq!(dnc.iter().map(|d| d.phone_number.as_str()).collect::<Vec<_>>(), ["+2348000000001"]);
}

#[tokio::test]
async fn outside_the_window_waits_then_dials_when_it_opens() {
    let db = db().await;
    // 02:00 UTC = 03:00 in Lagos; the window opens at 07:00 UTC.
    let clock = TestClock::at("2026-03-02T02:00:00Z");
    batch(&db.store, "b1", reminder(), &[("+2348000000001", "Ada")], 3, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &[]);
    let run = start(config("n1", 10.0, 5), &db.store, &phones, Arc::new(Voices::default()), clock.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = call(&db.store, "b1-c0").await;
    assert_eq!((c.status, c.attempts), (CallStatus::Queued, 0), "waits, not dropped");
    assert_eq!(
        c.next_attempt_at,
        chrono::DateTime::parse_from_rfc3339("2026-03-02T07:00:00Z").unwrap().timestamp_micros()
    );
    assert!(phones.placed().is_empty());
    clock.jump(Duration::from_secs(5 * 3600));
    until_final(&db.store, "b1").await;
    run.stop().await;
    assert_eq!(call(&db.store, "b1-c0").await.status, CallStatus::Completed);
}

#[tokio::test]
async fn restart_counts_interrupted_attempts_and_never_exceeds_max() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let now = clock.now_micros();
    batch(&db.store, "b1", reminder(), &[("+2348000000001", "Ada")], 2, now).await;
    batch(&db.store, "b2", reminder(), &[("+2348000000002", "Bo")], 1, now).await;
    // A previous run of node n1 claimed both calls and committed an attempt for each, then died.
    let claim = ClaimRequest { node: "n1".into(), now, lease_until: now + 3_600_000_000, limit: 10 };
    assert_eq!(db.store.claim_due_calls(&claim).await.unwrap().len(), 2);
    for id in ["b1-c0", "b2-c0"] {
        let a = NewAttempt {
            id: format!("{id}-old"),
            call_id: id.into(),
            sip_call_id: format!("{id}-old-sip"),
            trunk: "main".into(),
            node: "n1".into(),
            started_at: now,
            lease_until: now + 3_600_000_000,
            max_concurrent: None,
        };
        db.store.begin_attempt(&a).await.unwrap();
    }
    let phones = Phones::new(db.store.clone(), &[]);
    let run = start(config("n1", 10.0, 5), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    until_final(&db.store, "b2").await;
    run.stop().await;
    let c1 = call(&db.store, "b1-c0").await;
    assert_eq!((c1.status, c1.attempts), (CallStatus::Completed, 2), "interrupted attempt counted");
    let c2 = call(&db.store, "b2-c0").await;
    assert_eq!((c2.status, c2.attempts, c2.reason.as_deref()), (CallStatus::Failed, 1, Some("interrupted")));
    assert_eq!(phones.placed_for("+2348000000001"), 1);
    assert_eq!(phones.placed_for("+2348000000002"), 0, "never re-dialed past max_attempts");
    assert!(phones.placed().iter().all(|p| !p.sip_call_id.ends_with("-old-sip")));
}

#[tokio::test]
async fn drain_lets_live_calls_finish_and_requeues_the_rest() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let say = serde_json::json!({"name": "s", "steps": [{"say": "x".repeat(300)}]}); // 300 ms prompt
    let list = [("+2348000000001", "Ada"), ("+2348000000002", "Bo")];
    batch(&db.store, "b1", say, &list, 3, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &[]);
    // One INVITE per 2 s: the second call is still waiting for its token when we stop.
    let run = start(config("n1", 0.5, 5), &db.store, &phones, Arc::new(Voices::default()), clock);
    while phones.placed().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run.stop().await;
    // Both calls raced for the first token; either may have won it.
    let (live, waiting) = split(&db.store, &phones, &["b1-c0", "b1-c1"]).await;
    assert_eq!(live[0].status, CallStatus::Completed, "live call finished");
    assert_eq!(
        (waiting[0].status, waiting[0].attempts),
        (CallStatus::Queued, 0),
        "undialed call back in the queue"
    );
    assert_eq!(phones.placed().len(), 1);
}

#[tokio::test]
async fn cancel_stops_calls_not_yet_dialed() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let say = serde_json::json!({"name": "s", "steps": [{"say": "x".repeat(200)}]});
    let list = [("+2348000000001", "Ada"), ("+2348000000002", "Bo"), ("+2348000000003", "Cy")];
    batch(&db.store, "b1", say, &list, 3, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &[]);
    // One INVITE per 2 s: the others are claimed or queued when the integrator cancels.
    let run = start(config("n1", 0.5, 2), &db.store, &phones, Arc::new(Voices::default()), clock.clone());
    while phones.placed().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    db.store.cancel_batch("int-1", "b1", clock.now_micros()).await.unwrap();
    until_final(&db.store, "b1").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    run.stop().await;
    let (live, waiting) = split(&db.store, &phones, &["b1-c0", "b1-c1", "b1-c2"]).await;
    assert_eq!(live[0].status, CallStatus::Completed, "the live call finishes");
    for c in waiting {
        assert_eq!((c.status, c.attempts), (CallStatus::Cancelled, 0), "{}", c.id);
    }
    assert_eq!(phones.placed().len(), 1);
    assert_eq!(db.store.get_batch("int-1", "b1").await.unwrap().unwrap().status, BatchStatus::Cancelled);
}

#[tokio::test]
async fn two_nodes_on_one_database_never_dial_a_call_twice() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let numbers: Vec<String> = (0..10).map(|i| format!("+23480000002{i:02}")).collect();
    let list: Vec<(&str, &str)> = numbers.iter().map(|n| (n.as_str(), "Ada")).collect();
    batch(&db.store, "b1", reminder(), &list, 3, clock.now_micros()).await;
    let phones = Phones::new(db.store.clone(), &[]);
    let a = start(config("n1", 50.0, 4), &db.store, &phones, Arc::new(Voices::default()), clock.clone());
    let b = start(config("n2", 50.0, 4), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    a.stop().await;
    b.stop().await;
    for n in &numbers {
        assert_eq!(phones.placed_for(n), 1, "{n}");
    }
    let p = db.store.batch_progress("b1").await.unwrap();
    assert_eq!(p.completed, 10);
}

#[tokio::test]
async fn finish_of_a_stopped_prompt_does_not_skip_the_next_one() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let wf = serde_json::json!({"name": "s", "steps": [
        {"say": "s".repeat(400)},
        {"say": "t".repeat(400)},
        {"gather": {"prompt": "Press 1", "options": {"1": "a"}, "timeout_seconds": 1, "attempts": 1}}
    ]});
    batch(&db.store, "b1", wf, &[("+2348000000001", "Ada")], 1, clock.now_micros()).await;
    let ms = Duration::from_millis;
    // '5' during the first say: barge-in moves on to the second say.
    let scripts = [("+2348000000001", Script::Answer { after: ms(10), press: Some((ms(100), '5')) })];
    let phones = Phones::new(db.store.clone(), &scripts);
    let run = start(config("n1", 10.0, 5), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    run.stop().await;
    let plays = phones.plays.lock().unwrap().clone();
    assert_eq!(plays.iter().map(|p| p.1).collect::<Vec<_>>(), [3200, 3200, 56]);
    assert!(
        plays[2].0 - plays[1].0 >= ms(350),
        "second say played to its end: {:?}",
        plays[2].0 - plays[1].0
    );
    assert_eq!(call(&db.store, "b1-c0").await.status, CallStatus::Completed);
}

#[tokio::test]
async fn two_nodes_share_the_trunks_max_concurrent() {
    let db = db().await;
    let clock = TestClock::at(NOON);
    let numbers: Vec<String> = (0..16).map(|i| format!("+23480000003{i:02}")).collect();
    let list: Vec<(&str, &str)> = numbers.iter().map(|n| (n.as_str(), "Ada")).collect();
    // Nobody presses: each call waits out the gather's 1 s timeout.
    let wait = serde_json::json!({"name": "w", "steps": [
        {"gather": {"prompt": "Press 1.", "options": {"1": "a"}, "timeout_seconds": 1, "attempts": 1}}
    ]});
    batch(&db.store, "b1", wait, &list, 1, clock.now_micros()).await;
    let silent: Vec<(&str, Script)> = numbers
        .iter()
        .map(|n| (n.as_str(), Script::Answer { after: Duration::from_millis(20), press: None }))
        .collect();
    let phones = Phones::new(db.store.clone(), &silent);
    // Each node alone could run 4 calls: together they may not.
    let a = start(config("n1", 20.0, 4), &db.store, &phones, Arc::new(Voices::default()), clock.clone());
    let b = start(config("n2", 20.0, 4), &db.store, &phones, Arc::new(Voices::default()), clock);
    until_final(&db.store, "b1").await;
    a.stop().await;
    b.stop().await;
    let most = phones.max_live.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= 4, "{most} calls live on a trunk of 4 shared by two nodes");
    assert_eq!(phones.placed().len(), 16);
}
