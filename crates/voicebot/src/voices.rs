//! The accent table the API validates against. Until the TTS crate's table is wired in,
//! every accent of CONTRACT.md §4 is listed with both genders.

use voicebot_api::{VoiceEntry, Voices};

/// The hosted product's accent names plus english (CONTRACT.md §4).
pub const ACCENTS: [&str; 46] = [
    "afrikaans",
    "akan",
    "amharic",
    "arabic",
    "bajju",
    "bekwarra",
    "benin",
    "bette",
    "chichewa",
    "ebira",
    "eggon",
    "english",
    "epie",
    "estako",
    "french",
    "fulani",
    "ga",
    "gerawa",
    "hausa",
    "ibibio",
    "idoma",
    "igala",
    "igbo",
    "ijaw",
    "isindebele",
    "isoko",
    "kanuri",
    "kinyarwanda",
    "luganda",
    "nupe",
    "nyandang",
    "ogbia",
    "ogoni",
    "pidgin",
    "sepedi",
    "sesotho",
    "shona",
    "siswati",
    "swahili",
    "tiv",
    "tswana",
    "twi",
    "urhobo",
    "xhosa",
    "yoruba",
    "zulu",
];

pub fn table() -> Voices {
    Voices {
        entries: ACCENTS
            .iter()
            .map(|a| VoiceEntry {
                accent: a.to_string(),
                genders: vec!["female".into(), "male".into()],
                native: *a == "english",
                engine: "espeak-ng".into(),
            })
            .collect(),
    }
}
