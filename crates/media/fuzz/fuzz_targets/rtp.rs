//! RTP parse/serialise round trip and the whole receiver on arbitrary datagrams.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use voicebot_media::{ReceiverConfig, RtpPacket, RtpReceiver};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data) {
        let again = p.to_bytes().expect("a parsed packet can be written");
        assert_eq!(RtpPacket::parse(&again).as_ref(), Ok(&p));
    }
    // Several datagrams in one input: split on a marker byte pair to reach stateful paths.
    let mut rx = RtpReceiver::new(ReceiverConfig { inband_dtmf: true, ..Default::default() });
    let now = Instant::now();
    for chunk in data.split(|&b| b == 0xA5) {
        let _ = rx.handle_datagram(now, chunk);
        while rx.poll_event().is_some() {}
    }
});
