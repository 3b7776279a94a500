//! The accent table: which engine, voice, rate and pitch speak each `tts_voice_accent` × gender.
//!
//! The shipped default (`crates/tts/voices.toml`, compiled in) covers every accent of CONTRACT.md §4 plus
//! `english`; an operator file is merged over it. Lookup is case-insensitive. The API validates a batch's
//! accent and gender with [`VoiceTable::resolve`] (a [`VoiceError`] is a 422) and lists the table with
//! [`VoiceTable::voices`] for `GET /voicebot/v1/voices`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::VoiceError;

/// The table shipped with the crate.
pub const DEFAULT_TABLE: &str = include_str!("../voices.toml");

/// Voice gender, as in `tts_voice_gender`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// `female` (the contract's default).
    #[default]
    Female,
    /// `male`.
    Male,
}

impl Gender {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Gender {
    type Err = VoiceError;

    /// Case-insensitive `male` / `female`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "female" => Ok(Gender::Female),
            "male" => Ok(Gender::Male),
            _ => Err(VoiceError::UnknownGender { gender: s.to_owned() }),
        }
    }
}

/// Everything an engine needs to speak in one voice; also part of the render cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VoiceSpec {
    /// Canonical (lowercase) accent name.
    pub accent: String,
    /// Gender.
    pub gender: Gender,
    /// Engine id (`espeak-ng`, `http`).
    pub engine: String,
    /// Engine-specific voice id (espeak-ng: `en+f3`; http: the accent sent to the service).
    pub voice: String,
    /// Speaking rate, words per minute.
    pub rate: u32,
    /// Pitch, 0–99.
    pub pitch: u32,
    /// Whether the engine really speaks this accent's language.
    pub native: bool,
}

/// One gender's voice in a table file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VoiceEntry {
    engine: String,
    voice: String,
    #[serde(default = "default_rate")]
    rate: u32,
    #[serde(default = "default_pitch")]
    pitch: u32,
    /// Overrides the accent's `native` for this gender.
    #[serde(default)]
    native: Option<bool>,
}

fn default_rate() -> u32 {
    150
}

fn default_pitch() -> u32 {
    50
}

/// One accent in a table file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccentEntry {
    #[serde(default)]
    native: bool,
    female: Option<VoiceEntry>,
    male: Option<VoiceEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[serde(default)]
    accents: BTreeMap<String, AccentEntry>,
}

/// One gender of an accent, as listed by `GET /voicebot/v1/voices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenderInfo {
    /// The gender.
    pub gender: Gender,
    /// Engine id that speaks it.
    pub engine: String,
    /// Whether that voice really speaks the language.
    pub native: bool,
}

/// One accent, as listed by `GET /voicebot/v1/voices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoiceInfo {
    /// Canonical accent name.
    pub name: String,
    /// Genders available, female first.
    pub genders: Vec<Gender>,
    /// True when every gender's voice is native.
    pub native: bool,
    /// Engines used, deduplicated, in gender order.
    pub engines: Vec<String>,
    /// Per-gender detail.
    pub voices: Vec<GenderInfo>,
}

/// The accent → voice table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceTable {
    accents: BTreeMap<String, AccentEntry>,
}

impl Default for VoiceTable {
    /// The shipped table.
    fn default() -> Self {
        // The shipped file is checked by this crate's tests; failing to parse it is a build defect.
        Self::from_toml_str(DEFAULT_TABLE).expect("shipped voices.toml parses")
    }
}

impl VoiceTable {
    /// Parses a complete table.
    pub fn from_toml_str(text: &str) -> Result<Self, VoiceError> {
        let file: TableFile = toml::from_str(text)?;
        let mut accents = BTreeMap::new();
        for (name, entry) in file.accents {
            let name = name.trim().to_ascii_lowercase();
            if entry.female.is_none() && entry.male.is_none() {
                return Err(VoiceError::EmptyAccent { accent: name });
            }
            accents.insert(name, entry);
        }
        Ok(Self { accents })
    }

    /// The shipped table with the accents of the file at `path` replacing or adding entries.
    pub fn load_with_overrides(path: &Path) -> Result<Self, VoiceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| VoiceError::Read { path: path.to_owned(), source })?;
        Ok(Self::default().merged_with(Self::from_toml_str(&text)?))
    }

    /// This table with `other`'s accents replacing or adding whole entries.
    pub fn merged_with(mut self, other: VoiceTable) -> Self {
        self.accents.extend(other.accents);
        self
    }

    /// Number of accents.
    pub fn len(&self) -> usize {
        self.accents.len()
    }

    /// True when the table has no accents.
    pub fn is_empty(&self) -> bool {
        self.accents.is_empty()
    }

    /// Accent names, sorted.
    pub fn accent_names(&self) -> Vec<String> {
        self.accents.keys().cloned().collect()
    }

    /// Case-insensitive: is this accent in the table?
    pub fn contains(&self, accent: &str) -> bool {
        self.accents.contains_key(&accent.trim().to_ascii_lowercase())
    }

    /// The voice for an accent (case-insensitive) and gender.
    pub fn resolve(&self, accent: &str, gender: Gender) -> Result<VoiceSpec, VoiceError> {
        let name = accent.trim().to_ascii_lowercase();
        let entry = self.accents.get(&name).ok_or_else(|| VoiceError::UnknownAccent {
            accent: accent.to_owned(),
            known: self.accent_names(),
        })?;
        let voice = match gender {
            Gender::Female => entry.female.as_ref(),
            Gender::Male => entry.male.as_ref(),
        }
        .ok_or_else(|| VoiceError::MissingGender { accent: name.clone(), gender })?;
        Ok(VoiceSpec {
            accent: name,
            gender,
            engine: voice.engine.clone(),
            voice: voice.voice.clone(),
            rate: voice.rate,
            pitch: voice.pitch,
            native: voice.native.unwrap_or(entry.native),
        })
    }

    /// Like [`VoiceTable::resolve`] with the gender as text (`male` / `female`, case-insensitive).
    pub fn resolve_str(&self, accent: &str, gender: &str) -> Result<VoiceSpec, VoiceError> {
        self.resolve(accent, gender.parse()?)
    }

    /// Every voice of the table (each accent × each gender it has).
    pub fn specs(&self) -> Vec<VoiceSpec> {
        let mut out = Vec::new();
        for name in self.accents.keys() {
            for gender in [Gender::Female, Gender::Male] {
                if let Ok(spec) = self.resolve(name, gender) {
                    out.push(spec);
                }
            }
        }
        out
    }

    /// The listing for `GET /voicebot/v1/voices`, sorted by name.
    pub fn voices(&self) -> Vec<VoiceInfo> {
        let mut by_accent: BTreeMap<String, Vec<VoiceSpec>> = BTreeMap::new();
        for spec in self.specs() {
            by_accent.entry(spec.accent.clone()).or_default().push(spec);
        }
        by_accent
            .into_iter()
            .map(|(name, specs)| {
                let mut engines: Vec<String> = Vec::new();
                for s in &specs {
                    if !engines.contains(&s.engine) {
                        engines.push(s.engine.clone());
                    }
                }
                VoiceInfo {
                    name,
                    genders: specs.iter().map(|s| s.gender).collect(),
                    native: specs.iter().all(|s| s.native),
                    engines,
                    voices: specs
                        .iter()
                        .map(|s| GenderInfo { gender: s.gender, engine: s.engine.clone(), native: s.native })
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT_ACCENTS: &str = "afrikaans, akan, amharic, arabic, bajju, bekwarra, benin, bette, chichewa, \
        ebira, eggon, epie, estako, french, fulani, ga, gerawa, hausa, ibibio, idoma, igala, igbo, ijaw, \
        isindebele, isoko, kanuri, kinyarwanda, luganda, nupe, nyandang, ogbia, ogoni, pidgin, sepedi, sesotho, \
        shona, siswati, swahili, tiv, tswana, twi, urhobo, xhosa, yoruba, zulu";

    #[test]
    fn shipped_table_covers_the_contract() {
        let table = VoiceTable::default();
        let names: Vec<&str> = CONTRACT_ACCENTS.split(", ").collect();
        assert_eq!(names.len(), 45);
        for name in &names {
            for gender in [Gender::Female, Gender::Male] {
                table.resolve(name, gender).unwrap();
            }
        }
        assert_eq!(table.len(), 46);
        assert!(table.contains("english"));
        assert_eq!(table.specs().len(), 92);
    }

    #[test]
    fn native_where_espeak_speaks_the_language() {
        let table = VoiceTable::default();
        let native: Vec<String> = table.voices().into_iter().filter(|v| v.native).map(|v| v.name).collect();
        let expected = ["afrikaans", "amharic", "arabic", "english", "french", "swahili", "tswana"];
        assert_eq!(native, expected);
        let yoruba = table.resolve("yoruba", Gender::Male).unwrap();
        assert!(!yoruba.native);
        assert!(yoruba.voice.starts_with("en+"));
        assert_ne!(yoruba, table.resolve("english", Gender::Male).unwrap());
    }

    #[test]
    fn lookup_is_case_insensitive_and_errors_are_typed() {
        let table = VoiceTable::default();
        let spec = table.resolve_str(" Yoruba", "FEMALE").unwrap();
        assert_eq!((spec.accent.as_str(), spec.gender), ("yoruba", Gender::Female));
        match table.resolve("klingon", Gender::Male) {
            Err(VoiceError::UnknownAccent { known, .. }) => assert_eq!(known.len(), 46),
            other => panic!("{other:?}"),
        }
        assert!(matches!(table.resolve_str("english", "other"), Err(VoiceError::UnknownGender { .. })));
    }

    #[test]
    fn overrides_merge_and_missing_gender_is_reported() {
        let file = r#"
            [accents.Yoruba]
            native = true
            female = { engine = "http", voice = "yoruba" }
        "#;
        let table = VoiceTable::default().merged_with(VoiceTable::from_toml_str(file).unwrap());
        assert_eq!(table.len(), 46);
        let spec = table.resolve("yoruba", Gender::Female).unwrap();
        assert_eq!((spec.engine.as_str(), spec.native, spec.rate), ("http", true, 150));
        assert!(matches!(table.resolve("yoruba", Gender::Male), Err(VoiceError::MissingGender { .. })));
        let info = table.voices().into_iter().find(|v| v.name == "yoruba").unwrap();
        assert_eq!(info.genders, vec![Gender::Female]);
        assert_eq!(info.engines, vec!["http".to_owned()]);
    }

    #[test]
    fn bad_files_are_rejected() {
        assert!(matches!(
            VoiceTable::from_toml_str("[accents.x]\nnative = true"),
            Err(VoiceError::EmptyAccent { .. })
        ));
        assert!(matches!(
            VoiceTable::from_toml_str("[accents.x]\nfemale = { engine = 1 }"),
            Err(VoiceError::Parse(_))
        ));
        let missing = VoiceTable::load_with_overrides(Path::new("/nonexistent/voices.toml"));
        assert!(matches!(missing, Err(VoiceError::Read { .. })));
    }
}
