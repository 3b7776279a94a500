//! RFC 4733 payload parse/serialise round trip on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voicebot_media::TelephoneEvent;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = TelephoneEvent::parse(data) {
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Ok(e));
    }
});
