//! Fuzz the datagram parser: it must never panic, and whatever it accepts must survive a
//! serialise → parse round trip unchanged, or be refused by the serialiser (a CR or NUL inside a value,
//! which we never send on). Also exercises the typed header views and the SDP reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voicebot_sip::header::{CSeq, NameAddr, SipUri, Via};

fuzz_target!(|data: &[u8]| {
    let _ = voicebot_sip::sdp::parse_remote(data);
    let Ok(msg) = voicebot_sip::parse(data) else { return };
    if let Ok(bytes) = msg.to_bytes() {
        let again = voicebot_sip::parse(&bytes).expect("serialised message must re-parse");
        assert_eq!(again, msg);
    }
    let h = msg.headers();
    for name in ["Via", "From", "To", "Contact", "CSeq", "Record-Route"] {
        for v in h.get_all(name) {
            let _ = Via::parse(v);
            let _ = CSeq::parse(v);
            if let Some(n) = NameAddr::parse(v) {
                let _ = SipUri::parse(&n.uri).map(|u| u.socket_addr());
            }
        }
    }
    for v in h.get_all("WWW-Authenticate") {
        let _ = voicebot_sip::digest::Challenge::parse(v);
    }
});
