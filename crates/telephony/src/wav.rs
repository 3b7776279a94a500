//! WAV files (8 kHz mono PCM16) for the virtual phone's recordings and the prompts `dial` plays, via hound.

use std::path::Path;

use crate::error::TelephonyError;

/// Writes `pcm` as an 8 kHz mono 16-bit WAV.
pub fn write_wav(path: &Path, pcm: &[i16]) -> Result<(), TelephonyError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let err = |source| TelephonyError::Wav { path: path.display().to_string(), source };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in pcm {
        w.write_sample(s).map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// Reads an 8 kHz 16-bit WAV; a multi-channel file gives its first channel.
pub fn read_wav(path: &Path) -> Result<Vec<i16>, TelephonyError> {
    let err = |source| TelephonyError::Wav { path: path.display().to_string(), source };
    let mut r = hound::WavReader::open(path).map_err(err)?;
    let spec = r.spec();
    if spec.sample_rate != 8000
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(TelephonyError::WavFormat(path.display().to_string()));
    }
    let channels = usize::from(spec.channels.max(1));
    let samples: Result<Vec<i16>, _> = r.samples::<i16>().step_by(channels).collect();
    samples.map_err(err)
}

/// Root-mean-square level of `pcm` (0 for an empty slice).
pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / pcm.len() as f64).sqrt()
}
