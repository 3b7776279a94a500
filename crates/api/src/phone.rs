//! Phone numbers: E.164 (`+` and 8–15 digits), checked against numbering-plan metadata by
//! the `phonenumber` crate (libphonenumber's data) so a typo'd country code is caught at
//! intake rather than as a failed call.

/// Normalises an E.164 number: spaces, dashes, dots and parentheses are dropped, then the
/// number must be `+` and 8–15 digits and valid for its country.
pub fn normalize_e164(raw: &str) -> Result<String, &'static str> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
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

#[cfg(test)]
mod tests {
    use super::normalize_e164;

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
            assert!(normalize_e164(bad).is_err(), "{bad} accepted");
        }
    }
}
