//! The finance report on a tenant's cards: per programme and unit, what
//! its cards hold now (the tenant's outstanding liability) and what flowed
//! over a period of days in the tenant's time zone — sold, given, redeemed,
//! expired, reactivated, forfeited — summed in SQL from the postings.

use super::Ledger;
use crate::domain::TenantId;
use crate::store::{Outstanding, PeriodFlows, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;

/// The longest period one report covers, in days, both ends included.
pub const MAX_REPORT_DAYS: i64 = 366;

/// Days `from` to `to`, both included, as instants in a time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPeriod {
    pub from: Date,
    pub to: Date,
    /// The first instant of `from` (unix ms).
    pub from_ms: i64,
    /// The first instant of the day after `to` (unix ms), excluded.
    pub until_ms: i64,
}

/// A date the report cannot use, and the query parameter that gave it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct PeriodError {
    pub field: &'static str,
    pub message: String,
}

impl PeriodError {
    fn new(field: &'static str, message: &str) -> Self {
        PeriodError {
            field,
            message: message.to_string(),
        }
    }
}

impl ReportPeriod {
    /// Reads `from` and `to` (`YYYY-MM-DD`) as days in `timezone`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        timezone: &TimeZone,
    ) -> Result<ReportPeriod, PeriodError> {
        let from = date("from", from)?;
        let to = date("to", to)?;
        if to < from {
            return Err(PeriodError::new("to", "must not be before `from`"));
        }
        let longest = from
            .checked_add(jiff::Span::new().days(MAX_REPORT_DAYS - 1))
            .ok();
        if longest.is_some_and(|last| to > last) {
            return Err(PeriodError::new(
                "to",
                &format!("must be at most {MAX_REPORT_DAYS} days from `from`, both included"),
            ));
        }
        let start_of = |day: Date, field| {
            // A day starts at its first instant, even where a clock change
            // skips midnight.
            day.to_zoned_datetime(timezone.clone())
                .map(|z| z.timestamp().as_millisecond())
                .map_err(|_| PeriodError::new(field, "is out of range"))
        };
        let after_to = to
            .tomorrow()
            .map_err(|_| PeriodError::new("to", "is out of range"))?;
        Ok(ReportPeriod {
            from,
            to,
            from_ms: start_of(from, "from")?,
            until_ms: start_of(after_to, "to")?,
        })
    }
}

/// A calendar date written exactly `YYYY-MM-DD`.
fn date(field: &'static str, text: Option<&str>) -> Result<Date, PeriodError> {
    let text = text.ok_or_else(|| PeriodError::new(field, "is required: a date as YYYY-MM-DD"))?;
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(PeriodError::new(field, "must be a date as YYYY-MM-DD"));
    }
    text.parse::<Date>()
        .map_err(|_| PeriodError::new(field, "is not a day of the calendar"))
}

/// One programme's figures in one unit: what its cards hold now, and what
/// flowed over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFigures {
    pub outstanding: Outstanding,
    pub flows: PeriodFlows,
}

impl Ledger {
    /// The tenant's figures per programme and unit, in programme order.
    pub async fn report(
        &self,
        tenant: &TenantId,
        period: &ReportPeriod,
    ) -> Result<Vec<ProgramFigures>, StoreError> {
        let outstanding = self.store.outstanding(tenant).await?;
        let flows = self
            .store
            .period_flows(tenant, period.from_ms, period.until_ms)
            .await?;
        let mut figures: BTreeMap<(String, String), ProgramFigures> = BTreeMap::new();
        for held in outstanding {
            let key = (held.program_id.clone(), held.unit.clone());
            figures.entry(key).or_insert_with_key(nothing).outstanding = held;
        }
        for flowed in flows {
            let key = (flowed.program_id.clone(), flowed.unit.clone());
            figures.entry(key).or_insert_with_key(nothing).flows = flowed;
        }
        Ok(figures.into_values().collect())
    }
}

/// Zero figures of a programme and unit.
fn nothing((program_id, unit): &(String, String)) -> ProgramFigures {
    ProgramFigures {
        outstanding: Outstanding {
            program_id: program_id.clone(),
            unit: unit.clone(),
            available: 0,
            held: 0,
            dormant: 0,
        },
        flows: PeriodFlows {
            program_id: program_id.clone(),
            unit: unit.clone(),
            ..PeriodFlows::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    fn parse(from: &str, to: &str) -> Result<ReportPeriod, PeriodError> {
        ReportPeriod::parse(Some(from), Some(to), &shanghai())
    }

    #[test]
    fn days_are_the_tenants_and_to_is_included() {
        let june = parse("2031-06-01", "2031-06-30").unwrap();
        // 2031-06-01T00:00+08:00 and 2031-07-01T00:00+08:00.
        assert_eq!(june.from_ms, 1_938_009_600_000);
        assert_eq!(june.until_ms, 1_940_601_600_000);
        let utc = ReportPeriod::parse(Some("2031-06-01"), Some("2031-06-01"), &TimeZone::UTC);
        assert_eq!(utc.unwrap().from_ms - june.from_ms, 8 * 3_600_000);
    }

    #[test]
    fn a_period_is_at_most_366_days() {
        assert!(parse("2032-01-01", "2032-12-31").is_ok(), "a leap year");
        let long = parse("2031-01-01", "2032-01-02").unwrap_err();
        assert_eq!(long.field, "to");
        assert!(parse("2031-01-01", "2032-01-01").is_ok());
    }

    #[test]
    fn bad_dates_name_their_parameter() {
        let cases = [
            (Some("2031-06-31"), Some("2031-07-01"), "from"),
            (Some("2031-6-1"), Some("2031-07-01"), "from"),
            (Some("2031-06-01T00:00"), Some("2031-07-01"), "from"),
            (None, Some("2031-07-01"), "from"),
            (Some("2031-06-01"), Some("yesterday"), "to"),
            (Some("2031-06-01"), Some("２０３１-07-01"), "to"),
            (Some("2031-06-01"), None, "to"),
            (Some("2031-06-02"), Some("2031-06-01"), "to"),
            (Some("2031-06-01"), Some("9999-12-31"), "to"),
        ];
        for (from, to, field) in cases {
            let e = ReportPeriod::parse(from, to, &shanghai()).unwrap_err();
            assert_eq!(e.field, field, "{from:?}..{to:?}: {e}");
        }
    }
}
