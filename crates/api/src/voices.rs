//! The accent table as the API sees it: which `tts_voice_accent` names exist, with which
//! genders, built from the TTS crate's [`voicebot_tts::VoiceTable`].

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
    /// Engines that speak it.
    pub engines: Vec<String>,
    /// Per-gender detail (engine, native).
    pub voices: Vec<voicebot_tts::GenderInfo>,
}

/// All accents.
#[derive(Debug, Clone, Default)]
pub struct Voices {
    /// Entries, sorted by accent.
    pub entries: Vec<VoiceEntry>,
}

impl Voices {
    /// The API's view of a voice table.
    pub fn from_table(table: &voicebot_tts::VoiceTable) -> Self {
        let entries = table
            .voices()
            .into_iter()
            .map(|v| VoiceEntry {
                accent: v.name.to_ascii_lowercase(),
                genders: v.genders.iter().map(|g| g.as_str().to_string()).collect(),
                native: v.native,
                engines: v.engines,
                voices: v.voices,
            })
            .collect();
        Voices { entries }
    }

    /// Finds an accent (case-insensitive).
    pub fn find(&self, accent: &str) -> Option<&VoiceEntry> {
        self.entries.iter().find(|e| e.accent.eq_ignore_ascii_case(accent))
    }

    /// Accent names, for error messages.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.accent.as_str()).collect()
    }
}
