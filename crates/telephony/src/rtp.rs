//! RTP sockets of calls, in the two [`crate::config::RtpSocket`] modes:
//!
//! - per call: one non-blocking UDP socket per call leg (the SDP names one port per call), bound from the
//!   configured port range ([`RtpPorts`]);
//! - shared: ONE socket for all calls of an endpoint ([`SharedRtp`]): packets queued during a clock slot
//!   leave with one `sendmmsg`, arrivals are read with `recvmmsg` in batches and routed by their source
//!   address to the stream whose peer it is. When one peer address carries several calls (a peer that
//!   shares one socket too, like our virtual phone in shared mode), the SSRC each call's peer announced
//!   in its SDP (`a=ssrc`) tells them apart; we announce ours in shared mode for the same reason. The
//!   kernel's per-system-call cost (file lookup, socket lock) is paid once per batch, not per packet.
//!
//! Both modes accept a datagram as a call's only when it comes from the peer's RTP address as its SDP
//! names it, with the SSRC the peer announced (`a=ssrc`) if it announced one ([`is_from_peer`] per call; the
//! shared socket's routes are keyed the same way); everything else is dropped and counted
//! ([`crate::ClockStats::unknown_source_dropped`]). Before the answer a call has no peer, so it hears
//! nothing. Why not latch the first source after the answer (comedia): a stranger spraying our ports at
//! answer time would win the latch; a carrier's SBC sends from the address its SDP names (symmetric RTP,
//! RFC 4961), and a NAT'd peer is behind such an SBC on any real trunk.
//!
//! Per-call ports are drawn at random from the range (then the next free one), so a call's port cannot be
//! guessed from the last one.
//!
//! Both directions of every call's RTP run on the media clock thread ([`crate::clock`]); nothing here
//! spawns a task or blocks.

use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::StreamId;
use crate::config::RtpSocket;
use crate::error::TelephonyError;

/// Messages per `sendmmsg` / `recvmmsg` call (a 1 ms slot of 2,000 calls holds ~100 packets each way).
const BATCH: usize = 128;
/// Receive buffer per datagram: RTP of G.711 is 172 bytes; anything up to an Ethernet MTU fits.
const DATAGRAM: usize = 2048;
/// Kernel buffer of the shared socket each way: every call's packets queue on this one socket, so it
/// needs what thousands of per-call sockets had together (a 5 ms stall at 100,000 pps is 500 datagrams of
/// ~1 KiB accounted size each; the default ~200 KiB holds ~250).
const SHARED_BUFFER: usize = 8 << 20;
/// `recvmmsg` calls per drain at most, so a flood cannot hold the clock (8 × 128 per ms ≫ 100 pps × 2,000
/// calls / 1,000 slots per second).
const MAX_BATCHES: usize = 8;

/// Hands out RTP sockets: even ports from a range (a random one, else the next free after it), or
/// OS-chosen ports (random too: Linux picks ephemeral ports at random).
#[derive(Debug)]
pub(crate) struct RtpPorts {
    ip: IpAddr,
    range: Option<RangeInclusive<u16>>,
    rng: StdRng,
}

impl RtpPorts {
    pub(crate) fn new(ip: IpAddr, range: Option<RangeInclusive<u16>>) -> RtpPorts {
        RtpPorts::with_rng(ip, range, StdRng::from_entropy())
    }

    /// Draws ports with `rng` (a seeded one makes the choice reproducible in tests).
    pub(crate) fn with_rng(ip: IpAddr, range: Option<RangeInclusive<u16>>, rng: StdRng) -> RtpPorts {
        RtpPorts { ip, range, rng }
    }

    /// Binds a free port and returns the non-blocking socket with its address.
    pub(crate) fn bind(&mut self) -> Result<(UdpSocket, SocketAddr), TelephonyError> {
        let Some(range) = self.range.clone() else { return bind_one(SocketAddr::new(self.ip, 0)) };
        let (lo, hi) = (u32::from(*range.start() + *range.start() % 2), u32::from(*range.end()));
        if lo > hi {
            return Err(TelephonyError::RtpPorts(std::io::Error::other("empty RTP port range")));
        }
        let count = (hi - lo) / 2 + 1;
        let first = self.rng.gen_range(0..count);
        let mut last = std::io::Error::other("RTP port range exhausted");
        for k in 0..count {
            let port = (lo + 2 * ((first + k) % count)) as u16;
            match bind_one(SocketAddr::new(self.ip, port)) {
                Ok(s) => return Ok(s),
                Err(TelephonyError::RtpPorts(e)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(TelephonyError::RtpPorts(last))
    }
}

/// Where each new call's RTP goes, per [`RtpSocket`] mode.
#[derive(Debug)]
pub(crate) enum CallRtp {
    /// A socket of its own from the range (boxed: the random generator is large).
    PerCall(Box<RtpPorts>),
    /// The endpoint's one socket (held by the clock), at this address.
    Shared(SocketAddr),
}

impl CallRtp {
    /// Sets up `mode`; in shared mode binds the one socket (the first free port of `range`), returned
    /// for the media clock.
    pub(crate) fn new(
        mode: RtpSocket,
        ip: IpAddr,
        range: Option<RangeInclusive<u16>>,
    ) -> Result<(CallRtp, Option<UdpSocket>), TelephonyError> {
        let mut ports = RtpPorts::new(ip, range);
        match mode {
            RtpSocket::PerCall => Ok((CallRtp::PerCall(Box::new(ports)), None)),
            RtpSocket::Shared => {
                let (socket, addr) = ports.bind()?;
                Ok((CallRtp::Shared(addr), Some(socket)))
            }
        }
    }

    /// The SSRC a new call's RTP will carry, to announce in its SDP: chosen in shared mode (so a peer
    /// that shares one socket too can tell our calls apart), `None` per call (the SDP stays as it was).
    pub(crate) fn announced_ssrc(&self) -> Option<u32> {
        matches!(self, CallRtp::Shared(_)).then(rand::random::<u32>)
    }

    /// A new call's RTP: its own socket (`None` in shared mode) and the address its SDP names.
    pub(crate) fn bind(&mut self) -> Result<(Option<UdpSocket>, SocketAddr), TelephonyError> {
        match self {
            CallRtp::PerCall(ports) => ports.bind().map(|(socket, addr)| (Some(socket), addr)),
            CallRtp::Shared(addr) => Ok((None, *addr)),
        }
    }
}

fn bind_one(addr: SocketAddr) -> Result<(UdpSocket, SocketAddr), TelephonyError> {
    let socket = UdpSocket::bind(addr).map_err(TelephonyError::RtpPorts)?;
    socket.set_nonblocking(true).map_err(TelephonyError::RtpPorts)?;
    let addr = socket.local_addr().map_err(TelephonyError::RtpPorts)?;
    Ok((socket, addr))
}

/// The one RTP socket of an endpoint in shared mode, with its batch buffers and the peer → stream routes.
pub(crate) struct SharedRtp {
    socket: UdpSocket,
    /// Which stream a source address belongs to (the peer's SDP address, set when sending starts).
    routes: HashMap<SocketAddr, StreamId>,
    /// Streams whose peer announced its SSRC: (source, SSRC) → stream, looked up first.
    ssrc_routes: HashMap<(SocketAddr, u32), StreamId>,
    /// Packets queued in this slot and their destinations.
    queued: Vec<(Vec<u8>, SocketAddr)>,
    // Separate headers for each direction: sendmmsg points the headers' address fields at our
    // destination array, which recvmmsg must not write into.
    send_headers: MultiHeaders<SockaddrStorage>,
    recv_headers: MultiHeaders<SockaddrStorage>,
    recv_buf: Vec<u8>,
    /// (length, source) of each datagram of the last batch, in buffer order.
    batch: Vec<(usize, Option<SocketAddr>)>,
    /// `send_headers` hold initialised address slots (see [`prime`]), so `sendmmsg`'s results may be
    /// counted.
    primed: bool,
}

impl std::fmt::Debug for SharedRtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRtp").field("socket", &self.socket).field("routes", &self.routes.len()).finish()
    }
}

/// What one [`SharedRtp::drain`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Datagrams handed to a stream.
    pub(crate) routed: u64,
    /// Datagrams from a source that is no stream's peer (dropped).
    pub(crate) unknown: u64,
}

impl SharedRtp {
    /// Takes a bound, non-blocking socket.
    pub(crate) fn new(socket: UdpSocket) -> SharedRtp {
        size_buffers(&socket);
        let mut send_headers = MultiHeaders::preallocate(BATCH, None);
        let primed = match prime(&mut send_headers) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e,
                    "shared RTP: cannot prime the sendmmsg headers; partial sends will not be counted");
                false
            }
        };
        SharedRtp {
            socket,
            routes: HashMap::new(),
            ssrc_routes: HashMap::new(),
            queued: Vec::with_capacity(BATCH),
            send_headers,
            recv_headers: MultiHeaders::preallocate(BATCH, None),
            recv_buf: vec![0u8; BATCH * DATAGRAM],
            batch: Vec::with_capacity(BATCH),
            primed,
        }
    }

    /// Routes datagrams from `peer` (carrying `ssrc`, when the peer announced one) to `id` from now on.
    /// Without an SSRC a peer address has one stream: a later call with the same peer takes it over.
    pub(crate) fn route(&mut self, peer: SocketAddr, ssrc: Option<u32>, id: StreamId) {
        let peer = canonical(peer);
        match ssrc {
            Some(ssrc) => self.ssrc_routes.insert((peer, ssrc), id),
            None => self.routes.insert(peer, id),
        };
    }

    /// Forgets the route of `peer` / `ssrc` if it still leads to `id`.
    pub(crate) fn unroute(&mut self, peer: SocketAddr, ssrc: Option<u32>, id: StreamId) {
        let peer = canonical(peer);
        match ssrc {
            Some(ssrc) if self.ssrc_routes.get(&(peer, ssrc)) == Some(&id) => {
                self.ssrc_routes.remove(&(peer, ssrc));
            }
            None if self.routes.get(&peer) == Some(&id) => {
                self.routes.remove(&peer);
            }
            _ => {}
        }
    }

    /// The stream a datagram from `source` belongs to.
    fn stream_of(&self, source: SocketAddr, datagram: &[u8]) -> Option<StreamId> {
        let source = canonical(source);
        if !self.ssrc_routes.is_empty()
            && let Some(ssrc) = rtp_ssrc(datagram)
            && let Some(&id) = self.ssrc_routes.get(&(source, ssrc))
        {
            return Some(id);
        }
        self.routes.get(&source).copied()
    }

    /// Queues a packet for the next [`SharedRtp::flush`].
    pub(crate) fn queue(&mut self, packet: Vec<u8>, to: SocketAddr) {
        self.queued.push((packet, to));
    }

    /// Sends every queued packet, [`BATCH`] per system call; returns how many could not be sent.
    pub(crate) fn flush(&mut self) -> u64 {
        let mut failed = 0u64;
        let mut next = 0;
        let fd = self.socket.as_raw_fd();
        while next < self.queued.len() {
            let chunk = &self.queued[next..(next + BATCH).min(self.queued.len())];
            let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(p, _)| [IoSlice::new(p)]).collect();
            let to: Vec<Option<SockaddrStorage>> =
                chunk.iter().map(|(_, a)| Some(SockaddrStorage::from(*a))).collect();
            let primed = self.primed;
            let sent = sendmmsg(fd, &mut self.send_headers, &iovs, &to, [], MsgFlags::MSG_DONTWAIT)
                .map(|results| if primed { results.count() } else { chunk.len() });
            match sent {
                Ok(n) if n > 0 => next += n,
                // The socket buffer is full: the rest would fail the same way. Drop them (the per-call
                // path drops a packet on a full buffer too) rather than spin.
                Ok(_) | Err(Errno::EAGAIN) | Err(Errno::ENOBUFS) => {
                    failed += (self.queued.len() - next) as u64;
                    break;
                }
                Err(Errno::EINTR) => {}
                // The first message of the chunk failed on its own (e.g. unreachable destination): the
                // kernel reports an error only when nothing was sent, so skip it and go on.
                Err(_) => {
                    failed += 1;
                    next += 1;
                }
            }
        }
        self.queued.clear();
        failed
    }

    /// Reads what arrived (without blocking) and hands each datagram to `deliver` with the stream its
    /// source is routed to; unknown sources are counted and dropped.
    pub(crate) fn drain(&mut self, mut deliver: impl FnMut(StreamId, &[u8])) -> Drained {
        let mut drained = Drained::default();
        for _ in 0..MAX_BATCHES {
            let n = self.receive_batch();
            for (i, &(len, source)) in self.batch.iter().enumerate() {
                let datagram = &self.recv_buf[i * DATAGRAM..i * DATAGRAM + len];
                match source.and_then(|s| self.stream_of(s, datagram)) {
                    Some(id) => {
                        drained.routed += 1;
                        deliver(id, datagram);
                    }
                    None => drained.unknown += 1,
                }
            }
            if n < BATCH {
                break;
            }
        }
        drained
    }

    /// One `recvmmsg` into `recv_buf`; fills `batch` and returns how many datagrams came (0 when empty).
    fn receive_batch(&mut self) -> usize {
        self.batch.clear();
        let fd = self.socket.as_raw_fd();
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
            self.recv_buf.chunks_mut(DATAGRAM).map(|c| [IoSliceMut::new(c)]).collect();
        let results =
            match recvmmsg(fd, &mut self.recv_headers, iovs.iter_mut(), MsgFlags::MSG_DONTWAIT, None) {
                Ok(r) => r,
                // EAGAIN: nothing waiting. Anything else (an ICMP error reported on the socket) is
                // about a datagram we sent; the next drain reads on.
                Err(_) => return 0,
            };
        let mut n = 0;
        for msg in results {
            n += 1;
            // A truncated datagram is not RTP we can use: keep its place so indices match the buffer,
            // with no source so it counts as unknown.
            let source =
                if msg.flags.contains(MsgFlags::MSG_TRUNC) { None } else { msg.address.and_then(to_std) };
            self.batch.push((msg.bytes.min(DATAGRAM), source));
        }
        n
    }
}

/// Raises the shared socket's buffers to [`SHARED_BUFFER`]: past `net.core.[rw]mem_max` with the
/// privileged options where we may, else as far as that limit allows (logged: losses under load follow).
fn size_buffers(socket: &UdpSocket) {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    let rcv = setsockopt(socket, sockopt::RcvBufForce, &SHARED_BUFFER)
        .or_else(|_| setsockopt(socket, sockopt::RcvBuf, &SHARED_BUFFER));
    let snd = setsockopt(socket, sockopt::SndBufForce, &SHARED_BUFFER)
        .or_else(|_| setsockopt(socket, sockopt::SndBuf, &SHARED_BUFFER));
    // The kernel doubles what it grants (bookkeeping); half of that is what we asked for.
    let got = getsockopt(socket, sockopt::RcvBuf).unwrap_or(0) / 2;
    if rcv.is_err() || snd.is_err() || got < SHARED_BUFFER {
        tracing::warn!(
            receive_buffer = got,
            wanted = SHARED_BUFFER,
            "shared RTP socket: smaller kernel buffers than wanted (raise net.core.rmem_max / wmem_max)"
        );
    }
}

/// Makes every address slot of `headers` initialised memory, by receiving [`BATCH`] datagrams into them
/// once on a private loopback pair. Why: nix gives the number of messages `sendmmsg` sent only through
/// its results iterator, which reads each slot's address as `recvmmsg` would have left it, and
/// `sendmmsg` never writes them (it points the headers at our own destination array). Reading
/// never-written slots would be undefined behaviour; after this they hold stale, valid addresses.
fn prime(headers: &mut MultiHeaders<SockaddrStorage>) -> std::io::Result<()> {
    let rx = UdpSocket::bind("127.0.0.1:0")?;
    let tx = UdpSocket::bind("127.0.0.1:0")?;
    let to = rx.local_addr()?;
    for _ in 0..BATCH {
        tx.send_to(&[0], to)?;
    }
    rx.set_read_timeout(Some(std::time::Duration::from_secs(1)))?;
    let mut bufs = [[0u8; 1]; BATCH];
    let mut iovs: Vec<[IoSliceMut<'_>; 1]> = bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
    // Blocking with MSG_WAITFORONE: loopback has queued all of them already; one call fills every slot.
    let n = recvmmsg(rx.as_raw_fd(), headers, iovs.iter_mut(), MsgFlags::MSG_WAITFORONE, None)?.count();
    if n == BATCH { Ok(()) } else { Err(std::io::Error::other(format!("primed {n} of {BATCH} slots"))) }
}

/// The rule both modes apply (see the module doc): `datagram` from `source` belongs to the call whose
/// peer's SDP names `peer` (and announced `peer_ssrc`, if it did).
pub(crate) fn is_from_peer(
    peer: SocketAddr,
    peer_ssrc: Option<u32>,
    source: SocketAddr,
    datagram: &[u8],
) -> bool {
    canonical(source) == canonical(peer) && peer_ssrc.is_none_or(|ssrc| rtp_ssrc(datagram) == Some(ssrc))
}

/// The SSRC of an RTP (version 2) packet.
fn rtp_ssrc(datagram: &[u8]) -> Option<u32> {
    let header = datagram.get(..12)?;
    (header[0] >> 6 == 2).then(|| u32::from_be_bytes([header[8], header[9], header[10], header[11]]))
}

fn to_std(a: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

/// IPv4-mapped IPv6 sources (a dual-stack socket) are the IPv4 peer the SDP names.
fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => a,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ports come from anywhere in the range, not one after the other: eight calls in a row do not get
    /// eight neighbouring ports (by chance: 8 in 200^7).
    #[test]
    fn range_hands_out_random_ports() {
        let probe = UdpSocket::bind("127.0.0.1:0").expect("probe");
        let base = (probe.local_addr().expect("addr").port() & !1).min(65_000 - 400);
        drop(probe);
        let mut ports = RtpPorts::new("127.0.0.1".parse().unwrap(), Some(base..=base + 399));
        let bound: Vec<_> = (0..8).map(|_| ports.bind().expect("bind")).collect();
        let got: Vec<u16> = bound.iter().map(|(_, a)| a.port()).collect();
        assert!(got.iter().all(|p| p % 2 == 0 && (base..=base + 399).contains(p)), "{got:?}");
        assert!(got.windows(2).any(|w| w[1] != w[0] + 2), "sequential ports: {got:?}");
        // The choice is the injected generator's: the same seed draws the same port again.
        drop(bound);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let seeded = || RtpPorts::with_rng(ip, Some(base..=base + 399), StdRng::seed_from_u64(7));
        let first = seeded().bind().expect("bind").1;
        assert_eq!(seeded().bind().expect("bind again").1, first);
    }

    #[test]
    fn only_the_peers_address_and_announced_ssrc_are_its_media() {
        let peer: SocketAddr = "192.0.2.7:7000".parse().unwrap();
        let rtp = |ssrc: u32| {
            let mut p = vec![0x80, 0, 0, 1, 0, 0, 0, 0];
            p.extend_from_slice(&ssrc.to_be_bytes());
            p
        };
        assert!(is_from_peer(peer, None, peer, &rtp(1)));
        assert!(is_from_peer(peer, None, "[::ffff:192.0.2.7]:7000".parse().unwrap(), &rtp(1)));
        assert!(!is_from_peer(peer, None, "192.0.2.7:7002".parse().unwrap(), &rtp(1)));
        assert!(!is_from_peer(peer, None, "198.51.100.1:7000".parse().unwrap(), &rtp(1)));
        assert!(is_from_peer(peer, Some(5), peer, &rtp(5)));
        assert!(!is_from_peer(peer, Some(5), peer, &rtp(6)));
        assert!(!is_from_peer(peer, Some(5), peer, b"short"));
    }

    #[test]
    fn range_hands_out_even_ports_and_wraps() {
        // A base whose two even ports are free right now.
        let base = (0..100)
            .find_map(|_| {
                let probe = UdpSocket::bind("127.0.0.1:0").ok()?;
                let base = probe.local_addr().ok()?.port() & !1;
                drop(probe);
                let ok = UdpSocket::bind(("127.0.0.1", base)).is_ok()
                    && UdpSocket::bind(("127.0.0.1", base + 2)).is_ok();
                (ok && base < 65_000).then_some(base)
            })
            .expect("two free ports");
        let mut ports = RtpPorts::new("127.0.0.1".parse().unwrap(), Some(base..=base + 3));
        let (a, aa) = ports.bind().expect("first");
        let (_b, bb) = ports.bind().expect("second");
        assert_eq!((aa.port() % 2, bb.port() % 2), (0, 0));
        assert_ne!(aa.port(), bb.port());
        assert!(ports.bind().is_err(), "range of two ports is exhausted");
        drop(a);
        assert_eq!(ports.bind().expect("wrapped").1.port(), aa.port());
    }
}

#[cfg(test)]
mod shared_tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn bound() -> (UdpSocket, SocketAddr) {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let a = s.local_addr().expect("addr");
        (s, a)
    }

    /// Drains until `want` datagrams were routed or dropped (or `until` passes), handing each routed one
    /// to `keep`; returns the counts.
    fn drain_until(
        rtp: &mut SharedRtp,
        want: u64,
        until: Instant,
        mut keep: impl FnMut(StreamId, &[u8]),
    ) -> Drained {
        let mut total = Drained::default();
        while total.routed + total.unknown < want && Instant::now() < until {
            let d = rtp.drain(&mut keep);
            total.routed += d.routed;
            total.unknown += d.unknown;
        }
        total
    }

    /// Demux: datagrams from a routed peer reach its stream, one from an unknown source is counted and
    /// dropped, and an unrouted peer becomes unknown.
    #[test]
    fn drain_routes_by_source_and_counts_unknown_sources() {
        let (shared, shared_addr) = bound();
        shared.set_nonblocking(true).expect("nonblocking");
        let mut rtp = SharedRtp::new(shared);
        let ((a, a_addr), (b, b_addr), (stranger, _)) = (bound(), bound(), bound());
        rtp.route(a_addr, None, 1);
        rtp.route(b_addr, None, 2);
        a.send_to(b"from a", shared_addr).expect("send");
        b.send_to(b"from b", shared_addr).expect("send");
        stranger.send_to(b"who?", shared_addr).expect("send");
        let mut got = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        let total = drain_until(&mut rtp, 3, until, |id, bytes| got.push((id, bytes.to_vec())));
        got.sort();
        assert_eq!(got, vec![(1, b"from a".to_vec()), (2, b"from b".to_vec())]);
        assert_eq!(total, Drained { routed: 2, unknown: 1 });

        rtp.unroute(a_addr, None, 2); // not its route: kept
        rtp.unroute(b_addr, None, 2);
        b.send_to(b"late", shared_addr).expect("send");
        a.send_to(b"again", shared_addr).expect("send");
        got.clear();
        let total = drain_until(&mut rtp, 2, until, |id, bytes| got.push((id, bytes.to_vec())));
        assert_eq!(got, vec![(1, b"again".to_vec())]);
        assert_eq!(total, Drained { routed: 1, unknown: 1 });
    }

    /// One peer address, two calls: the announced SSRC picks the stream; an unannounced SSRC from that
    /// address falls back to the address route, if any.
    #[test]
    fn one_peer_address_with_two_calls_is_split_by_ssrc() {
        let (shared, shared_addr) = bound();
        shared.set_nonblocking(true).expect("nonblocking");
        let mut rtp = SharedRtp::new(shared);
        let (peer, peer_addr) = bound();
        rtp.route(peer_addr, Some(0xAAAA_0001), 1);
        rtp.route(peer_addr, Some(0xAAAA_0002), 2);
        let packet = |ssrc: u32| {
            let mut p = vec![0x80, 0, 0, 1, 0, 0, 0, 0];
            p.extend_from_slice(&ssrc.to_be_bytes());
            p
        };
        for ssrc in [0xAAAA_0002, 0xAAAA_0001, 0xBBBB_0000] {
            peer.send_to(&packet(ssrc), shared_addr).expect("send");
        }
        let mut got = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        let total = drain_until(&mut rtp, 3, until, |id, bytes| got.push((id, rtp_ssrc(bytes))));
        assert_eq!(got, vec![(2, Some(0xAAAA_0002)), (1, Some(0xAAAA_0001))]);
        assert_eq!(total, Drained { routed: 2, unknown: 1 });
    }

    /// A flush sends every queued packet to its own destination, also past one batch.
    #[test]
    fn flush_sends_each_packet_to_its_destination_in_batches() {
        let (shared, _) = bound();
        shared.set_nonblocking(true).expect("nonblocking");
        let mut rtp = SharedRtp::new(shared);
        assert!(rtp.primed, "sendmmsg results can be counted");
        let (a, a_addr) = bound();
        let (b, b_addr) = bound();
        for s in [&a, &b] {
            s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        }
        let n = BATCH + 10;
        for i in 0..n {
            let to = if i % 2 == 0 { a_addr } else { b_addr };
            rtp.queue(vec![(i % 251) as u8; 20], to);
        }
        assert_eq!(rtp.flush(), 0);
        let mut buf = [0u8; 64];
        let count = |s: &UdpSocket, buf: &mut [u8]| {
            let mut k = 0;
            while let Ok((len, _)) = s.recv_from(buf) {
                assert_eq!(len, 20);
                k += 1;
                if k == n / 2 {
                    break;
                }
            }
            k
        };
        assert_eq!(count(&a, &mut buf), n / 2);
        assert_eq!(count(&b, &mut buf), n / 2);
    }
}
