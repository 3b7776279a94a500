//! Endpoint behaviour against the virtual phone: playback queue and barge-in, `shutdown` hanging up every
//! call, duplicate Call-IDs refused.

mod common;

use std::time::Duration;

use common::*;
use voicebot_telephony::phone::{self, PhoneConfig, Script};
use voicebot_telephony::{CallEvent, CallRequest, EndReason, Outcome, TelephonyError};

async fn quiet_phone() -> phone::PhoneHandle {
    let mut cfg = PhoneConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.script = Script::from_json(r#"{"default": {"answer_after_ms": 50, "press": null}}"#).unwrap();
    cfg.log_stdout = false;
    phone::run(cfg).await.expect("phone")
}

async fn next(call: &mut voicebot_telephony::CallHandle) -> CallEvent {
    tokio::time::timeout(CALL_LIMIT, call.next_event()).await.expect("event in time").expect("event")
}

#[tokio::test]
async fn playback_finishes_barge_in_stops_and_shutdown_hangs_up_everything() {
    let phone = quiet_phone().await;
    let tel = uac().await;
    let mut calls = Vec::new();
    for _ in 0..3 {
        calls.push(place(&tel, trunk(phone.local_addr()), "+2348000000001").await);
    }
    for call in &mut calls {
        while !matches!(next(call).await, CallEvent::Answered { .. }) {}
    }
    assert_eq!(tel.active_calls(), 3);
    // Call 0: a short prompt finishes. Call 1: a long prompt is cut (no PlaybackFinished), then a short one
    // plays to its end.
    calls[0].play(tone(0.2));
    assert_eq!(next(&mut calls[0]).await, CallEvent::PlaybackFinished);
    let control = calls[1].control();
    control.play(tone(30.0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    control.stop_playback();
    control.play(tone(0.1));
    assert_eq!(next(&mut calls[1]).await, CallEvent::PlaybackFinished);
    let dup = tel
        .place_call(CallRequest::new(calls[2].call_id(), "+2348000000001", trunk(phone.local_addr())))
        .await;
    assert!(matches!(dup, Err(TelephonyError::DuplicateCallId(_))), "{dup:?}");

    tel.shutdown().await;
    for call in &mut calls {
        let events = collect(call, |_, _| {}).await;
        assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}");
    }
    assert_eq!(tel.active_calls(), 0);
    assert!(tel.media_stats().packets_sent > 0);
    let records = phone.wait_records(3, CALL_LIMIT).await.expect("records");
    assert!(records.iter().all(|r| r.end_reason == "RemoteHangup" && r.rtp_packets > 0), "{records:?}");
    phone.shutdown().await;
}
