//! Decoding audio bytes — recorded prompts that integrators upload, WAV from the hosted TTS service and
//! espeak-ng's output — into [`Pcm16`].
//!
//! WAV is parsed here (PCM 8/16/24/32-bit, IEEE float 32/64-bit, `WAVE_FORMAT_EXTENSIBLE`, any rate and channel
//! count). The parser tolerates the bogus chunk sizes that streaming writers (espeak-ng `--stdout`) put in the
//! header by reading the data chunk to the end of the input. MP3 goes through `symphonia`, pure Rust, so
//! uploads never shell out to sox. Every failure is a typed [`DecodeError`], which the API maps to 422.

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::dsp;
use crate::error::DecodeError;
use crate::pcm::Pcm16;

/// Longest recording accepted: 15 minutes.
pub const MAX_IMPORT_SECONDS: u64 = 15 * 60;

/// Samples as decoded, before conversion: interleaved, in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

impl Decoded {
    fn seconds(&self) -> u64 {
        self.samples.len() as u64 / u64::from(self.channels.max(1)) / u64::from(self.rate.max(1))
    }
}

/// Decodes a WAV or MP3 file (detected from its first bytes) to normalised 8 kHz mono.
///
/// ```
/// let wav = voicebot_tts::Pcm16::new(vec![1000; 800]).to_wav();
/// let pcm = voicebot_tts::decode_audio(&wav).unwrap();
/// assert_eq!(pcm.len(), 800);
/// assert!(voicebot_tts::decode_audio(b"not audio").is_err());
/// ```
pub fn decode_audio(bytes: &[u8]) -> Result<Pcm16, DecodeError> {
    let decoded = decode_any(bytes)?;
    let seconds = decoded.seconds();
    if seconds > MAX_IMPORT_SECONDS {
        return Err(DecodeError::TooLong { seconds, limit: MAX_IMPORT_SECONDS });
    }
    Ok(dsp::to_telephone(&decoded.samples, decoded.rate, decoded.channels))
}

pub(crate) fn decode_any(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let decoded = if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        decode_wav(bytes)?
    } else if looks_like_mp3(bytes) {
        decode_mp3(bytes)?
    } else {
        return Err(DecodeError::UnknownFormat);
    };
    if decoded.samples.is_empty() {
        return Err(DecodeError::NoSamples);
    }
    Ok(decoded)
}

fn looks_like_mp3(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
}

struct Format {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
}

/// Parses RIFF/WAVE. Chunk sizes past the end of input are clamped, so streamed WAV works.
pub(crate) fn decode_wav(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut pos = 12;
    let mut format: Option<Format> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(size as usize).min(bytes.len());
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => format = Some(parse_fmt(body)?),
            b"data" => {
                let fmt = format.ok_or(DecodeError::BadHeader("data chunk before fmt chunk"))?;
                return decode_samples(&fmt, body);
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        pos = body_end + (size as usize & 1);
    }
    Err(DecodeError::Truncated("no data chunk"))
}

fn parse_fmt(body: &[u8]) -> Result<Format, DecodeError> {
    if body.len() < 16 {
        return Err(DecodeError::Truncated("fmt chunk"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let bits = u16_at(14);
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the sub-format GUID.
        if body.len() < 26 {
            return Err(DecodeError::Truncated("extensible fmt chunk"));
        }
        tag = u16_at(24);
    }
    if channels == 0 || channels > 32 {
        return Err(DecodeError::BadHeader("channel count"));
    }
    if !(1_000..=768_000).contains(&rate) {
        return Err(DecodeError::BadHeader("sample rate"));
    }
    Ok(Format { tag, channels, rate, bits })
}

fn decode_samples(fmt: &Format, data: &[u8]) -> Result<Decoded, DecodeError> {
    let samples: Vec<f32> = match (fmt.tag, fmt.bits) {
        (1, 8) => data.iter().map(|&b| (f32::from(b) - 128.0) / 128.0).collect(),
        (1, 16) => {
            data.chunks_exact(2).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0).collect()
        }
        (1, 24) => data
            .chunks_exact(3)
            .map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0)
            .collect(),
        (1, 32) => data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32 / 2_147_483_648.0)
            .collect(),
        (3, 32) => {
            data.chunks_exact(4).map(|c| clean(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
        }
        (3, 64) => data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                clean(f64::from_le_bytes(b) as f32)
            })
            .collect(),
        (tag, bits) => return Err(DecodeError::UnsupportedEncoding { format_tag: tag, bits }),
    };
    // Drop a trailing partial frame.
    let whole = samples.len() - samples.len() % usize::from(fmt.channels);
    let mut samples = samples;
    samples.truncate(whole);
    Ok(Decoded { rate: fmt.rate, channels: fmt.channels, samples })
}

/// NaN and infinities from a broken float file become silence; everything else is clamped to [-1, 1].
fn clean(s: f32) -> f32 {
    if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 }
}

fn mp3_error(e: SymphoniaError) -> DecodeError {
    DecodeError::Mp3(Box::new(e))
}

/// Decodes an MP3 stream with symphonia. Frames that fail to decode are skipped, as players do; a stream
/// that yields no audio at all is an error.
pub(crate) fn decode_mp3(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let source = std::io::Cursor::new(bytes.to_vec());
    let stream = MediaSourceStream::new(Box::new(source), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(mp3_error)?;
    let mut reader = probed.format;
    let track = reader.default_track().ok_or(DecodeError::NoSamples)?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(mp3_error)?;
    let (mut rate, mut channels, mut samples) = (0u32, 0u16, Vec::new());
    loop {
        let packet = match reader.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(mp3_error(e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let audio = match decoder.decode(&packet) {
            Ok(a) => a,
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(mp3_error(e)),
        };
        let spec = *audio.spec();
        rate = spec.rate;
        channels = spec.channels.count() as u16;
        let mut buf = SampleBuffer::<f32>::new(audio.capacity() as u64, spec);
        buf.copy_interleaved_ref(audio);
        samples.extend(buf.samples().iter().map(|&s| clean(s)));
        if samples.len() as u64 > (MAX_IMPORT_SECONDS + 1) * 48_000 * 2 {
            break;
        }
    }
    if samples.is_empty() || rate == 0 || channels == 0 {
        return Err(DecodeError::NoSamples);
    }
    Ok(Decoded { rate, channels, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        let align = channels * bits / 8;
        out.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        out.extend_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd-sized chunk with pad byte
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn decodes_each_encoding() {
        let d = decode_wav(&wav(1, 1, 8000, 8, &[128, 255, 0])).unwrap();
        assert_eq!(d.samples, vec![0.0, 127.0 / 128.0, -1.0]);
        let d = decode_wav(&wav(1, 2, 44_100, 16, &[0, 0x40, 0, 0xC0])).unwrap();
        assert_eq!((d.rate, d.channels), (44_100, 2));
        assert_eq!(d.samples, vec![0.5, -0.5]);
        let d = decode_wav(&wav(1, 1, 8000, 24, &[0, 0, 0x40])).unwrap();
        assert_eq!(d.samples, vec![0.5]);
        let d = decode_wav(&wav(1, 1, 8000, 32, &0x4000_0000i32.to_le_bytes())).unwrap();
        assert_eq!(d.samples, vec![0.5]);
        let d = decode_wav(&wav(3, 1, 8000, 32, &0.25f32.to_le_bytes())).unwrap();
        assert_eq!(d.samples, vec![0.25]);
        let d = decode_wav(&wav(3, 1, 8000, 64, &f64::NAN.to_le_bytes())).unwrap();
        assert_eq!(d.samples, vec![0.0]);
    }

    #[test]
    fn streamed_sizes_are_tolerated() {
        let mut w = wav(1, 1, 22_050, 16, &[1, 0, 2, 0]);
        let n = w.len();
        w[n - 8..n - 4].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        assert_eq!(decode_wav(&w).unwrap().samples.len(), 2);
    }

    #[test]
    fn corrupt_input_is_a_typed_error() {
        assert!(matches!(decode_any(b""), Err(DecodeError::Empty)));
        assert!(matches!(decode_any(b"hello world"), Err(DecodeError::UnknownFormat)));
        assert!(matches!(decode_any(b"RIFF\0\0\0\0WAVE"), Err(DecodeError::Truncated(_))));
        let alaw = wav(6, 1, 8000, 8, &[1, 2]);
        assert!(matches!(
            decode_any(&alaw),
            Err(DecodeError::UnsupportedEncoding { format_tag: 6, bits: 8 })
        ));
        let no_rate = wav(1, 1, 0, 16, &[1, 2]);
        assert!(matches!(decode_any(&no_rate), Err(DecodeError::BadHeader(_))));
        let empty = wav(1, 1, 8000, 16, &[]);
        assert!(matches!(decode_any(&empty), Err(DecodeError::NoSamples)));
        let mut junk_mp3 = b"ID3\x04\0\0\0\0\0\0".to_vec();
        junk_mp3.extend(std::iter::repeat_n(0x55u8, 2_000));
        assert!(decode_audio(&junk_mp3).is_err());
    }
}
