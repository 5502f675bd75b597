//! Time as integer milliseconds since the Unix epoch, UTC: exact and identical on every engine.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Vietnam's time zone: UTC+7 all year, no daylight saving time.
pub const VIETNAM: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// An instant, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This instant plus a number of seconds (negative to go back).
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// As a chrono UTC date-time (for formatting).
    pub fn to_utc(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-27T04:30:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// The calendar date of this instant in Vietnam.
    pub fn vietnam_date(self) -> NaiveDate {
        self.to_utc().with_timezone(&VIETNAM).date_naive()
    }
}

/// The Vietnam-time date of an instant as days since 1970-01-01 (how the statistics key a day).
pub fn vietnam_day(t: Timestamp) -> i32 {
    i32::try_from((t.millis() + 7 * 3_600_000).div_euclid(86_400_000)).unwrap_or(i32::MAX)
}

/// The Vietnam-time date of a day number (see [`vietnam_day`]).
pub fn day_date(day: i32) -> NaiveDate {
    NaiveDate::from_epoch_days(day).unwrap_or_default()
}

/// The day number of a Vietnam-time date (see [`vietnam_day`]).
pub fn date_day(date: NaiveDate) -> i32 {
    date.to_epoch_days()
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_date_rolls_over_at_17_utc() {
        let before = Timestamp::from(Utc.with_ymd_and_hms(2026, 11, 26, 16, 59, 0).unwrap());
        let after = Timestamp::from(Utc.with_ymd_and_hms(2026, 11, 26, 17, 1, 0).unwrap());
        assert_eq!(before.vietnam_date().to_string(), "2026-11-26");
        assert_eq!(after.vietnam_date().to_string(), "2026-11-27");
    }

    #[test]
    fn rfc3339_keeps_milliseconds() {
        assert_eq!(Timestamp(1_700_000_000_123).to_rfc3339(), "2023-11-14T22:13:20.123Z");
    }
}
