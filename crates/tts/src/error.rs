//! Error types of the crate, one enum per concern.
//!
//! [`VoiceError`] is what the API turns into a 422 at intake (unknown accent or gender);
//! [`DecodeError`] is what an upload of a corrupt recording turns into (also a 422);
//! [`TtsError`] is a failed render, which the dialer records as `tts_failed` — never a silent call.

use std::path::PathBuf;

/// An accent or gender that the voice table cannot serve, or a table file that does not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VoiceError {
    /// The accent name is not in the table; `known` lists the names that are.
    #[error("unknown voice accent {accent:?}; known accents: {}", known.join(", "))]
    UnknownAccent {
        /// The name as given.
        accent: String,
        /// Every accent name of the table, sorted.
        known: Vec<String>,
    },
    /// The gender is neither `male` nor `female`.
    #[error("unknown voice gender {gender:?}; expected \"male\" or \"female\"")]
    UnknownGender {
        /// The gender as given.
        gender: String,
    },
    /// The accent exists but has no voice for this gender.
    #[error("accent {accent:?} has no {gender} voice")]
    MissingGender {
        /// Canonical accent name.
        accent: String,
        /// The gender asked for.
        gender: crate::Gender,
    },
    /// The table file could not be read.
    #[error("cannot read voice table {path}")]
    Read {
        /// Path of the table file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The table is not valid TOML of the expected shape.
    #[error("invalid voice table: {0}")]
    Parse(#[from] toml::de::Error),
    /// An accent entry in the table has no voice at all.
    #[error("accent {accent:?} in the voice table has neither a male nor a female voice")]
    EmptyAccent {
        /// Canonical accent name.
        accent: String,
    },
}

/// Audio bytes that cannot be turned into 8 kHz mono PCM.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No bytes at all.
    #[error("audio is empty")]
    Empty,
    /// Neither a RIFF/WAVE file nor an MP3 stream.
    #[error("audio format not recognised (expected WAV or MP3)")]
    UnknownFormat,
    /// The WAV file ends before a required part.
    #[error("WAV file truncated: {0}")]
    Truncated(&'static str),
    /// The WAV header is inconsistent.
    #[error("invalid WAV header: {0}")]
    BadHeader(&'static str),
    /// A WAV encoding this crate does not decode (format tag and bits per sample).
    #[error("unsupported WAV encoding: format tag {format_tag:#06x}, {bits} bits per sample")]
    UnsupportedEncoding {
        /// WAVE format tag (1 = PCM, 3 = IEEE float, ...).
        format_tag: u16,
        /// Bits per sample.
        bits: u16,
    },
    /// The MP3 decoder rejected the stream.
    #[error("invalid MP3 stream")]
    Mp3(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The file decoded to no samples at all.
    #[error("audio contains no samples")]
    NoSamples,
    /// Longer than the import limit.
    #[error("audio is {seconds} s long; the limit is {limit} s")]
    TooLong {
        /// Duration of the input, whole seconds.
        seconds: u64,
        /// The limit, whole seconds.
        limit: u64,
    },
}

/// A render that failed; the call that needed it must not be placed silently.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TtsError {
    /// The text is empty after trimming.
    #[error("nothing to say: the text is empty")]
    EmptyText,
    /// The engine named in the voice table is not registered.
    #[error("voice table names engine {engine:?}, which is not configured")]
    UnknownEngine {
        /// Engine id from the table.
        engine: String,
    },
    /// The engine does not have the voice the table asks for.
    #[error("engine {engine} has no voice {voice:?}")]
    UnknownVoice {
        /// Engine id.
        engine: String,
        /// Voice id from the table.
        voice: String,
    },
    /// The engine program could not be started.
    #[error("cannot run {program}")]
    Spawn {
        /// Program path.
        program: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The engine program exited with an error.
    #[error("{program} failed with {status}: {stderr}")]
    EngineFailed {
        /// Program path.
        program: PathBuf,
        /// Exit status as printed by the OS.
        status: String,
        /// The first part of its standard error, for the log.
        stderr: String,
    },
    /// The engine did not finish in time.
    #[error("engine {engine} timed out after {attempts} attempt(s)")]
    Timeout {
        /// Engine id.
        engine: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The hosted TTS service answered with an error status.
    #[error("TTS service answered HTTP {status} after {attempts} attempt(s)")]
    HttpStatus {
        /// HTTP status code of the last answer.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The hosted TTS service could not be reached.
    #[error("TTS service request failed after {attempts} attempt(s)")]
    Http {
        /// Attempts made.
        attempts: u32,
        /// The last transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// The engine returned audio that does not decode.
    #[error("engine returned bad audio")]
    BadAudio(#[from] DecodeError),
    /// The engine returned silence (no sample above the floor).
    #[error("engine {engine} returned silent audio")]
    Silent {
        /// Engine id.
        engine: String,
    },
    /// Reading or writing the render cache failed.
    #[error("prompt cache I/O at {path}")]
    Cache {
        /// File involved.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The audio conversion task died (a bug, reported rather than hidden).
    #[error("audio conversion task failed")]
    TaskFailed,
    /// The voice could not be resolved from the table.
    #[error(transparent)]
    Voice(#[from] VoiceError),
}
