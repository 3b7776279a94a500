//! Splitting a message into sentences, the unit the renderer caches.
//!
//! A per-recipient message ("Hello Ada. Your appointment is tomorrow. Press 1 to confirm.") differs between
//! recipients only in the sentence that holds the variable. Rendering and caching sentence by sentence lets
//! a batch of 10 000 recipients render the shared sentences once and only the short personal sentence per
//! recipient. espeak-ng ends every sentence with falling intonation and a pause anyway, so joining
//! separately rendered sentences with a pause sounds like rendering them together.

/// Words whose trailing period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "dr", "mr", "mrs", "ms", "prof", "st", "no", "vs", "etc", "e.g", "i.e", "jr", "sr", "mt", "rev", "hon",
    "gen", "col", "capt", "sgt", "lt", "gov", "sen", "rep", "inc", "ltd", "co", "approx", "dept", "tel",
];

/// Collapses whitespace and splits into sentences at `.`, `!` or `?` followed by a word that starts with an
/// uppercase letter or a digit, except after common abbreviations and single-letter initials.
///
/// ```
/// let s = voicebot_tts::sentences("Hello Dr. Ada  Obi.  Press 1 to confirm!");
/// assert_eq!(s, vec!["Hello Dr. Ada Obi.", "Press 1 to confirm!"]);
/// ```
pub fn sentences(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        current.push(word);
        let next_starts_sentence = words
            .get(i + 1)
            .and_then(|w| w.chars().find(|c| c.is_alphanumeric()))
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit());
        if next_starts_sentence && ends_sentence(word) {
            out.push(current.join(" "));
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

fn ends_sentence(word: &str) -> bool {
    let core = word.trim_end_matches(['"', '\'', ')', ']', '”', '’']);
    let Some(last) = core.chars().last() else {
        return false;
    };
    match last {
        '!' | '?' => true,
        '.' => {
            let stem = core.trim_end_matches('.').trim_start_matches(['"', '\'', '(', '[', '“', '‘']);
            let lower = stem.to_lowercase();
            let initial = stem.chars().count() == 1 && stem.chars().all(char::is_alphabetic);
            !initial && !ABBREVIATIONS.contains(&lower.as_str())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences() {
        assert_eq!(
            sentences("Hello Ada Obi. This is Lagos clinic! Can you come? Press 1."),
            vec!["Hello Ada Obi.", "This is Lagos clinic!", "Can you come?", "Press 1."]
        );
    }

    #[test]
    fn keeps_abbreviations_initials_and_numbers() {
        assert_eq!(
            sentences("See Dr. Obi and J. K. Ade at 3.30 p.m. today."),
            vec!["See Dr. Obi and J. K. Ade at 3.30 p.m. today."]
        );
        assert_eq!(sentences("Take it slowly. then rest."), vec!["Take it slowly. then rest."]);
        assert_eq!(sentences("He said \"Stop.\" Then left."), vec!["He said \"Stop.\"", "Then left."]);
    }

    #[test]
    fn whitespace_only_is_empty() {
        assert!(sentences("  \n\t ").is_empty());
        assert_eq!(sentences(" a\n b "), vec!["a b"]);
    }
}
