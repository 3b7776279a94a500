//! Phone numbers: E.164 (`+` and 8–15 digits), checked against numbering-plan metadata by
//! the `phonenumber` crate (libphonenumber's data) so a typo'd country code is caught at
//! intake rather than as a failed call.
//!
//! An integrator with a default country (`NG`) may also send numbers the way people write them
//! there (`0803 123 4567`, or `8031234567` after a spreadsheet dropped the leading 0): they are
//! read in that country's numbering plan and stored in E.164 like any other.

use phonenumber::country::Id;

/// Normalises an E.164 number: spaces, dashes, dots and parentheses are dropped, then the
/// number must be `+` and 8–15 digits and valid for its country.
pub fn normalize_e164(raw: &str) -> Result<String, &'static str> {
    let compact = compact(raw);
    let digits = compact.strip_prefix('+').ok_or("must be in E.164 form, starting with +")?;
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be + followed by 8 to 15 digits");
    }
    let parsed = phonenumber::parse(None, &compact).map_err(|_| "not a valid E.164 number")?;
    if !phonenumber::is_valid(&parsed) {
        return Err("not a valid phone number for its country");
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

/// [`normalize_e164`], or with a default country also a number written the local way
/// (`0803 123 4567` in `NG` → `+2348031234567`). A number starting with `+` is always read as
/// E.164. The error says how to fix the number.
pub fn normalize_phone(raw: &str, default_country: Option<&str>) -> Result<String, String> {
    let compact = compact(raw);
    let country = match default_country.and_then(country_id) {
        Some(c) if !compact.starts_with('+') => c,
        _ => {
            return normalize_e164(raw).map_err(|why| match (why, default_country) {
                ("must be in E.164 form, starting with +", None) => format!(
                    "{why}: write it with its country code (e.g. +234 803 123 4567), or set a default \
                     country for local numbers"
                ),
                _ => why.to_string(),
            });
        }
    };
    let invalid = || format!("not a valid phone number in {} (default country)", country.as_ref());
    if compact.is_empty() || !compact.bytes().all(|b| b.is_ascii_digit()) || compact.len() > 15 {
        return Err(invalid());
    }
    let parsed = phonenumber::parse(Some(country), &compact).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&parsed) {
        return Err(invalid());
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

/// The region named by an ISO 3166 alpha-2 code (`NG`, case-insensitive), if the numbering plan
/// knows it.
pub fn country_id(code: &str) -> Option<Id> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 2 {
        return None;
    }
    code.parse().ok()
}

fn compact(raw: &str) -> String {
    raw.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(normalize_e164("+2348076960623").unwrap(), "+2348076960623");
        assert_eq!(normalize_e164("+234 807-696-0623").unwrap(), "+2348076960623");
        assert_eq!(normalize_e164("+1 (415) 555-0123").unwrap(), "+14155550123");
    }

    #[test]
    fn rejects_bad_numbers() {
        for bad in
            ["2348076960623", "+234", "+23480769606231234567", "+234807696062a", "", "+999123456789", "+2341"]
        {
            assert!(normalize_e164(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_numbers_with_a_default_country() {
        for local in ["0803 123 4567", "08031234567", "803-123-4567", "(0803) 123 4567", "+234 803 123 4567"]
        {
            assert_eq!(normalize_phone(local, Some("NG")).as_deref(), Ok("+2348031234567"), "{local}");
        }
        assert_eq!(normalize_phone("0803 123 4567", Some("ng")).as_deref(), Ok("+2348031234567"));
        assert_eq!(normalize_phone("020 7946 0018", Some("GB")).as_deref(), Ok("+442079460018"));
        for bad in ["0803", "0803 123 4567 89", "0803x1234567", "", "12"] {
            let e = normalize_phone(bad, Some("NG")).unwrap_err();
            assert!(e.contains("NG"), "{bad}: {e}");
        }
    }

    #[test]
    fn without_a_default_country_the_error_says_how_to_fix_it() {
        let e = normalize_phone("0803 123 4567", None).unwrap_err();
        assert!(e.contains("+234 803 123 4567") && e.contains("default country"), "{e}");
        assert_eq!(normalize_phone("+2348031234567", None).as_deref(), Ok("+2348031234567"));
    }

    #[test]
    fn country_codes() {
        assert_eq!(country_id("ng"), Some(Id::NG));
        assert_eq!(country_id(" GB "), Some(Id::GB));
        for bad in ["", "N", "NGA", "XX", "1A"] {
            assert_eq!(country_id(bad), None, "{bad}");
        }
    }
}
