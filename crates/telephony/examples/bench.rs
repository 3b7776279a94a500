//! Telephony benchmark (run by scripts/bench-telephony.sh, release build, 127.0.0.1 only).
//!
//! - `bench concurrent <calls> <hold_secs>`: our UAC calls the in-process virtual phone `calls` times, every
//!   answered call plays a shared prompt (RTP both ways: the phone sends comfort silence), then for
//!   `hold_secs` counts our media clock's packets and how many left more than 5 ms late (skipped frames
//!   count as late), plus the process CPU time. Prints one JSON line. `RTP_SOCKET=shared|per_call`
//!   (default per_call) sets the RTP socket mode of both our UAC and the phone; `MEDIA_PRIORITY=N` runs
//!   both media clock threads SCHED_FIFO at N (`TelephonyConfig::media_priority`; needs CAP_SYS_NICE);
//!   `SRTP=mandatory|optional` makes every call SRTP both ways (our trunk's policy; the phone takes SRTP
//!   when offered), `off` (default) plain RTP.
//! - `bench setup <sipp_uas_addr> <calls> <in_flight>`: places `calls` calls on a sipp UAS with at most
//!   `in_flight` at once, hangs each up on answer, and reports set-ups per second. Prints one JSON line.

use std::f32::consts::TAU;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use voicebot_telephony::phone::{self, PhoneConfig, Script};
use voicebot_telephony::{
    CallEvent, CallRequest, ClockStats, RtpSocket, SrtpPolicy, Telephony, TelephonyConfig, TrunkConfig,
    new_call_id,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match args.first().map(String::as_str) {
        Some("concurrent") if args.len() == 3 => rt.block_on(concurrent(args[1].parse()?, args[2].parse()?)),
        Some("setup") if args.len() == 4 => {
            rt.block_on(setup(args[1].parse()?, args[2].parse()?, args[3].parse()?))
        }
        _ => Err("usage: bench concurrent <calls> <hold_secs> | bench setup <sipp_addr> <calls> <in_flight>"
            .into()),
    }
}

/// utime + stime of this process, in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn tone(secs: u32) -> Arc<[i16]> {
    let n = secs as usize * 8000;
    (0..n).map(|i| (6000.0 * (TAU * 440.0 * i as f32 / 8000.0).sin()) as i16).collect::<Vec<_>>().into()
}

async fn concurrent(calls: usize, hold: u64) -> Res<()> {
    let mut pcfg = PhoneConfig::new("127.0.0.1:0".parse()?);
    pcfg.script = Script::from_json(r#"{"default": {"answer_after_ms": 0, "press": null}}"#)?;
    pcfg.log_stdout = false;
    let rtp_socket = match std::env::var("RTP_SOCKET") {
        Ok(v) => RtpSocket::parse(&v).ok_or("RTP_SOCKET must be shared or per_call")?,
        Err(_) => RtpSocket::PerCall,
    };
    pcfg.rtp_socket = rtp_socket;
    let media_priority = std::env::var("MEDIA_PRIORITY").ok().and_then(|v| v.parse().ok());
    pcfg.media_priority = media_priority;
    let srtp = match std::env::var("SRTP") {
        Ok(v) => SrtpPolicy::parse(&v).ok_or("SRTP must be off, optional or mandatory")?,
        Err(_) => SrtpPolicy::Off,
    };
    if srtp != SrtpPolicy::Off {
        pcfg.srtp = SrtpPolicy::Optional;
    }
    let phone = phone::run(pcfg).await?;
    // BENCH_INBAND=0 turns the in-band DTMF detector off (RFC 4733 digits only).
    let inband_dtmf = std::env::var("BENCH_INBAND").map_or(true, |v| v != "0");
    let tel = Arc::new(
        Telephony::start(TelephonyConfig {
            inband_dtmf,
            rtp_socket,
            media_priority,
            ..TelephonyConfig::default()
        })
        .await?,
    );
    let prompt = tone(hold as u32 + 120);
    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let ramp = Instant::now();
    for i in 0..calls {
        // Ramp at ~250 call set-ups per second.
        let due = ramp + Duration::from_millis(i as u64 * 4);
        tokio::time::sleep_until(due.into()).await;
        let mut trunk = TrunkConfig::new(phone.local_addr(), "+2341000000000");
        trunk.srtp = srtp;
        let mut call = tel.place_call(CallRequest::new(new_call_id(), "+2348000000001", trunk)).await?;
        let (prompt, answered, failed) = (prompt.clone(), answered.clone(), failed.clone());
        tokio::spawn(async move {
            while let Some(ev) = call.next_event().await {
                match ev {
                    CallEvent::Answered { .. } => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        call.play(prompt.clone());
                    }
                    CallEvent::Ended { .. } => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        });
    }
    let until = Instant::now() + Duration::from_secs(120);
    while answered.load(Ordering::Relaxed) < calls as u64 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ramp_secs = ramp.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ours0, theirs0, cpu0, t0) = (tel.media_stats(), phone.media_stats(), cpu_secs(), Instant::now());
    tokio::time::sleep(Duration::from_secs(hold)).await;
    let (ours1, theirs1, cpu1, secs) =
        (tel.media_stats(), phone.media_stats(), cpu_secs(), t0.elapsed().as_secs_f64());
    let ended_early = failed.load(Ordering::Relaxed);
    tel.shutdown().await;
    phone.shutdown().await;
    let window = |a: ClockStats, b: ClockStats| {
        let sent = b.packets_sent - a.packets_sent;
        let late = (b.late_over_5ms - a.late_over_5ms) + (b.skipped_frames - a.skipped_frames);
        (sent, late, 100.0 * late as f64 / (sent.max(1) as f64))
    };
    let (sent, late, pct) = window(ours0, ours1);
    let (p_sent, p_late, p_pct) = window(theirs0, theirs1);
    let line = serde_json::json!({
        "mode": "concurrent", "media_priority": media_priority, "rtp_socket": if rtp_socket == RtpSocket::Shared { "shared" } else { "per_call" },
        "srtp": format!("{srtp:?}").to_lowercase(),
        "srtp_auth_failures": ours1.srtp_auth_failures + theirs1.srtp_auth_failures,
        "calls": calls, "answered": answered.load(Ordering::Relaxed),
        "ended_early": ended_early, "ramp_s": (ramp_secs * 10.0).round() / 10.0, "window_s": secs.round(),
        "our_pps": (sent as f64 / secs).round(), "our_late_gt5ms": late, "our_late_pct": (pct * 1000.0).round() / 1000.0,
        "our_late_max_ms": ours1.late_max_us as f64 / 1000.0, "our_send_errors": ours1.send_errors,
        "phone_pps": (p_sent as f64 / secs).round(), "phone_late_pct": (p_pct * 1000.0).round() / 1000.0,
        "phone_late_gt5ms": p_late,
        "unknown_source_dropped": ours1.unknown_source_dropped + theirs1.unknown_source_dropped,
        "our_received_pps": ((ours1.packets_received - ours0.packets_received) as f64 / secs).round(),
        "cpu_cores": ((cpu1 - cpu0) / secs * 100.0).round() / 100.0,
    });
    println!("{line}");
    Ok(())
}

async fn setup(sipp: SocketAddr, calls: usize, in_flight: usize) -> Res<()> {
    let tel = Arc::new(Telephony::start(TelephonyConfig::default()).await?);
    let limit = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let answered = Arc::new(AtomicU64::new(0));
    let last_answer = Arc::new(std::sync::Mutex::new(Instant::now()));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let permit = limit.clone().acquire_owned().await?;
        let trunk = TrunkConfig::new(sipp, "+2341000000000");
        let mut call = tel.place_call(CallRequest::new(new_call_id(), "+2348000000001", trunk)).await?;
        let (answered, last_answer) = (answered.clone(), last_answer.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let mut outcome = None;
            while let Some(ev) = call.next_event().await {
                match ev {
                    CallEvent::Answered { .. } => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut t) = last_answer.lock() {
                            *t = Instant::now();
                        }
                        call.hangup();
                    }
                    CallEvent::Ended { outcome: o, .. } => outcome = Some(o),
                    _ => {}
                }
            }
            outcome
        });
    }
    while tasks.join_next().await.is_some() {}
    let done = start.elapsed().as_secs_f64();
    let to_last_answer = last_answer.lock().map(|t| t.duration_since(start).as_secs_f64()).unwrap_or(done);
    tel.shutdown().await;
    let n = answered.load(Ordering::Relaxed);
    let line = serde_json::json!({
        "mode": "setup", "calls": calls, "answered": n, "in_flight": in_flight,
        "setups_per_s": (n as f64 / to_last_answer).round(), "all_done_s": (done * 100.0).round() / 100.0,
    });
    println!("{line}");
    Ok(())
}
