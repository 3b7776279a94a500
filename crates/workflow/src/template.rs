//! Prompt templates: `[name]` (the hosted product's form) and `{{name}}` (ours).
//!
//! Parsed once into literal and variable parts so that intake can list the variables a
//! workflow needs and check thousands of recipients cheaply. Text in brackets that is not
//! an identifier (`[sic]` is an identifier, `[see page 2]` is not) stays literal.

use std::collections::BTreeMap;

/// Variable values of one recipient (`workflow_variables`), already turned into text.
pub type Variables = BTreeMap<String, String>;

/// A recipient's stored `workflow_variables` (the JSON object intake accepted) as text values:
/// strings as they are, numbers and booleans as their JSON text. The dialer, the pre-render and
/// the call-audio route all read variables through this, so they speak the same words.
pub fn variables_from_json(json: &str) -> Result<Variables, serde_json::Error> {
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// A template split into literal text and variable references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A variable the template uses that the recipient did not supply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing variable '{0}'")]
pub struct MissingVariable(pub String);

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl Template {
    /// Splits `source` into parts. Never fails: anything that is not a placeholder is text.
    pub fn parse(source: &str) -> Self {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while !rest.is_empty() {
            if let Some((name, len)) = placeholder_at(rest) {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Var(name.to_string()));
                rest = &rest[len..];
            } else {
                let c = rest.chars().next().unwrap_or_default();
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Template { parts }
    }

    /// Variable names in order of first use, without repeats.
    pub fn variables(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Var(name) = part
                && !seen.contains(&name.as_str())
            {
                seen.push(name);
            }
        }
        seen
    }

    /// Substitutes every variable; fails on the first one missing from `vars`.
    pub fn render(&self, vars: &Variables) -> Result<String, MissingVariable> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => return Err(MissingVariable(name.clone())),
                },
            }
        }
        Ok(out)
    }

    /// Length in characters after substitution, treating missing variables as empty.
    pub fn rendered_len(&self, vars: &Variables) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.chars().count(),
                Part::Var(name) => vars.get(name).map_or(0, |v| v.chars().count()),
            })
            .sum()
    }
}

/// Recognises `{{ name }}` or `[name]` at the start of `s`: returns the name and the byte length.
fn placeholder_at(s: &str) -> Option<(&str, usize)> {
    if let Some(inner) = s.strip_prefix("{{") {
        let end = inner.find("}}")?;
        let name = inner[..end].trim();
        return is_identifier(name).then_some((name, end + 4));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let end = inner.find(']')?;
        let name = &inner[..end];
        return is_identifier(name).then_some((name, end + 2));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_variables_become_text() {
        let got = variables_from_json(r#"{"name": "James", "age": 42, "ok": true}"#).unwrap();
        assert_eq!(got, vars(&[("age", "42"), ("name", "James"), ("ok", "true")]));
        assert!(variables_from_json("[1]").is_err());
    }

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn both_placeholder_forms() {
        let t = Template::parse("Hello [name], see {{clinic}} on {{ date }}.");
        assert_eq!(t.variables(), vec!["name", "clinic", "date"]);
        let out = t.render(&vars(&[("name", "James"), ("clinic", "Ikeja"), ("date", "Monday")])).unwrap();
        assert_eq!(out, "Hello James, see Ikeja on Monday.");
    }

    #[test]
    fn non_identifiers_stay_literal() {
        let t = Template::parse("Call [see page 2] or {{}} or [ or {{x");
        assert!(t.variables().is_empty());
        assert_eq!(t.render(&Variables::new()).unwrap(), "Call [see page 2] or {{}} or [ or {{x");
    }

    #[test]
    fn missing_variable_is_named() {
        let t = Template::parse("Hi [name] [name] [time]");
        assert_eq!(t.variables(), vec!["name", "time"]);
        let err = t.render(&vars(&[("name", "A")])).unwrap_err();
        assert_eq!(err, MissingVariable("time".into()));
    }

    #[test]
    fn unicode_text_is_kept() {
        let t = Template::parse("Ẹ ku àárọ̀ [name] — ✓");
        assert_eq!(t.render(&vars(&[("name", "Ṣadé")])).unwrap(), "Ẹ ku àárọ̀ Ṣadé — ✓");
        assert_eq!(t.rendered_len(&vars(&[("name", "Ṣadé")])), "Ẹ ku àárọ̀ Ṣadé — ✓".chars().count());
    }
}
