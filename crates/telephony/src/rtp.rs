//! RTP sockets of calls: port allocation from the configured range, and the receive task of one call.
//!
//! Each call leg gets its own UDP socket (the SDP names one port per call). Sending happens on the shared
//! clock thread ([`crate::clock`]) through a clone of the socket; receiving is one small tokio task per
//! call that feeds [`RtpReceiver`] and reports digits (and, for the virtual phone, keeps the decoded audio).
//! That is one task per call, never one per packet.

use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::ops::RangeInclusive;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use voicebot_media::{Digit, DigitSource, MediaEvent, ReceiverConfig, ReceiverStats, RtpReceiver};

use crate::error::TelephonyError;

/// Hands out RTP sockets: even ports from a range (round robin), or OS-chosen ports.
#[derive(Debug)]
pub(crate) struct RtpPorts {
    ip: IpAddr,
    range: Option<RangeInclusive<u16>>,
    next: u16,
}

/// A bound RTP socket: the async half for receiving, a clone for the clock thread.
pub(crate) struct RtpSocket {
    pub(crate) recv: UdpSocket,
    pub(crate) send: StdUdpSocket,
    pub(crate) addr: SocketAddr,
}

impl RtpPorts {
    pub(crate) fn new(ip: IpAddr, range: Option<RangeInclusive<u16>>) -> RtpPorts {
        let next = range.as_ref().map_or(0, |r| *r.start());
        RtpPorts { ip, range, next }
    }

    /// Binds the next free port. Must be called inside a tokio runtime.
    pub(crate) fn bind(&mut self) -> Result<RtpSocket, TelephonyError> {
        let Some(range) = self.range.clone() else { return bind_one(SocketAddr::new(self.ip, 0)) };
        let (lo, hi) = (*range.start() + *range.start() % 2, *range.end());
        if lo > hi {
            return Err(TelephonyError::RtpPorts(std::io::Error::other("empty RTP port range")));
        }
        let count = (hi - lo) / 2 + 1;
        let mut last = std::io::Error::other("RTP port range exhausted");
        for _ in 0..count {
            let port = if self.next < lo || self.next > hi { lo } else { self.next - self.next % 2 };
            self.next = if port >= hi.saturating_sub(1) { lo } else { port + 2 };
            match bind_one(SocketAddr::new(self.ip, port)) {
                Ok(s) => return Ok(s),
                Err(TelephonyError::RtpPorts(e)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(TelephonyError::RtpPorts(last))
    }
}

fn bind_one(addr: SocketAddr) -> Result<RtpSocket, TelephonyError> {
    let std = StdUdpSocket::bind(addr).map_err(TelephonyError::RtpPorts)?;
    std.set_nonblocking(true).map_err(TelephonyError::RtpPorts)?;
    let send = std.try_clone().map_err(TelephonyError::RtpPorts)?;
    let addr = std.local_addr().map_err(TelephonyError::RtpPorts)?;
    let recv = UdpSocket::from_std(std).map_err(TelephonyError::RtpPorts)?;
    Ok(RtpSocket { recv, send, addr })
}

/// What a receive task hands back when it stops.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Decoded audio in arrival order (only when recording).
    pub(crate) pcm: Vec<i16>,
    /// Receiver counters.
    pub(crate) stats: ReceiverStats,
}

/// A running receive task; [`RecvTask::finish`] stops it and returns what it heard.
pub(crate) struct RecvTask {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Received>,
}

impl RecvTask {
    /// Receives on `socket` until stopped. `on_digit` runs for every digit; decoded audio is kept up to
    /// `record_limit` samples (0: none).
    pub(crate) fn spawn(
        socket: UdpSocket,
        inband_dtmf: bool,
        record_limit: usize,
        mut on_digit: impl FnMut(Digit, DigitSource) + Send + 'static,
    ) -> RecvTask {
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let config =
            ReceiverConfig { emit_audio: record_limit > 0, inband_dtmf, ..ReceiverConfig::default() };
        let handle = tokio::spawn(async move {
            let mut rx = RtpReceiver::new(config);
            let mut pcm = Vec::new();
            let mut buf = vec![0u8; 2048];
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    r = socket.recv_from(&mut buf) => {
                        let Ok((n, _from)) = r else { continue };
                        // Errors are per datagram (malformed, RTCP): counted by the receiver.
                        let _ = rx.handle_datagram(Instant::now(), &buf[..n]);
                        while let Some(ev) = rx.poll_event() {
                            match ev {
                                MediaEvent::Digit { digit, source } => on_digit(digit, source),
                                MediaEvent::Audio(frame) if pcm.len() < record_limit => {
                                    pcm.extend_from_slice(&frame.pcm);
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
            Received { pcm, stats: rx.stats().clone() }
        });
        RecvTask { stop: Some(stop_tx), handle }
    }

    /// Stops the task and returns what it received.
    pub(crate) async fn finish(mut self) -> Received {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.handle).await.unwrap_or_default()
    }
}
