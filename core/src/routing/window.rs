//! Weekday and time-of-day windows, in the tenant's local time.
//!
//! `hours = "09:00-18:00"` holds from 09:00 up to (not including) 18:00.
//! A window whose end is before its start crosses midnight:
//! `"22:00-06:00"`. With `days`, such a window belongs to the day it
//! starts on: `days = ["fri"]` and `hours = "22:00-06:00"` is Friday 22:00
//! to Saturday 06:00.

use jiff::civil::{DateTime, Weekday};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Monday first; `None` means every day.
    pub days: Option<[bool; 7]>,
    /// Minutes since midnight, start inclusive, end exclusive (`1440` is
    /// 24:00); `None` means all day.
    pub hours: Option<(u16, u16)>,
    /// As written, for explanations.
    pub text: String,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(name: &str) -> Option<usize> {
    let n = name.trim().to_ascii_lowercase();
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAY_NAMES
        .iter()
        .position(|d| *d == n)
        .or_else(|| full.iter().position(|d| *d == n))
}

/// `"mon"`, `"sat-sun"`, `"fri-mon"` (wraps) into the days they name.
pub fn parse_days(items: &[&str]) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for item in items {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let (Some(a), Some(b)) = (day_index(a), day_index(b)) else {
            return Err(format!(
                "`{item}` is not a day or a day range like `mon-fri` (days: {})",
                DAY_NAMES.join(", ")
            ));
        };
        let mut d = a;
        loop {
            days[d] = true;
            if d == b {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(days)
}

fn minutes(s: &str, allow_24: bool) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    match (h, m) {
        (24, 0) if allow_24 => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// `"09:00-18:00"`, `"22:00-06:00"`, `"00:00-24:00"`.
pub fn parse_hours(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{text}` is not a time window like `09:00-18:00` or `22:00-06:00`");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let start = minutes(a, false).ok_or_else(bad)?;
    let end = minutes(b, true).ok_or_else(bad)?;
    if start == end || (start == 0 && end == 1440) {
        return Err(format!(
            "`{text}` is every hour of the day: leave `hours` out instead"
        ));
    }
    Ok((start, end))
}

fn weekday_index(w: Weekday) -> usize {
    match w {
        Weekday::Monday => 0,
        Weekday::Tuesday => 1,
        Weekday::Wednesday => 2,
        Weekday::Thursday => 3,
        Weekday::Friday => 4,
        Weekday::Saturday => 5,
        Weekday::Sunday => 6,
    }
}

impl Window {
    /// The days it holds on, Monday first; `None`: every day.
    pub fn day_names(&self) -> Option<Vec<&'static str>> {
        let days = self.days?;
        Some(
            DAY_NAMES
                .iter()
                .zip(days)
                .filter_map(|(name, on)| on.then_some(*name))
                .collect(),
        )
    }

    /// Its hours as `"09:00-18:00"`; `None`: all day.
    pub fn hours_text(&self) -> Option<String> {
        let (start, end) = self.hours?;
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        Some(format!("{}-{}", hhmm(start), hhmm(end)))
    }

    /// Whether local time `t` falls inside; `Err` says why not.
    pub fn check(&self, t: DateTime) -> Result<(), String> {
        let today = weekday_index(t.weekday());
        let day_ok = |d: usize| self.days.is_none_or(|days| days[d]);
        let now = t.hour() as u16 * 60 + t.minute() as u16;
        let inside = match self.hours {
            None => day_ok(today),
            Some((start, end)) if start < end => (start..end).contains(&now) && day_ok(today),
            // Crosses midnight: the small hours belong to the day before.
            Some((start, end)) => {
                (now >= start && day_ok(today)) || (now < end && day_ok((today + 6) % 7))
            }
        };
        if inside {
            Ok(())
        } else {
            Err(format!(
                "{} {:02}:{:02} is outside {}",
                DAY_NAMES[today],
                t.hour(),
                t.minute(),
                self.text
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn window(days: Option<&[&str]>, hours: Option<&str>) -> Window {
        Window {
            days: days.map(|d| parse_days(d).unwrap()),
            hours: hours.map(|h| parse_hours(h).unwrap()),
            text: "w".into(),
        }
    }

    #[test]
    fn days_and_hours_read_back_as_written() {
        let w = window(Some(&["fri-mon"]), Some("22:00-24:00"));
        assert_eq!(w.day_names(), Some(vec!["mon", "fri", "sat", "sun"]));
        assert_eq!(w.hours_text().as_deref(), Some("22:00-24:00"));
        let always = window(None, None);
        assert_eq!((always.day_names(), always.hours_text()), (None, None));
    }

    /// 2026-11-27 is a Friday.
    fn fri(h: i8, m: i8) -> DateTime {
        date(2026, 11, 27).at(h, m, 0, 0)
    }
    fn sat(h: i8, m: i8) -> DateTime {
        date(2026, 11, 28).at(h, m, 0, 0)
    }

    #[test]
    fn days_and_ranges() {
        assert_eq!(
            parse_days(&["mon-fri"]).unwrap(),
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            parse_days(&["fri-mon"]).unwrap(),
            [true, false, false, false, true, true, true]
        );
        assert_eq!(
            parse_days(&["Saturday", "sun"]).unwrap(),
            [false, false, false, false, false, true, true]
        );
        assert!(parse_days(&["someday"]).is_err());
        assert!(parse_hours("9-18").is_err());
        assert!(parse_hours("09:00-09:00").is_err());
        assert!(parse_hours("00:00-24:00").is_err());
        assert!(parse_hours("24:00-06:00").is_err());
        assert_eq!(parse_hours("18:00-24:00").unwrap(), (1080, 1440));
    }

    #[test]
    fn windows_across_midnight_belong_to_their_start_day() {
        /// `(days, hours, local time, inside?)`
        type Case<'a> = (Option<&'a [&'a str]>, Option<&'a str>, DateTime, bool);
        let table: &[Case] = &[
            (None, Some("09:00-18:00"), fri(9, 0), true),
            (None, Some("09:00-18:00"), fri(17, 59), true),
            (None, Some("09:00-18:00"), fri(18, 0), false),
            (None, Some("09:00-18:00"), fri(8, 59), false),
            (None, Some("22:00-06:00"), fri(23, 30), true),
            (None, Some("22:00-06:00"), sat(5, 59), true),
            (None, Some("22:00-06:00"), sat(6, 0), false),
            (None, Some("22:00-06:00"), fri(21, 59), false),
            (None, Some("18:00-24:00"), fri(23, 59), true),
            (None, Some("18:00-24:00"), sat(0, 0), false),
            (Some(&["fri"]), Some("22:00-06:00"), fri(22, 0), true),
            (Some(&["fri"]), Some("22:00-06:00"), sat(3, 0), true),
            (Some(&["fri"]), Some("22:00-06:00"), sat(22, 30), false),
            (Some(&["sat"]), Some("22:00-06:00"), sat(3, 0), false),
            (Some(&["mon-fri"]), None, fri(12, 0), true),
            (Some(&["mon-fri"]), None, sat(12, 0), false),
            (Some(&["sat-sun"]), Some("10:00-14:00"), sat(10, 0), true),
            (Some(&["sat-sun"]), Some("10:00-14:00"), fri(10, 0), false),
        ];
        for (days, hours, t, expected) in table {
            let w = window(*days, *hours);
            assert_eq!(w.check(*t).is_ok(), *expected, "{days:?} {hours:?} at {t}");
        }
        let why = window(Some(&["mon-fri"]), None)
            .check(sat(12, 5))
            .unwrap_err();
        assert_eq!(why, "sat 12:05 is outside w");
    }
}
