//! The virtual phone behind `voicebot phone` (CONTRACT.md §8): a SIP UAS on one UDP socket that answers,
//! rejects or rings per dialed number as its [`Script`] says, presses keys (RFC 4733 or in-band), records
//! what it hears to one WAV per call and logs one JSON line per call.
//!
//! [`run`] starts it and returns a [`PhoneHandle`] usable in-process (tests read the per-call records and
//! the Call-IDs of every INVITE seen); the CLI wraps the same function. The UAS legs are
//! [`voicebot_sip::InboundCall`] engines driven by the task in `uas.rs`; media runs on the same kind of
//! shared clock thread as the UAC endpoint's.

mod script;
mod uas;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use voicebot_sip::{SrtpPolicy, TimerConfig};

pub use script::{Behaviour, DtmfMode, Plan, Script};

use crate::clock::{ClockHandle, ClockStats};
use crate::config::RtpSocket;
use crate::error::TelephonyError;
use crate::rtp::CallRtp;

/// Settings of the virtual phone.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// SIP listen address (port 0: any free port); RTP binds to the same IP.
    pub listen: SocketAddr,
    /// Behaviour per dialed number.
    pub script: Script,
    /// Where to write one WAV per answered call; `None`: no recordings.
    pub record_dir: Option<PathBuf>,
    /// Print one JSON line per call on stdout.
    pub log_stdout: bool,
    /// Longest recording kept per call.
    pub max_record: Duration,
    /// RFC 3261 timers.
    pub timers: TimerConfig,
    /// One RTP socket per call (default) or one for all calls (bound on the listen IP, any port).
    pub rtp_socket: RtpSocket,
    /// SCHED_FIFO priority of the phone's media clock (see `TelephonyConfig::media_priority`).
    pub media_priority: Option<u8>,
    /// SRTP: `Off` answers plain RTP (and refuses `RTP/SAVP` with 488), `Optional` takes SRTP when
    /// offered, `Mandatory` refuses offers without a usable `a=crypto` (488).
    pub srtp: SrtpPolicy,
}

impl PhoneConfig {
    /// A phone on `listen` with the default script, no recordings, logging to stdout.
    pub fn new(listen: SocketAddr) -> PhoneConfig {
        PhoneConfig {
            listen,
            script: Script::default(),
            record_dir: None,
            log_stdout: true,
            max_record: Duration::from_secs(600),
            timers: TimerConfig::default(),
            rtp_socket: RtpSocket::PerCall,
            media_priority: None,
            srtp: SrtpPolicy::Off,
        }
    }
}

/// What the phone saw of one call (also its JSON log line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneCallRecord {
    /// The call's Call-ID.
    pub call_id: String,
    /// The dialed number (Request-URI user part).
    pub number: String,
    /// The phone answered (200 OK sent).
    pub answered: bool,
    /// The final status we rejected with, if any.
    pub rejected: Option<u16>,
    /// Keys the phone pressed.
    pub digits_pressed: String,
    /// How it pressed them.
    pub dtmf: DtmfMode,
    /// The recording, if one was written.
    pub wav: Option<PathBuf>,
    /// INVITE datagrams received for this Call-ID (retransmissions included).
    pub invites: u32,
    /// Why the call ended (`LocalHangup`, `RemoteHangup`, `Cancelled`, …).
    pub end_reason: String,
    /// RTP packets received from the caller.
    pub rtp_packets: u64,
    /// Milliseconds of audio recorded.
    pub heard_ms: u64,
    /// The SRTP suite the call used (`AES_CM_128_HMAC_SHA1_80`, …); `None`: plain RTP.
    pub srtp: Option<String>,
    /// Received SRTP packets that failed authentication (dropped).
    pub srtp_auth_failures: u64,
}

pub(crate) enum PhoneCommand {
    Shutdown { done: oneshot::Sender<()> },
}

/// Shared between the task and the handle.
#[derive(Default)]
pub(crate) struct Seen {
    /// (Call-ID, INVITE datagrams) in order of first arrival.
    pub(crate) invites: Mutex<Vec<(String, u32)>>,
    pub(crate) active: AtomicUsize,
}

/// A running virtual phone. Dropping the handle (or [`PhoneHandle::shutdown`]) hangs up every call, writes
/// their records and stops the phone: keep it alive as long as the phone should answer.
pub struct PhoneHandle {
    local_addr: SocketAddr,
    records: watch::Receiver<Vec<PhoneCallRecord>>,
    seen: Arc<Seen>,
    commands: mpsc::UnboundedSender<PhoneCommand>,
    clock: ClockHandle,
}

impl std::fmt::Debug for PhoneHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneHandle").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

/// Starts the virtual phone. Must run inside a tokio runtime.
pub async fn run(config: PhoneConfig) -> Result<PhoneHandle, TelephonyError> {
    let socket = UdpSocket::bind(config.listen)
        .await
        .map_err(|source| TelephonyError::SipBind { addr: config.listen, source })?;
    let local_addr =
        socket.local_addr().map_err(|source| TelephonyError::SipBind { addr: config.listen, source })?;
    if let Some(dir) = &config.record_dir {
        std::fs::create_dir_all(dir).map_err(|source| TelephonyError::Io {
            context: format!("creating record dir {}", dir.display()),
            source,
        })?;
    }
    let (rtp, shared_socket) = CallRtp::new(config.rtp_socket, local_addr.ip(), None)?;
    let clock = ClockHandle::spawn("phone", shared_socket, config.media_priority);
    let (records_tx, records) = watch::channel(Vec::new());
    let seen = Arc::new(Seen::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let task = uas::Phone::new(config, socket, local_addr, rtp, clock.clone(), records_tx, seen.clone());
    tokio::spawn(task.run(rx));
    Ok(PhoneHandle { local_addr, records, seen, commands: tx, clock })
}

impl PhoneHandle {
    /// The SIP address to send INVITEs to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Records of the calls that have ended so far, in order of their end.
    pub fn records(&self) -> Vec<PhoneCallRecord> {
        self.records.borrow().clone()
    }

    /// Waits until at least `n` calls have ended (records written); `None` on timeout.
    pub async fn wait_records(&self, n: usize, timeout: Duration) -> Option<Vec<PhoneCallRecord>> {
        let mut rx = self.records.clone();
        let fut = rx.wait_for(|r| r.len() >= n);
        match tokio::time::timeout(timeout, fut).await {
            Ok(Ok(r)) => Some(r.clone()),
            _ => None,
        }
    }

    /// Every Call-ID an INVITE arrived with, and how many INVITE datagrams it had.
    pub fn invites_seen(&self) -> Vec<(String, u32)> {
        self.seen.invites.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        self.seen.active.load(Ordering::Relaxed)
    }

    /// Counters of the phone's media clock.
    pub fn media_stats(&self) -> ClockStats {
        self.clock.stats()
    }

    /// Hangs up every call, writes their records and stops.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(PhoneCommand::Shutdown { done }).is_ok() {
            let _ = wait.await;
        }
    }
}
