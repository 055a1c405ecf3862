//! The business day a statement covers: a calendar date in the channel's
//! time zone, as a half-open window of instants. Days are not always 24
//! hours long (23 and 25 on a daylight-saving change), so the window is
//! worked out by the time zone database, never by adding 86 400 000 ms.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// One business day: instants `start_ms <= t < end_ms` (milliseconds since
/// the Unix epoch) are in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessDay {
    pub date: Date,
    /// The IANA name of the zone it was worked out in.
    pub time_zone: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl BusinessDay {
    pub fn contains(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    /// The day's length: 86 400 000 ms, except on a change of offset.
    pub fn length_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// Why a day or an instant could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayError {
    #[error("`{input}` is not a date written YYYY-MM-DD")]
    BadDate { input: String },
    #[error("`{input}` is not a time zone in paycore's time zone database")]
    UnknownTimeZone { input: String },
    #[error("{at_ms} ms since the Unix epoch is outside the instants paycore can place")]
    InstantOutOfRange { at_ms: i64 },
    #[error("the day {date} in {time_zone} cannot be placed on the timeline")]
    DayOutOfRange { date: String, time_zone: String },
}

/// The window of `date` (`YYYY-MM-DD`) in the IANA zone `time_zone`: from
/// its first instant (midnight, or the end of a gap that swallows
/// midnight) up to the next day's first instant.
pub fn business_day(date: &str, time_zone: &str) -> Result<BusinessDay, DayError> {
    let zone = zone(time_zone)?;
    let day = parse_date(date)?;
    let out_of_range = || DayError::DayOutOfRange {
        date: date.to_string(),
        time_zone: time_zone.to_string(),
    };
    let next = day.tomorrow().map_err(|_| out_of_range())?;
    let first_instant = |of: Date| {
        // Midnight with the zone's "compatible" choice: in a gap, the first
        // instant after it; in a fold, the earlier of the two.
        of.to_zoned_datetime(zone.clone())
            .map(|start| start.timestamp().as_millisecond())
            .map_err(|_| out_of_range())
    };
    Ok(BusinessDay {
        date: day,
        time_zone: zone.iana_name().unwrap_or(time_zone).to_string(),
        start_ms: first_instant(day)?,
        end_ms: first_instant(next)?,
    })
}

/// The date the instant `at_ms` falls on in the IANA zone `time_zone`.
pub fn day_of(at_ms: i64, time_zone: &str) -> Result<Date, DayError> {
    let zone = zone(time_zone)?;
    let instant =
        Timestamp::from_millisecond(at_ms).map_err(|_| DayError::InstantOutOfRange { at_ms })?;
    Ok(instant.to_zoned_datetime(zone).date())
}

fn zone(name: &str) -> Result<TimeZone, DayError> {
    TimeZone::get(name).map_err(|_| DayError::UnknownTimeZone {
        input: name.to_string(),
    })
}

/// Exactly `YYYY-MM-DD`: the parser alone also takes other ISO 8601 forms
/// (`20240310`, `+002024-03-10`), which a statement's day never is.
fn parse_date(input: &str) -> Result<Date, DayError> {
    let bad = || DayError::BadDate {
        input: input.to_string(),
    };
    let shaped = input.len() == 10
        && input.bytes().enumerate().all(|(at, byte)| match at {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shaped {
        return Err(bad());
    }
    input.parse::<Date>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;
    const DAY_MS: i64 = 24 * HOUR_MS;

    #[test]
    fn a_shanghai_day_runs_from_its_midnight_to_the_next() {
        let day = business_day("2024-05-01", "Asia/Shanghai").unwrap();
        // 2024-05-01T00:00:00+08:00 is 2024-04-30T16:00:00Z.
        assert_eq!(day.start_ms, 1_714_492_800_000);
        assert_eq!(day.end_ms, 1_714_492_800_000 + DAY_MS);
        assert_eq!(day.time_zone, "Asia/Shanghai");
        assert_eq!(day.date.to_string(), "2024-05-01");
        assert!(day.contains(day.start_ms));
        assert!(day.contains(day.end_ms - 1));
        assert!(!day.contains(day.end_ms));
        assert!(!day.contains(day.start_ms - 1));
    }

    #[test]
    fn the_last_and_first_second_of_adjacent_days_land_on_consecutive_days() {
        let day = business_day("2024-05-01", "Asia/Shanghai").unwrap();
        let last_second = day.end_ms - 1_000; // 23:59:59
        let next_midnight = day.end_ms; // 00:00:00
        assert_eq!(
            day_of(last_second, "Asia/Shanghai").unwrap().to_string(),
            "2024-05-01"
        );
        assert_eq!(
            day_of(next_midnight, "Asia/Shanghai").unwrap().to_string(),
            "2024-05-02"
        );
        // The same instants are one day earlier in UTC's calendar.
        assert_eq!(
            day_of(next_midnight, "UTC").unwrap().to_string(),
            "2024-05-01"
        );
        let next = business_day("2024-05-02", "Asia/Shanghai").unwrap();
        assert_eq!(next.start_ms, day.end_ms);
    }

    #[test]
    fn daylight_saving_days_are_23_and_25_hours_long() {
        let spring = business_day("2024-03-10", "America/New_York").unwrap();
        assert_eq!(spring.length_ms(), 23 * HOUR_MS);
        // 2024-03-10T00:00:00-05:00.
        assert_eq!(spring.start_ms, 1_710_046_800_000);
        let autumn = business_day("2024-11-03", "America/New_York").unwrap();
        assert_eq!(autumn.length_ms(), 25 * HOUR_MS);
        // 2024-11-03T00:00:00-04:00.
        assert_eq!(autumn.start_ms, 1_730_606_400_000);
        let ordinary = business_day("2024-11-04", "America/New_York").unwrap();
        assert_eq!(ordinary.length_ms(), DAY_MS);
        assert_eq!(ordinary.start_ms, autumn.end_ms);
        // 01:30 happens twice on the autumn day; both are that day.
        let first_half_past_one = autumn.start_ms + 90 * 60_000;
        let second_half_past_one = first_half_past_one + HOUR_MS;
        for at in [first_half_past_one, second_half_past_one] {
            assert_eq!(
                day_of(at, "America/New_York").unwrap().to_string(),
                "2024-11-03"
            );
        }
    }

    #[test]
    fn a_day_whose_midnight_falls_in_a_gap_starts_after_the_gap() {
        // Brazil moved its clocks from 00:00 to 01:00 on 2015-10-18.
        let day = business_day("2015-10-18", "America/Sao_Paulo").unwrap();
        assert_eq!(day.length_ms(), 23 * HOUR_MS);
        let previous = business_day("2015-10-17", "America/Sao_Paulo").unwrap();
        assert_eq!(previous.end_ms, day.start_ms);
        assert_eq!(previous.length_ms(), DAY_MS);
    }

    #[test]
    fn bad_inputs_are_typed_errors_naming_them() {
        for input in [
            "2024-02-30",
            "20240310",
            "2024-3-10",
            "+002024-03-10",
            "",
            "2024-03-10T00:00",
        ] {
            assert_eq!(
                business_day(input, "Asia/Shanghai"),
                Err(DayError::BadDate {
                    input: input.to_string()
                }),
                "{input}"
            );
        }
        let err = business_day("2024-03-10", "Mars/Olympus_Mons").unwrap_err();
        assert_eq!(
            err,
            DayError::UnknownTimeZone {
                input: "Mars/Olympus_Mons".into()
            }
        );
        assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
        assert_eq!(
            day_of(0, ""),
            Err(DayError::UnknownTimeZone {
                input: String::new()
            })
        );
        assert_eq!(
            day_of(i64::MAX, "UTC"),
            Err(DayError::InstantOutOfRange { at_ms: i64::MAX })
        );
        assert!(matches!(
            business_day("9999-12-31", "UTC"),
            Err(DayError::DayOutOfRange { .. })
        ));
    }
}
