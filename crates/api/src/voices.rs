//! The accent table as the API sees it: which `tts_voice_accent` names exist, with which
//! genders. Filled by the binary from the TTS crate's table.

use serde::Serialize;

/// One accent.
#[derive(Debug, Clone, Serialize)]
pub struct VoiceEntry {
    /// Lower-case accent name (`igbo`).
    pub accent: String,
    /// Genders it has (`female`, `male`).
    pub genders: Vec<String>,
    /// False when the accent is spoken by a stand-in voice (English with tuned prosody).
    pub native: bool,
    /// Engine that speaks it.
    pub engine: String,
}

/// All accents.
#[derive(Debug, Clone, Default)]
pub struct Voices {
    /// Entries, sorted by accent.
    pub entries: Vec<VoiceEntry>,
}

impl Voices {
    /// Finds an accent (case-insensitive).
    pub fn find(&self, accent: &str) -> Option<&VoiceEntry> {
        self.entries.iter().find(|e| e.accent.eq_ignore_ascii_case(accent))
    }

    /// Accent names, for error messages.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.accent.as_str()).collect()
    }
}
