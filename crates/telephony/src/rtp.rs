//! RTP sockets of calls: one non-blocking UDP socket per call leg (the SDP names one port per call), bound
//! from the configured port range. Both directions of a call's RTP then run on the shared media clock
//! thread ([`crate::clock`]); nothing here spawns a task.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;

use crate::error::TelephonyError;

/// Hands out RTP sockets: even ports from a range (round robin), or OS-chosen ports.
#[derive(Debug)]
pub(crate) struct RtpPorts {
    ip: IpAddr,
    range: Option<RangeInclusive<u16>>,
    next: u16,
}

impl RtpPorts {
    pub(crate) fn new(ip: IpAddr, range: Option<RangeInclusive<u16>>) -> RtpPorts {
        let next = range.as_ref().map_or(0, |r| *r.start());
        RtpPorts { ip, range, next }
    }

    /// Binds the next free port and returns the non-blocking socket with its address.
    pub(crate) fn bind(&mut self) -> Result<(UdpSocket, SocketAddr), TelephonyError> {
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

fn bind_one(addr: SocketAddr) -> Result<(UdpSocket, SocketAddr), TelephonyError> {
    let socket = UdpSocket::bind(addr).map_err(TelephonyError::RtpPorts)?;
    socket.set_nonblocking(true).map_err(TelephonyError::RtpPorts)?;
    let addr = socket.local_addr().map_err(TelephonyError::RtpPorts)?;
    Ok((socket, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

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
