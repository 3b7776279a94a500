//! Fuzz both call-leg engines with arbitrary datagrams: no input may panic them.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use voicebot_sip::{CallConfig, InboundCall, InboundConfig, LocalMedia, OutboundCall, sip_uri};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let peer = "127.0.0.1:5070".parse().expect("addr");
    let media = LocalMedia::new("127.0.0.1:40000".parse().expect("addr"));
    let uri = sip_uri("+1", "127.0.0.1:5070").expect("uri");
    let cfg = CallConfig::new("c@v", uri, "sip:a@b", peer, peer, media.clone());
    let mut uac = OutboundCall::new(now, cfg).expect("valid config");
    for chunk in data.split(|b| *b == 0xfe) {
        let _ = uac.handle_datagram(now, peer, chunk);
        while uac.poll_transmit().is_some() {}
    }
    uac.handle_timeout(now + Duration::from_secs(60));
    if let Ok(mut uas) = InboundCall::new(now, peer, data, InboundConfig::new(peer, media)) {
        let _ = uas.answer(now);
        let _ = uas.handle_datagram(now, peer, data);
        uas.handle_timeout(now + Duration::from_secs(60));
    }
});
