//! Dialer configuration: trunks with their limits, retry delays, calling windows, leases.
//!
//! Plain data the binary fills from `voicebot.toml` (CONTRACT.md §8); defaults are the
//! contract's. `max_attempts` and `backoff_seconds` are per batch (stored at intake).

use std::time::Duration;

use crate::outcome::RetryDelays;
use crate::window::WindowPolicy;

/// One SIP trunk as the dialer sees it.
#[derive(Debug, Clone)]
pub struct TrunkConfig {
    /// Name (matches telephony's trunk).
    pub name: String,
    /// INVITEs per second, across every node on one database.
    pub cps: f64,
    /// Headroom of the INVITE spacing for jitter (fraction of a second per one-second window);
    /// see [`crate::limiter::JITTER_MARGIN`].
    pub cps_margin: f64,
    /// Calls live at once, across every node on one database.
    pub max_concurrent: u32,
    /// Ring timeout (default 30 s).
    pub ring_timeout: Duration,
    /// Caller id when the batch names none.
    pub caller_id: Option<String>,
}

impl TrunkConfig {
    /// A trunk with the contract's defaults: 10 CPS, 50 live calls, 30 s ring timeout.
    pub fn new(name: impl Into<String>) -> Self {
        TrunkConfig {
            name: name.into(),
            cps: 10.0,
            cps_margin: crate::limiter::JITTER_MARGIN,
            max_concurrent: 50,
            ring_timeout: Duration::from_secs(30),
            caller_id: None,
        }
    }
}

/// Everything the dialer loop needs to know.
#[derive(Debug, Clone)]
pub struct DialerConfig {
    /// This node's name: the lease owner. Keep it stable across restarts of one box so a
    /// restart recovers its own attempts at once (not only after their leases expire).
    pub node: String,
    /// Trunks, tried in order for free capacity.
    pub trunks: Vec<TrunkConfig>,
    /// Retry delays per outcome.
    pub retry: RetryDelays,
    /// Calling windows.
    pub windows: WindowPolicy,
    /// Longest answered call before the dialer hangs up.
    pub max_call_duration: Duration,
    /// How often to look for due calls when idle.
    pub poll_interval: Duration,
    /// How often to sweep for other nodes' expired leases.
    pub recovery_interval: Duration,
    /// Most calls claimed per query.
    pub claim_batch: u32,
    /// How long to wait for the driver's `Ended` after our hang-up.
    pub hangup_grace: Duration,
    /// How often this node writes its heartbeat (and looks for dead nodes).
    pub heartbeat_interval: Duration,
    /// A node silent this long is dead: its open attempts become `INTERRUPTED` and its claims
    /// go back to the queue. This node stops sending INVITEs once its own heartbeat is ¾ of
    /// that old, so it is never presumed dead while still dialing.
    pub dead_after: Duration,
}

impl DialerConfig {
    /// Defaults with one trunk.
    pub fn new(node: impl Into<String>, trunk: TrunkConfig) -> Self {
        DialerConfig {
            node: node.into(),
            trunks: vec![trunk],
            retry: RetryDelays::default(),
            windows: WindowPolicy::default(),
            max_call_duration: Duration::from_secs(10 * 60),
            poll_interval: Duration::from_millis(500),
            recovery_interval: Duration::from_secs(60),
            claim_batch: 100,
            hangup_grace: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(2),
            dead_after: Duration::from_secs(20),
        }
    }

    /// The lease a claim takes: longer than any attempt can live (ring + call + slack), so
    /// a lease expires only after its attempt is certainly over.
    pub fn lease(&self) -> Duration {
        let ring = self.trunks.iter().map(|t| t.ring_timeout).max().unwrap_or_default();
        ring + self.max_call_duration + 2 * self.hangup_grace + Duration::from_secs(120)
    }
}
