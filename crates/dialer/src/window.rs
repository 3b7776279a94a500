//! Calling windows in the recipient's local time.
//!
//! The recipient's country comes from the E.164 number (`phonenumber`), its time zone from a
//! small country table (`chrono-tz`) that config can extend or override; unknown or
//! multi-zone countries fall back to a configured zone (UTC by default). A call outside the
//! window is never dropped: it waits for [`WindowPolicy::next_opening`].

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration as ChronoDuration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a window setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// Not an IANA time zone name.
    #[error("unknown time zone '{0}'")]
    UnknownZone(String),
    /// Not `HH:MM`.
    #[error("'{0}' is not a time of day (HH:MM)")]
    BadTime(String),
}

/// Single-zone countries voicebot's callers dial most, ISO 3166 alpha-2 → IANA zone.
/// Multi-zone countries (US, CA, AU, BR, CD, RU, ...) are left to the fallback or config.
const COUNTRY_ZONES: &[(&str, Tz)] = &[
    ("NG", Tz::Africa__Lagos),
    ("GH", Tz::Africa__Accra),
    ("KE", Tz::Africa__Nairobi),
    ("ZA", Tz::Africa__Johannesburg),
    ("UG", Tz::Africa__Kampala),
    ("RW", Tz::Africa__Kigali),
    ("ET", Tz::Africa__Addis_Ababa),
    ("MW", Tz::Africa__Blantyre),
    ("ZW", Tz::Africa__Harare),
    ("ZM", Tz::Africa__Lusaka),
    ("TZ", Tz::Africa__Dar_es_Salaam),
    ("BW", Tz::Africa__Gaborone),
    ("NA", Tz::Africa__Windhoek),
    ("LS", Tz::Africa__Maseru),
    ("SZ", Tz::Africa__Mbabane),
    ("MZ", Tz::Africa__Maputo),
    ("BI", Tz::Africa__Bujumbura),
    ("SS", Tz::Africa__Juba),
    ("SD", Tz::Africa__Khartoum),
    ("SO", Tz::Africa__Mogadishu),
    ("CM", Tz::Africa__Douala),
    ("BJ", Tz::Africa__PortoNovo),
    ("TG", Tz::Africa__Lome),
    ("CI", Tz::Africa__Abidjan),
    ("SN", Tz::Africa__Dakar),
    ("SL", Tz::Africa__Freetown),
    ("LR", Tz::Africa__Monrovia),
    ("GM", Tz::Africa__Banjul),
    ("GN", Tz::Africa__Conakry),
    ("ML", Tz::Africa__Bamako),
    ("BF", Tz::Africa__Ouagadougou),
    ("NE", Tz::Africa__Niamey),
    ("TD", Tz::Africa__Ndjamena),
    ("EG", Tz::Africa__Cairo),
    ("MA", Tz::Africa__Casablanca),
    ("GB", Tz::Europe__London),
    ("IE", Tz::Europe__Dublin),
    ("FR", Tz::Europe__Paris),
    ("DE", Tz::Europe__Berlin),
    ("NL", Tz::Europe__Amsterdam),
    ("AE", Tz::Asia__Dubai),
    ("IN", Tz::Asia__Kolkata),
];

/// Hours of the day when calls may ring. `start > end` means the window spans midnight;
/// `start == end` means always open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingWindow {
    /// Opens (inclusive).
    pub start: NaiveTime,
    /// Closes (exclusive).
    pub end: NaiveTime,
}

impl Default for CallingWindow {
    /// 08:00–20:00 (CONTRACT.md §8).
    fn default() -> Self {
        CallingWindow {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(20, 0, 0).unwrap_or_default(),
        }
    }
}

impl CallingWindow {
    /// Parses `"08:00"` and `"20:00"`.
    pub fn parse(start: &str, end: &str) -> Result<Self, WindowError> {
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| WindowError::BadTime(s.into()));
        Ok(CallingWindow { start: t(start)?, end: t(end)? })
    }

    /// True if a call may ring at local time `t`.
    pub fn contains(&self, t: NaiveTime) -> bool {
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => self.start <= t && t < self.end,
            std::cmp::Ordering::Greater => t >= self.start || t < self.end,
        }
    }
}

/// Windows and zones for every recipient.
#[derive(Debug, Clone)]
pub struct WindowPolicy {
    /// Window for countries without their own.
    pub default_window: CallingWindow,
    /// Per-country windows (ISO alpha-2, upper case).
    pub windows: HashMap<String, CallingWindow>,
    /// Zone per country; starts as the built-in table, config may add or override.
    pub zones: HashMap<String, Tz>,
    /// Zone when the country is unknown or not in the table.
    pub fallback_zone: Tz,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        WindowPolicy {
            default_window: CallingWindow::default(),
            windows: HashMap::new(),
            zones: COUNTRY_ZONES.iter().map(|(c, z)| ((*c).to_string(), *z)).collect(),
            fallback_zone: Tz::UTC,
        }
    }
}

/// ISO alpha-2 country of an E.164 number (`+234...` → `NG`), if known.
pub fn country_of(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    number.country().id().map(|id| id.as_ref().to_string())
}

impl WindowPolicy {
    /// Sets (or overrides) a country's zone from an IANA name.
    pub fn set_zone(&mut self, country: &str, zone: &str) -> Result<(), WindowError> {
        let tz = Tz::from_str(zone).map_err(|_| WindowError::UnknownZone(zone.into()))?;
        self.zones.insert(country.to_ascii_uppercase(), tz);
        Ok(())
    }

    /// The zone and window that apply to a number.
    pub fn for_number(&self, e164: &str) -> (Tz, CallingWindow) {
        let country = country_of(e164);
        let zone = country.as_ref().and_then(|c| self.zones.get(c)).copied().unwrap_or(self.fallback_zone);
        let window =
            country.as_ref().and_then(|c| self.windows.get(c)).copied().unwrap_or(self.default_window);
        (zone, window)
    }

    /// `None` if the number may be called at `now`; otherwise the next time its window opens.
    pub fn next_opening(&self, e164: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (zone, window) = self.for_number(e164);
        let local = now.with_timezone(&zone);
        if window.contains(local.time()) {
            return None;
        }
        (0..=2).find_map(|days| {
            let date = local.date_naive() + ChronoDuration::days(days);
            let naive = date.and_time(window.start);
            // A start inside a DST gap opens an hour later.
            let at = zone
                .from_local_datetime(&naive)
                .earliest()
                .or_else(|| zone.from_local_datetime(&(naive + ChronoDuration::hours(1))).earliest())?;
            let at = at.with_timezone(&Utc);
            (at > now).then_some(at)
        })
    }
}

/// The earliest time a call may be dialed given the batch schedule: `None` = now.
pub fn schedule_wait(now: DateTime<Utc>, not_before: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    not_before.filter(|nb| *nb > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn countries_from_numbers() {
        assert_eq!(country_of("+2348031234567").as_deref(), Some("NG"));
        assert_eq!(country_of("+254712345678").as_deref(), Some("KE"));
        assert_eq!(country_of("+27821234567").as_deref(), Some("ZA"));
        assert_eq!(country_of("+265991234567").as_deref(), Some("MW"));
        assert_eq!(country_of("not a number"), None);
    }

    #[test]
    fn inside_the_window_dials_now() {
        let p = WindowPolicy::default();
        // 09:00 UTC = 10:00 in Lagos.
        assert_eq!(p.next_opening("+2348031234567", utc("2026-03-02T09:00:00Z")), None);
    }

    #[test]
    fn before_opening_waits_for_eight_local() {
        let p = WindowPolicy::default();
        // 04:00 UTC = 07:00 in Nairobi (UTC+3): opens 05:00 UTC.
        let at = p.next_opening("+254712345678", utc("2026-03-02T04:00:00Z"));
        assert_eq!(at, Some(utc("2026-03-02T05:00:00Z")));
    }

    #[test]
    fn after_closing_waits_for_next_morning() {
        let p = WindowPolicy::default();
        // 19:30 UTC = 20:30 in Lagos (UTC+1): next day 07:00 UTC.
        let at = p.next_opening("+2348031234567", utc("2026-03-02T19:30:00Z"));
        assert_eq!(at, Some(utc("2026-03-03T07:00:00Z")));
        // Johannesburg (UTC+2) at 18:30 UTC is 20:30 local.
        let at = p.next_opening("+27821234567", utc("2026-03-02T18:30:00Z"));
        assert_eq!(at, Some(utc("2026-03-03T06:00:00Z")));
    }

    #[test]
    fn unknown_country_uses_fallback_and_config_overrides() {
        let mut p = WindowPolicy::default();
        // +1 (US) is not in the table: UTC.
        assert_eq!(
            p.next_opening("+12025550123", utc("2026-03-02T07:00:00Z")),
            Some(utc("2026-03-02T08:00:00Z"))
        );
        p.set_zone("us", "America/New_York").unwrap();
        assert_eq!(
            p.next_opening("+12025550123", utc("2026-03-02T12:00:00Z")),
            Some(utc("2026-03-02T13:00:00Z"))
        );
        assert_eq!(p.set_zone("XX", "Mars/Olympus"), Err(WindowError::UnknownZone("Mars/Olympus".into())));
        p.windows.insert("NG".into(), CallingWindow::parse("09:30", "17:00").unwrap());
        let at = p.next_opening("+2348031234567", utc("2026-03-02T08:00:00Z"));
        assert_eq!(at, Some(utc("2026-03-02T08:30:00Z")));
    }

    #[test]
    fn windows_across_midnight_and_always_open() {
        let w = CallingWindow::parse("22:00", "02:00").unwrap();
        assert!(w.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        assert!(w.contains(NaiveTime::from_hms_opt(1, 0, 0).unwrap()));
        assert!(!w.contains(NaiveTime::from_hms_opt(12, 0, 0).unwrap()));
        assert!(CallingWindow::parse("00:00", "00:00").unwrap().contains(NaiveTime::MIN));
        assert_eq!(CallingWindow::parse("8am", "20:00"), Err(WindowError::BadTime("8am".into())));
    }

    #[test]
    fn dst_zone_opening() {
        let mut p = WindowPolicy::default();
        p.set_zone("GB", "Europe/London").unwrap();
        // Summer: London is UTC+1, so 08:00 local = 07:00 UTC.
        let at = p.next_opening("+442071838750", utc("2026-07-01T05:00:00Z"));
        assert_eq!(at, Some(utc("2026-07-01T07:00:00Z")));
    }

    #[test]
    fn schedule_not_before() {
        let now = utc("2026-03-02T09:00:00Z");
        assert_eq!(schedule_wait(now, Some(utc("2026-03-02T10:00:00Z"))), Some(utc("2026-03-02T10:00:00Z")));
        assert_eq!(schedule_wait(now, Some(utc("2026-03-02T08:00:00Z"))), None);
        assert_eq!(schedule_wait(now, None), None);
    }
}
