//! The SRTP receive path on arbitrary datagrams: `SrtpContext::unprotect` alone (every split of the
//! input, so rollover and replay state see sequences), and an `RtpReceiver` with SRTP on. The first
//! byte picks the suite and which datagrams a sender with the same key protects first, so the
//! fuzzer also reaches the decrypt and index-update code (behind a valid tag) with arbitrary
//! headers and sequence numbers.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use voicebot_media::{ReceiverConfig, RtpReceiver, SrtpContext, SrtpProfile};

const KEY: [u8; 16] = [0x5A; 16];
const SALT: [u8; 14] = [0xC3; 14];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let profile =
        if selector & 1 == 0 { SrtpProfile::AesCm128HmacSha1_80 } else { SrtpProfile::AesCm128HmacSha1_32 };
    let mut tx = SrtpContext::new(profile, &KEY, &SALT);
    let mut rx = SrtpContext::new(profile, &KEY, &SALT);
    let mut receiver = RtpReceiver::new(ReceiverConfig { emit_audio: true, ..Default::default() });
    receiver.set_srtp(Some(SrtpContext::new(profile, &KEY, &SALT)));
    let now = Instant::now();
    for (k, chunk) in rest.split(|&b| b == 0xA5).enumerate() {
        let mut packet = chunk.to_vec();
        if (selector >> 1) & (1 << (k % 7)) != 0 {
            // Sealed by a real sender: exercises everything after the tag check.
            let _ = tx.protect(&mut packet);
        }
        let mut copy = packet.clone();
        if let Ok(len) = rx.unprotect(&mut copy) {
            assert!(len <= packet.len());
        }
        let _ = receiver.handle_datagram(now, &packet);
        while receiver.poll_event().is_some() {}
    }
});
