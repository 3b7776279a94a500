//! Our G.711 encoder/decoder against an independent implementation: sox, over all 65 536
//! 16-bit inputs and all 256 code words. Decoding must match exactly; encoding may differ only
//! where sox's rounding of the dropped low bits crosses a decision threshold. sox is installed by the test script (the speech test
//! needs it too); without it this test fails with a clear message.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use voicebot_media::Codec;

/// Runs `sox <in_args> - <out_args> -` over `input` and returns its output.
fn sox(input: Vec<u8>, in_args: &[&str], out_args: &[&str]) -> Vec<u8> {
    let found = Command::new("which").arg("sox").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(found, "`sox` is not installed: run `apt-get install -y sox` (the test script does)");
    let mut child = Command::new("sox")
        .arg("-D") // no dither: we want the plain quantiser
        .args(in_args)
        .arg("-")
        .args(out_args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sox starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input).expect("write to sox"));
    let mut out = Vec::new();
    child.stdout.take().expect("piped stdout").read_to_end(&mut out).expect("read from sox");
    writer.join().expect("writer thread");
    assert!(child.wait().expect("sox runs").success(), "sox failed");
    out
}

const RAW16: [&str; 12] =
    ["-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1", "-L", ""];

fn raw16() -> Vec<&'static str> {
    RAW16[..11].to_vec()
}

#[test]
fn decoders_match_sox_exactly_encoders_up_to_rounding() {
    let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    let pcm_bytes: Vec<u8> = all.iter().flat_map(|s| s.to_le_bytes()).collect();
    let codes: Vec<u8> = (0..=255).collect();
    for (codec, name) in [(Codec::Pcmu, "u-law"), (Codec::Pcma, "a-law")] {
        let law = ["-t", "raw", "-r", "8000", "-e", name, "-b", "8", "-c", "1"];
        let encoded = sox(pcm_bytes.clone(), &raw16(), &law);
        assert_eq!(encoded.len(), all.len(), "{name}: sox output length");
        // sox rounds 16 → 14/13 bits to nearest; G.191 truncates (one's complement for
        // negatives). So the two may pick neighbouring codes, but only for inputs within one
        // dropped-bits LSB of a decision threshold: nudging x by at most that LSB must give
        // sox's code.
        let lsb = if codec == Codec::Pcmu { 4 } else { 8 };
        let mut boundary = 0;
        for (&x, &theirs) in all.iter().zip(&encoded) {
            let ours = codec.encode_sample(x);
            if ours == theirs {
                continue;
            }
            let near = (-lsb..=lsb)
                .any(|d| i16::try_from(i32::from(x) + d).is_ok_and(|y| codec.encode_sample(y) == theirs));
            assert!(near, "{name}: {x} encodes to {ours:#04x}, sox {theirs:#04x}: not a threshold case");
            boundary += 1;
        }
        eprintln!("{name}: {boundary} of 65536 inputs differ from sox, all at decision thresholds");
        assert!(boundary < 2048, "{name}: too many threshold differences: {boundary}");
        let decoded = sox(codes.clone(), &law, &raw16());
        let theirs: Vec<i16> = decoded.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        let ours: Vec<i16> = codes.iter().map(|&c| codec.decode_sample(c)).collect();
        assert_eq!(ours, theirs, "{name} decode differs from sox");
    }
}
