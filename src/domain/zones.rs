//! Instants in the blog's time zone: the arithmetic the rules need (a typed publication time,
//! a month's range), pure.
//!
//! Folio's instants are `time::OffsetDateTime`, the type sqlx 0.8 (and the cookie crate) speak.
//! Time zones need the IANA database, which only jiff carries well; jiff is used here and in
//! `render::dates` only (other modules name its types through these).

use jiff::{Timestamp, civil::Date, civil::DateTime};
use time::OffsetDateTime;

pub use jiff::{ZonedDateTime, tz::TimeZone};

/// The zone with this IANA name, if there is one.
pub fn zone_named(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// The zone's IANA name ("UTC" for a zone without one).
pub fn zone_name(tz: &TimeZone) -> &str {
    tz.iana_name().unwrap_or("UTC")
}

/// A `datetime-local` input's value read in the zone.
pub fn parse_local_input(text: &str, tz: &TimeZone) -> Option<OffsetDateTime> {
    let civil: DateTime = text.trim().parse().ok()?;
    let zoned = civil.to_zoned_datetime(tz.clone()).ok()?;
    Some(to_offset_date_time(zoned.timestamp()))
}

pub fn to_timestamp(at: OffsetDateTime) -> Timestamp {
    // Every OffsetDateTime that PostgreSQL can hand us is within Timestamp's range.
    Timestamp::from_nanosecond(at.unix_timestamp_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn to_offset_date_time(at: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn zoned(at: OffsetDateTime, tz: &TimeZone) -> ZonedDateTime {
    to_timestamp(at).to_zoned_datetime(tz.clone())
}

/// Parses `updated-max` / `updated-min` values as people and Blogger write them. A `+` in a
/// query string arrives as a space when it was not percent-encoded, so a space is taken as `+`.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim().replace(' ', "+");
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(to_offset_date_time(ts));
    }
    // A bare date means its midnight in UTC.
    let date: Date = text.parse().ok()?;
    let ts = date.to_zoned_datetime(TimeZone::UTC).ok()?.timestamp();
    Some(to_offset_date_time(ts))
}

/// The instants at which a local year or month begins and ends, for archive pages.
pub fn local_range(
    year: i16,
    month: Option<i8>,
    tz: &TimeZone,
) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let start = Date::new(year, month.unwrap_or(1), 1).ok()?;
    let end = match month {
        Some(_) => start.checked_add(jiff::Span::new().months(1)).ok()?,
        None => start.checked_add(jiff::Span::new().years(1)).ok()?,
    };
    let from = start.to_zoned_datetime(tz.clone()).ok()?.timestamp();
    let until = end.to_zoned_datetime(tz.clone()).ok()?.timestamp();
    Some((to_offset_date_time(from), to_offset_date_time(until)))
}
