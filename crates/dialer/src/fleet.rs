//! This node's part in the fleet: heartbeats, taking over dead nodes' calls, and waiting for
//! the trunk's fleet-wide limits before an attempt starts and before its INVITE leaves.
//!
//! The limits themselves are rows in the store shared by every node (see `Store::
//! reserve_send_slot` and the `max_concurrent` check of `Store::begin_attempt`); SQLite runs
//! the same code with one node. What this module adds is the order of waiting:
//! 1. pace first, uncommitted: take the trunk's next send slot and sleep until just before
//!    it ([`COMMIT_AHEAD`]), so a drain or a cancel during the wait costs no attempt;
//! 2. commit the attempt (refused while the trunk is full fleet-wide);
//! 3. at the slot, send — or, if the task woke later than [`LATE_TOLERANCE`], leave that
//!    slot empty and take the next, so a late INVITE never crowds another node's.
//!
//! While a trunk is full, this node's calls wait in line (the trunk's gate) and only the head
//! asks the store again, when one of this node's calls on the trunk ends or after
//! [`FULL_RETRY`]; they take their send slot once admitted, so waiting calls do not burn the
//! trunk's slots.
//!
//! Heartbeats fence this node too: it starts no attempt and sends no INVITE unless its last
//! successful heartbeat is younger than three quarters of `dead_after` (the last quarter covers
//! clock skew and the send itself), so another node only takes over calls of a node that has
//! stopped dialing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use voicebot_store::{AttemptStart, NewAttempt, StoreError};

use crate::dialer::{Shared, Trunk, micros};

/// How soon a node asks again for a place on a trunk that is full fleet-wide (sooner when one
/// of its own calls on the trunk ends).
pub const FULL_RETRY: Duration = Duration::from_millis(30);

/// The earliest a slot is given, from the moment it is asked for: covers the round trip.
const SLOT_LEAD: Duration = Duration::from_millis(5);

/// How long before its send slot a call commits its attempt row.
const COMMIT_AHEAD: Duration = Duration::from_millis(25);

/// The most a send may trail its slot; part of the margin of [`crate::limiter::JITTER_MARGIN`].
pub const LATE_TOLERANCE: Duration = Duration::from_millis(5);

/// The most lead asked for after slots kept arriving late (a slow database round trip).
const MAX_LEAD: Duration = Duration::from_millis(500);

/// What [`admit`] did.
pub(crate) enum Admission {
    /// The attempt row is committed with this number; send at the slot if one was taken.
    Started(u32, Option<i64>),
    /// The store refused (cancelled, exhausted, lease lost): do not dial.
    Refused(AttemptStart),
    /// Draining, or this node's heartbeats are failing: nothing written, requeue the call.
    Deferred,
}

/// Counts a call waiting in line on a full trunk for as long as it waits.
struct InLine<'a>(&'a AtomicU32);

impl<'a> InLine<'a> {
    fn join(count: &'a AtomicU32) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InLine(count)
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn stop_asking(s: &Shared) -> bool {
    s.draining.load(Ordering::SeqCst) || !alive(s)
}

async fn begin(s: &Shared, attempt: &mut NewAttempt) -> Result<AttemptStart, StoreError> {
    let now = s.clock.now_micros();
    attempt.started_at = now;
    attempt.lease_until = now + micros(s.config.lease());
    s.store.begin_attempt(attempt).await
}

/// Sleeps until `at` (Unix µs on the dialer's clock).
async fn sleep_until_micros(s: &Shared, at: i64) {
    let wait = at - s.clock.now_micros();
    if wait > 0 {
        tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
    }
}

/// Paces, then commits the attempt row within the trunk's fleet-wide limits (steps 1–2).
pub(crate) async fn admit(
    s: &Shared,
    trunk: &Trunk,
    attempt: &mut NewAttempt,
) -> Result<Admission, StoreError> {
    if trunk.in_line.load(Ordering::SeqCst) == 0 {
        let earliest = s.clock.now_micros() + micros(SLOT_LEAD + COMMIT_AHEAD);
        let slot = s.store.reserve_send_slot(&trunk.config.name, earliest, trunk.interval).await?;
        sleep_until_micros(s, slot - micros(COMMIT_AHEAD)).await;
        if stop_asking(s) {
            return Ok(Admission::Deferred);
        }
        match begin(s, attempt).await? {
            AttemptStart::Started(n) => return Ok(Admission::Started(n, Some(slot))),
            AttemptStart::TrunkFull => {}
            other => return Ok(Admission::Refused(other)),
        }
    }
    let _in_line = InLine::join(&trunk.in_line);
    let _turn = trunk.gate.lock().await;
    loop {
        if stop_asking(s) {
            return Ok(Admission::Deferred);
        }
        match begin(s, attempt).await? {
            AttemptStart::Started(n) => return Ok(Admission::Started(n, None)),
            AttemptStart::TrunkFull => {
                tokio::select! {
                    _ = tokio::time::sleep(FULL_RETRY) => {}
                    _ = trunk.ended.notified() => {}
                }
            }
            other => return Ok(Admission::Refused(other)),
        }
    }
}

/// Waits until the INVITE of a committed attempt may leave (step 3): its send slot (`slot`,
/// or a fresh one) has come and this node is still alive. False if it must not be sent.
pub(crate) async fn wait_send_slot(s: &Shared, trunk: &Trunk, slot: Option<i64>) -> Result<bool, StoreError> {
    let mut lead = SLOT_LEAD;
    let mut slot = slot;
    loop {
        let at = match slot {
            Some(at) => at,
            None => {
                let earliest = s.clock.now_micros() + micros(lead);
                s.store.reserve_send_slot(&trunk.config.name, earliest, trunk.interval).await?
            }
        };
        sleep_until_micros(s, at).await;
        if !alive(s) {
            return Ok(false);
        }
        let late = s.clock.now_micros() - at;
        if late <= micros(LATE_TOLERANCE) {
            return Ok(true);
        }
        tracing::debug!(trunk = %trunk.config.name, late_us = late, "send slot missed; taking the next");
        lead = (lead * 2).min(MAX_LEAD);
        slot = None;
    }
}

/// True while this node's last successful heartbeat is younger than ¾ of `dead_after`.
pub(crate) fn alive(s: &Shared) -> bool {
    let last = *s.last_heartbeat.lock().unwrap_or_else(PoisonError::into_inner);
    last.is_some_and(|at| at.elapsed() < s.config.dead_after * 3 / 4)
}

/// Writes this node's heartbeat; on success opens the fence for another ¾ of `dead_after`.
pub(crate) async fn beat(s: &Shared) -> Result<(), StoreError> {
    let asked = Instant::now();
    let now = s.clock.now_micros();
    let previous = s.store.heartbeat(&s.config.node, now).await?;
    *s.last_heartbeat.lock().unwrap_or_else(PoisonError::into_inner) = Some(asked);
    if let Some(previous) = previous
        && now - previous > micros(s.config.dead_after)
    {
        tracing::warn!(
            node = %s.config.node,
            silent_ms = (now - previous) / 1000,
            "this node was silent past dead_after: other nodes may have taken over its calls"
        );
    }
    Ok(())
}

/// Every `heartbeat_interval`: a heartbeat, then the calls of nodes silent past `dead_after`
/// are recovered (attempts `INTERRUPTED` and counted, claims requeued). Runs until aborted.
pub(crate) async fn heartbeat_loop(s: Arc<Shared>) {
    let retry = micros(s.config.retry.failed);
    loop {
        tokio::time::sleep(s.config.heartbeat_interval).await;
        if let Err(e) = beat(&s).await {
            tracing::warn!(error = %e, "heartbeat failed");
            continue;
        }
        let now = s.clock.now_micros();
        match s.store.recover_dead_nodes(now, now - micros(s.config.dead_after), retry).await {
            Ok(got) if got != Default::default() => tracing::warn!(
                interrupted = got.interrupted,
                finalised = got.finalised,
                requeued = got.requeued,
                "recovered calls of dead nodes"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "dead-node sweep failed"),
        }
    }
}
