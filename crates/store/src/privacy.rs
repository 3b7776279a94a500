//! What may appear in logs about a patient. Phone numbers are personal data: logs carry them
//! masked (`+234807*****23`), enough for an operator to tell calls apart and match a complaint,
//! not enough to dial. Template variables (names, dates) are never logged at INFO at all.

/// Masks an E.164 number: keeps the `+`, the first six digits (country and network code) and
/// the last two; every other digit becomes `*`. Short or odd input is masked whole.
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if digits < 9 {
        return "*".repeat(phone.chars().count());
    }
    let mut seen = 0;
    phone
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= 6 || seen > digits - 2 { c } else { '*' }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mask_phone;

    #[test]
    fn keeps_prefix_and_last_two() {
        assert_eq!(mask_phone("+2348071234523"), "+234807*****23");
        assert_eq!(mask_phone("+14155550123"), "+141555***23");
    }

    #[test]
    fn short_or_odd_input_is_masked_whole() {
        assert_eq!(mask_phone("+12345"), "******");
        assert_eq!(mask_phone(""), "");
    }
}
