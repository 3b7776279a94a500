//! Recorded prompts: uploads in WAV (any rate, channels, depth) and MP3 play back as 8 kHz mono;
//! corrupt files are typed errors (the API's 422).

use voicebot_tts::{AudioId, AudioStore, DecodeError, ImportError, Pcm16, decode_audio};

const MP3_FIXTURE: &[u8] = include_bytes!("fixtures/tone440.mp3");

/// A 16-bit stereo WAV with a sine in both channels.
fn stereo_wav(rate: u32, freq: f64, secs: f64, amp: f64) -> Vec<u8> {
    let frames = (f64::from(rate) * secs) as u32;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + frames * 4).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(frames * 4).to_le_bytes());
    for i in 0..frames {
        let s = (amp * 32767.0 * (2.0 * std::f64::consts::PI * freq * f64::from(i) / f64::from(rate)).sin())
            as i16;
        out.extend_from_slice(&s.to_le_bytes());
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Frequency estimated from rising zero crossings.
fn frequency(pcm: &Pcm16) -> f64 {
    let s = pcm.samples();
    let crossings = s.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    crossings as f64 * 8_000.0 / s.len() as f64
}

fn assert_telephone_tone(pcm: &Pcm16, secs: f64) {
    let expected = 8_000.0 * secs;
    assert!((pcm.len() as f64 - expected).abs() < 0.1 * expected, "{} samples", pcm.len());
    let f = frequency(pcm);
    assert!((f - 440.0).abs() < 10.0, "tone came out at {f} Hz");
    // Normalised to about -20 dBFS RMS (3277), never clipped.
    assert!((2_500.0..4_200.0).contains(&pcm.rms()), "rms {}", pcm.rms());
    assert_eq!(pcm.longest_full_scale_run(), 0);
}

#[test]
fn wav_44k1_stereo_becomes_8k_mono() {
    let pcm = decode_audio(&stereo_wav(44_100, 440.0, 2.0, 0.8)).unwrap();
    assert_telephone_tone(&pcm, 2.0);
}

#[test]
fn mp3_becomes_8k_mono() {
    // tests/fixtures/tone440.mp3: 1 s of 440 Hz, 44.1 kHz stereo, 48 kbit/s, made once with
    // `sox -n -r 44100 -c 2 t.wav synth 1.0 sine 440 vol 0.5 && sox t.wav -C 48 tone440.mp3`.
    let pcm = decode_audio(MP3_FIXTURE).unwrap();
    assert_telephone_tone(&pcm, 1.0);
}

#[test]
fn corrupt_files_are_typed_errors() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"<html>not audio</html>".to_vec()),
        ("wav header only", stereo_wav(44_100, 440.0, 2.0, 0.5)[..20].to_vec()),
        ("mp3 header then noise", {
            let mut v = MP3_FIXTURE[..4].to_vec();
            v.extend((0..4_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
            v
        }),
        ("id3 tag only", b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec()),
    ];
    for (name, bytes) in cases {
        let result = decode_audio(&bytes);
        assert!(result.is_err(), "{name} decoded to {result:?}");
    }
    assert!(matches!(decode_audio(b""), Err(DecodeError::Empty)));
    assert!(matches!(decode_audio(b"%PDF-1.4"), Err(DecodeError::UnknownFormat)));
}

#[test]
fn a_truncated_mp3_still_plays_what_it_has() {
    let pcm = decode_audio(&MP3_FIXTURE[..MP3_FIXTURE.len() / 2]).unwrap();
    assert!(pcm.len() > 2_000 && pcm.len() < 6_000, "{}", pcm.len());
}

#[tokio::test]
async fn audio_store_imports_by_content_id_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = AudioStore::open(dir.path()).unwrap();
    let id = store.import(MP3_FIXTURE).await.unwrap();
    assert_eq!(store.import(MP3_FIXTURE).await.unwrap(), id, "same upload, same id");
    let wav_id = store.import(&stereo_wav(48_000, 440.0, 0.5, 0.3)).await.unwrap();
    assert_ne!(wav_id, id);

    let reopened = AudioStore::open(dir.path()).unwrap();
    let pcm = reopened.get(&id).await.unwrap().unwrap();
    assert_telephone_tone(&pcm, 1.0);
    let missing: AudioId = "nope".parse().unwrap();
    assert_eq!(reopened.get(&missing).await.unwrap(), None);

    let err = store.import(b"garbage").await.unwrap_err();
    assert!(matches!(err, ImportError::Decode(DecodeError::UnknownFormat)), "{err:?}");

    let chosen: AudioId = "yoruba-greeting".parse().unwrap();
    store.put(&chosen, &pcm).await.unwrap();
    assert!(store.contains(&chosen));
    assert_eq!(store.get(&chosen).await.unwrap(), Some(pcm));
}
