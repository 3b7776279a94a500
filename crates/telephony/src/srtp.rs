//! SRTP of one call on the media clock: the SDP layer's negotiated keys ([`NegotiatedSrtp`]) turned
//! into the two `voicebot-media` contexts the clock's sender and receiver use, and fresh local keys
//! for an offer or answer. Protect and unprotect themselves run inside the media engines, so both
//! RTP socket modes (per call and shared) carry SRTP the same way.

use voicebot_media::{SrtpContext, SrtpProfile};
use voicebot_sip::sdp::{CryptoSuite, LocalSrtp, NegotiatedSrtp, SrtpPolicy};

/// The contexts of one call: ours protects what we send, the peer's key unprotects what we get.
pub(crate) struct CallSrtp {
    pub(crate) send: SrtpContext,
    pub(crate) receive: SrtpContext,
}

impl CallSrtp {
    /// Both directions' contexts for what the SDP agreed.
    pub(crate) fn new(agreed: &NegotiatedSrtp) -> Box<CallSrtp> {
        Box::new(CallSrtp { send: sending(agreed), receive: receiving(agreed) })
    }
}

/// The context protecting what we send, with our key.
fn sending(agreed: &NegotiatedSrtp) -> SrtpContext {
    let key = &agreed.send_key;
    SrtpContext::new(profile(agreed.suite), key.key(), key.salt())
}

/// The context unprotecting what the peer sends, with its key and the lifetime its line gave.
pub(crate) fn receiving(agreed: &NegotiatedSrtp) -> SrtpContext {
    let key = &agreed.receive_key;
    let mut context = SrtpContext::new(profile(agreed.suite), key.key(), key.salt());
    context.set_lifetime(agreed.receive_lifetime);
    context
}

/// Our SRTP for a new call under `policy`: fresh keys from the thread's CSPRNG (`None` when off).
pub(crate) fn local(policy: SrtpPolicy) -> Option<LocalSrtp> {
    LocalSrtp::new(policy, &mut rand::thread_rng())
}

fn profile(suite: CryptoSuite) -> SrtpProfile {
    match suite {
        CryptoSuite::AesCm128HmacSha1_80 => SrtpProfile::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32 => SrtpProfile::AesCm128HmacSha1_32,
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};

    use voicebot_media::{Codec, Digit, RtpSender, SenderConfig};
    use voicebot_sip::sdp::MasterKey;

    use super::*;
    use crate::clock::{ClockCommand, ClockHandle, RecvSetup};

    /// Keys as the SDP would have agreed them: `ours` protects what the clock sends.
    fn agreed(ours: u8, theirs: u8) -> NegotiatedSrtp {
        NegotiatedSrtp {
            suite: CryptoSuite::AesCm128HmacSha1_80,
            tag: 1,
            send_key: MasterKey::from_bytes([ours; 30]),
            receive_key: MasterKey::from_bytes([theirs; 30]),
            receive_lifetime: 1 << 48,
        }
    }

    /// On the media clock: the stream's packets leave encrypted with our key, a digit the peer sends
    /// with its key is heard, and a forged packet and a replayed one are dropped and counted.
    #[tokio::test]
    async fn clock_stream_protects_what_it_sends_and_counts_forgeries_and_replays() {
        let clock = ClockHandle::spawn("srtp-test", None, None);
        let ours = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let our_addr = ours.local_addr().expect("addr");
        ours.set_nonblocking(true).expect("nonblocking");
        let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
        peer.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let (tx, mut digits) = tokio::sync::mpsc::unbounded_channel();
        let on_digit = Box::new(move |d, _| {
            let _ = tx.send(d);
        });
        let recv = RecvSetup { inband_dtmf: false, record_limit: 0, on_digit: Some(on_digit) };
        clock.send(ClockCommand::Open { id: 1, socket: Some(ours), recv });
        let config = SenderConfig::new(Codec::Pcmu);
        let peer_addr = peer.local_addr().expect("addr");
        let srtp = Some(CallSrtp::new(&agreed(0x11, 0x22)));
        clock.send(ClockCommand::Start {
            id: 1,
            peer: peer_addr,
            peer_ssrc: None,
            config,
            notify: None,
            srtp,
        });

        // What we send is SRTP under our key: the peer's context for our key opens it.
        let mut buf = [0u8; 2048];
        let (n, _) = peer.recv_from(&mut buf).expect("a frame");
        let mut theirs_rx = receiving(&agreed(0x22, 0x11));
        assert_eq!(theirs_rx.unprotect(&mut buf[..n]), Ok(n - 10));

        let start = Instant::now();
        let mut far = RtpSender::new(SenderConfig::new(Codec::Pcmu), start);
        far.set_srtp(Some(sending(&agreed(0x22, 0x11))));
        far.send_digit(Digit::D4, Duration::from_millis(60));
        let packets: Vec<Vec<u8>> =
            (0..6u32).filter_map(|k| far.poll_transmit(start + k * 20 * MS)).collect();
        let mut forged = packets[1].clone();
        forged[14] ^= 0xFF;
        for p in [&packets[0], &forged, &packets[0]].into_iter().chain(&packets[1..]) {
            peer.send_to(p, our_addr).expect("send");
        }
        let digit = tokio::time::timeout(Duration::from_secs(5), digits.recv()).await.expect("in time");
        assert_eq!(digit, Some(Digit::D4));
        let until = Instant::now() + Duration::from_secs(5);
        while clock.stats().srtp_replays_dropped == 0 && Instant::now() < until {
            tokio::time::sleep(10 * MS).await;
        }
        let received = clock.close(1).await.stats;
        let stats = clock.stats();
        assert_eq!((stats.srtp_auth_failures, stats.srtp_replays_dropped), (1, 1), "{stats:?}");
        assert_eq!((received.srtp_auth_failures, received.srtp_replays), (1, 1), "{received:?}");
    }

    const MS: Duration = Duration::from_millis(1);
}
