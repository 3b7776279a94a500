//! Pieces shared by the UAC and UAS engines below the dialog: the outgoing [`Transmit`], random tokens for
//! tags/branches/cnonces, Via construction, the non-INVITE client transaction (BYE, CANCEL) with its
//! Timer E retransmissions and Timer F timeout (RFC 3261 §17.1.2), and the bounded cache of responses that
//! answers retransmitted requests ([`ResponseCache`]).
//!
//! The INVITE client and server transactions are not here: each lives inside the engine that owns it, because
//! their behaviour is entangled with the dialog (ACK for 2xx belongs to the dialog, §13.2.2.4).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::message::Method;
use crate::timer::{Timer, TimerConfig, TimerTable};

/// A datagram the driver must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// The SIP message bytes.
    pub payload: Vec<u8>,
}

/// A random alphanumeric token of `len` characters (tags, Call-IDs, cnonces).
pub fn random_token(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// A fresh RFC 3261 branch (`z9hG4bK` magic cookie + random).
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(16))
}

/// Our Via header value for `local` with `branch`; asks for `rport` (RFC 3581).
pub fn via_value(local: SocketAddr, branch: &str) -> String {
    format!("SIP/2.0/UDP {local};branch={branch};rport")
}

/// A non-INVITE client transaction (BYE or CANCEL) over UDP.
#[derive(Debug, Clone)]
pub struct NonInviteClient {
    /// Branch of the request's Via, used to match responses.
    pub branch: String,
    bytes: Vec<u8>,
    destination: SocketAddr,
    interval: Duration,
    retransmit: Timer,
    timeout: Timer,
}

impl NonInviteClient {
    /// Starts the transaction: returns it plus the first transmission, and arms the two timers.
    pub fn start(
        now: Instant,
        (retransmit, timeout): (Timer, Timer),
        branch: String,
        transmit: Transmit,
        timers: &mut TimerTable,
        cfg: &TimerConfig,
    ) -> (NonInviteClient, Transmit) {
        timers.set(retransmit, now + cfg.t1);
        timers.set(timeout, now + cfg.timeout());
        let tx = NonInviteClient {
            branch,
            bytes: transmit.payload.clone(),
            destination: transmit.destination,
            interval: cfg.t1,
            retransmit,
            timeout,
        };
        (tx, transmit)
    }

    /// Timer E fired: doubles the interval (capped at T2), re-arms, and returns the retransmission.
    pub fn retransmit(&mut self, now: Instant, timers: &mut TimerTable, cfg: &TimerConfig) -> Transmit {
        self.interval = (self.interval * 2).min(cfg.t2);
        timers.set(self.retransmit, now + self.interval);
        Transmit { destination: self.destination, payload: self.bytes.clone() }
    }

    /// Where the request went: its responses must come from there.
    pub fn destination(&self) -> SocketAddr {
        self.destination
    }

    /// A provisional response arrived: keep retransmitting, at T2 (RFC 3261 §17.1.2.2 Proceeding).
    pub fn proceeding(&mut self, cfg: &TimerConfig) {
        self.interval = cfg.t2;
    }

    /// A final response arrived (or the transaction is abandoned): disarms both timers.
    pub fn finish(&self, timers: &mut TimerTable) {
        timers.stop(self.retransmit);
        timers.stop(self.timeout);
    }
}

/// Responses sent to a leg's requests, by (CSeq number, method), so that a retransmitted request gets the
/// same answer (RFC 3261 §17.2.2). Keeps only the last [`ResponseCache::KEPT`]: a peer sending requests
/// with ever new CSeq numbers cannot grow a leg's memory.
#[derive(Debug, Default)]
pub struct ResponseCache(VecDeque<(u32, Method, Transmit)>);

impl ResponseCache {
    /// Responses kept per leg.
    pub const KEPT: usize = 16;

    /// The response sent to the request with this CSeq number and method, if still kept.
    pub fn get(&self, seq: u32, method: &Method) -> Option<&Transmit> {
        self.0.iter().find(|(s, m, _)| *s == seq && m == method).map(|(_, _, t)| t)
    }

    /// Remembers a response, forgetting the oldest beyond [`ResponseCache::KEPT`].
    pub fn put(&mut self, seq: u32, method: Method, response: Transmit) {
        if self.0.len() >= Self::KEPT {
            self.0.pop_front();
        }
        self.0.push_back((seq, method, response));
    }
}
