//! The dialer loop: claims due calls under a lease, keeps within each trunk's limits, runs
//! one task per call, and drains on shutdown.
//!
//! The loop itself only schedules; what happens to one call (checks, prompts, the attempt
//! row, the INVITE, the workflow, the result) is `call.rs`. On start it writes this node's
//! heartbeat and recovers its interrupted attempts; then a heartbeat task recovers the calls
//! of dead nodes (`fleet.rs`) and the loop periodically sweeps expired leases.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use voicebot_store::{ClaimRequest, Store, StoreError};

use crate::clock::Clock;
use crate::config::{DialerConfig, TrunkConfig};
use crate::limiter::{TrunkLimiter, send_interval};
use crate::session::{CallPlacer, PromptRenderer};

/// Why the dialer stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialerError {
    /// No trunk is configured.
    #[error("no trunk configured")]
    NoTrunk,
    /// Start-up recovery failed (the store is unusable).
    #[error("recovery failed: {0}")]
    Recovery(#[source] StoreError),
}

/// One trunk's config and this node's side of its limits.
pub(crate) struct Trunk {
    pub(crate) config: TrunkConfig,
    /// This node's call slots.
    pub(crate) limiter: Mutex<TrunkLimiter>,
    /// Send-slot spacing in µs (`cps` with the jitter margin).
    pub(crate) interval: i64,
    /// One task of this node at a time asks the store for a place on a full trunk.
    pub(crate) gate: tokio::sync::Mutex<()>,
    /// Calls of this node waiting in line at the gate (the trunk was found full).
    pub(crate) in_line: std::sync::atomic::AtomicU32,
    /// A call of this node on the trunk ended: a place may have freed.
    pub(crate) ended: Notify,
}

/// What every call task shares.
pub(crate) struct Shared {
    pub(crate) config: DialerConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) placer: Arc<dyn CallPlacer>,
    pub(crate) renderer: Arc<dyn PromptRenderer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) trunks: Vec<Arc<Trunk>>,
    pub(crate) draining: AtomicBool,
    pub(crate) slot_freed: Notify,
    /// When this node's last heartbeat was written (monotonic: immune to wall-clock jumps).
    pub(crate) last_heartbeat: Mutex<Option<tokio::time::Instant>>,
}

/// A call slot on a trunk, given back when dropped (whatever way the call task ends).
pub(crate) struct Slot {
    pub(crate) trunk: Arc<Trunk>,
    shared: Arc<Shared>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.trunk.limiter.lock().unwrap_or_else(PoisonError::into_inner).release();
        self.trunk.ended.notify_one();
        self.shared.slot_freed.notify_one();
    }
}

/// The dialer: build with [`Dialer::new`], then [`Dialer::run`] until shutdown.
pub struct Dialer {
    shared: Arc<Shared>,
}

impl Dialer {
    /// Wires the dialer to the store, the telephony side, the TTS side and a clock.
    pub fn new(
        config: DialerConfig,
        store: Arc<dyn Store>,
        placer: Arc<dyn CallPlacer>,
        renderer: Arc<dyn PromptRenderer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let trunks = config
            .trunks
            .iter()
            .map(|t| {
                Arc::new(Trunk {
                    config: t.clone(),
                    limiter: Mutex::new(TrunkLimiter::new(t.max_concurrent)),
                    interval: micros(send_interval(t.cps, t.cps_margin)),
                    gate: tokio::sync::Mutex::new(()),
                    in_line: std::sync::atomic::AtomicU32::new(0),
                    ended: Notify::new(),
                })
            })
            .collect();
        let shared = Shared {
            config,
            store,
            placer,
            renderer,
            clock,
            trunks,
            draining: AtomicBool::new(false),
            slot_freed: Notify::new(),
            last_heartbeat: Mutex::new(None),
        };
        Dialer { shared: Arc::new(shared) }
    }

    /// Calls live or being prepared right now, over all trunks.
    pub fn live_calls(&self) -> u32 {
        self.shared
            .trunks
            .iter()
            .map(|t| t.limiter.lock().unwrap_or_else(PoisonError::into_inner).live())
            .sum()
    }

    /// Runs until `shutdown` resolves, then drains: claims stop, calls not yet dialed go
    /// back to the queue, live calls finish. Returns when the last call task has ended.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), DialerError> {
        let s = &self.shared;
        if s.trunks.is_empty() {
            return Err(DialerError::NoTrunk);
        }
        let retry = micros(s.config.retry.failed);
        crate::fleet::beat(s).await.map_err(DialerError::Recovery)?;
        let got = s
            .store
            .recover_interrupted(s.clock.now_micros(), Some(&s.config.node), retry)
            .await
            .map_err(DialerError::Recovery)?;
        if got != Default::default() {
            tracing::warn!(
                interrupted = got.interrupted,
                finalised = got.finalised,
                requeued = got.requeued,
                "recovered calls of a previous run"
            );
        }
        let heartbeats = tokio::spawn(crate::fleet::heartbeat_loop(s.clone()));
        let mut tasks = JoinSet::new();
        let mut last_sweep = tokio::time::Instant::now();
        tokio::pin!(shutdown);
        loop {
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "call task failed");
                }
            }
            if last_sweep.elapsed() >= s.config.recovery_interval {
                last_sweep = tokio::time::Instant::now();
                if let Err(e) = s.store.recover_interrupted(s.clock.now_micros(), None, retry).await {
                    tracing::warn!(error = %e, "lease sweep failed");
                }
            }
            let free = self.free_slots();
            let full_claim = free > 0 && self.claim_and_spawn(free, &mut tasks).await;
            if full_claim {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(s.config.poll_interval) => {}
                _ = s.slot_freed.notified(), if free == 0 => {}
            }
        }
        s.draining.store(true, Ordering::SeqCst);
        tracing::info!(live = self.live_calls(), "dialer draining");
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "call task failed");
            }
        }
        // Beating until the last live call ended keeps other nodes off this node's calls.
        heartbeats.abort();
        Ok(())
    }

    fn free_slots(&self) -> u32 {
        self.shared
            .trunks
            .iter()
            .map(|t| t.limiter.lock().unwrap_or_else(PoisonError::into_inner).free())
            .sum()
    }

    /// Takes a slot on the first trunk with one free.
    fn take_slot(&self) -> Option<Slot> {
        self.shared.trunks.iter().find_map(|t| {
            let ok = t.limiter.lock().unwrap_or_else(PoisonError::into_inner).try_acquire();
            ok.then(|| Slot { trunk: t.clone(), shared: self.shared.clone() })
        })
    }

    /// Claims up to `free` calls and starts a task for each; true if the claim was full
    /// (more calls may be due right away).
    async fn claim_and_spawn(&self, free: u32, tasks: &mut JoinSet<()>) -> bool {
        let s = &self.shared;
        let limit = free.min(s.config.claim_batch.max(1));
        let now = s.clock.now_micros();
        let req = ClaimRequest {
            node: s.config.node.clone(),
            now,
            lease_until: now + micros(s.config.lease()),
            limit,
        };
        let claimed = match s.store.claim_due_calls(&req).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "claiming due calls failed");
                return false;
            }
        };
        let full = claimed.len() as u32 == limit;
        for call in claimed {
            // Free slots were counted above and only this loop takes them.
            let Some(slot) = self.take_slot() else {
                let _ = s.store.defer_call(&call.call.id, &s.config.node, now, now).await;
                continue;
            };
            tasks.spawn(crate::call::run(s.clone(), call, slot));
        }
        full
    }
}

/// A duration in the store's unit.
pub(crate) fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
