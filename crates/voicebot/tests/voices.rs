//! Voices through the service (issue 5): the accent table on the API, recorded prompts
//! uploaded and played by id, and `voicebot tts say`.

mod common;

use common::*;
use serde_json::{Value, json};

fn upload(server: &Server, key: &str, bytes: Vec<u8>) -> (u16, Value) {
    send(client().post(format!("{}/voicebot/v1/audio", server.url)).bearer_auth(key).body(bytes))
}

/// A 44.1 kHz stereo 16-bit WAV with a 440 Hz tone, one second.
fn stereo_wav() -> Vec<u8> {
    let rate = 44_100u32;
    let frames: Vec<i16> = (0..rate)
        .flat_map(|i| {
            let s = ((i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin() * 12_000.0) as i16;
            [s, s]
        })
        .collect();
    let data_len = (frames.len() * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&2u16.to_le_bytes()); // stereo
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in frames {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

fn wav_format(bytes: &[u8]) -> (u16, u32) {
    (
        u16::from_le_bytes([bytes[22], bytes[23]]),
        u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]),
    )
}

#[test]
fn recorded_prompts_upload_and_play() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let mp3 = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tts/tests/fixtures/tone440.mp3"))
        .expect("mp3 fixture");
    for (name, bytes) in [("mp3", mp3), ("wav 44.1k stereo", stereo_wav())] {
        let (code, resp) = upload(&server, &a.key, bytes);
        assert_eq!(code, 200, "{name}: {resp}");
        assert_eq!(resp["data"]["sample_rate"], 8000);
        assert!(resp["data"]["duration_seconds"].as_f64().unwrap() > 0.2, "{name}");
        let id = resp["data"]["audio_id"].as_str().unwrap().to_string();
        let wav = client()
            .get(format!("{}/voicebot/v1/audio/{id}", server.url))
            .bearer_auth(&a.key)
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        assert_eq!(wav_format(&wav), (1, 8000), "{name}: played back as 8 kHz mono");
        // A workflow can play it, per accent with a default.
        let wf = json!({"name": "recorded", "steps": [{"play": {"yoruba": id, "default": id}}, {"say": "Goodbye [name]"}]});
        let (code, resp) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
        assert_eq!(code, 200, "{resp}");
    }
    let (code, resp) = upload(&server, &a.key, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk".to_vec());
    assert_eq!((code, resp["status"].as_str()), (422, Some("Error")), "{resp}");
    let (code, _) = upload(&server, &a.key, vec![0x42; 5000]);
    assert_eq!(code, 422);
    let wf = json!({"name": "bad", "steps": [{"play": {"default": "nope"}}]});
    let (code, resp) = server.post(&a.key, "/voicebot/v1/workflows", &wf);
    assert_eq!(code, 422, "{resp}");
    assert_eq!(resp["errors"][0]["field"], "steps[0].play.default");
}

#[test]
fn voices_table_on_the_api() {
    let server = Server::start();
    let a = server.create_integrator("A");
    let (code, resp) = server.get(&a.key, "/voicebot/v1/voices");
    assert_eq!(code, 200);
    let voices = resp["data"]["voices"].as_array().unwrap();
    assert_eq!(voices.len(), 46);
    let find = |name: &str| voices.iter().find(|v| v["accent"] == name).cloned().unwrap();
    assert_eq!(find("swahili")["native"], true);
    assert_eq!(find("yoruba")["native"], false, "no Yoruba voice in espeak-ng: marked as a stand-in");
    assert_eq!(find("zulu")["genders"], json!(["female", "male"]));
}

#[test]
fn tts_say_writes_a_wav() {
    let server = Server::start();
    let out = server.dir.path().join("hello.wav");
    let printed = server.cli(&[
        "tts",
        "say",
        "--accent",
        "igbo",
        "--gender",
        "male",
        "Hello James",
        "-o",
        out.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(printed.trim()).unwrap();
    assert!(v["seconds"].as_f64().unwrap() > 0.3, "{v}");
    let wav = std::fs::read(&out).unwrap();
    assert_eq!(wav_format(&wav), (1, 8000));
    let listed: Value = serde_json::from_str(&server.cli(&["tts", "voices"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 46);
}
