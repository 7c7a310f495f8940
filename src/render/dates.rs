//! Dates as readers see them, in the blog's time zone. The zone arithmetic itself (reading a
//! typed time, a month's range) is a rule, in `domain::zones`; it is re-exported here so that
//! pages name dates in one place.

use time::OffsetDateTime;

pub use crate::domain::zones::*;

/// `2021-09-10T03:30:00Z`: Atom and schema.org dates.
pub fn utc_rfc3339(at: OffsetDateTime) -> String {
    zoned(at, &TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `Fri, 10 Sep 2021 03:30:00 +0000`: RSS dates.
pub fn rfc2822(at: OffsetDateTime) -> String {
    zoned(at, &TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// `Fri, 10 Sep 2021 03:30:00 GMT`: `Last-Modified`.
pub fn http_date(at: OffsetDateTime) -> String {
    zoned(at, &TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `2021-09-10T05:30` in the zone: the value of a `datetime-local` input.
pub fn local_input(at: OffsetDateTime, tz: &TimeZone) -> String {
    zoned(at, tz).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// "Friday, September 10, 2021"
pub fn date_header(at: &ZonedDateTime) -> String {
    at.strftime("%A, %B %-d, %Y").to_string()
}

/// "4:12 AM"
pub fn time_of_day(at: &ZonedDateTime) -> String {
    at.strftime("%-I:%M %p").to_string()
}

/// "September 10, 2021 at 4:12 AM", for comments.
pub fn date_and_time(at: &ZonedDateTime) -> String {
    at.strftime("%B %-d, %Y at %-I:%M %p").to_string()
}

/// RFC 3339 with the zone's offset, as in `updated-max=` and `<time datetime>`; sub-second
/// digits appear only when present, so keyset cursors stay exact.
pub fn rfc3339(at: &ZonedDateTime) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.f%:z").to_string()
}

/// For `<time datetime>`: whole seconds with the zone's offset (HTML allows at most three
/// fractional digits, and readers need none).
pub fn html_datetime(at: &ZonedDateTime) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub fn month_name(month: i8) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get(usize::try_from(month - 1).unwrap_or(usize::MAX))
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn headers_follow_the_blog_time_zone() {
        let at = datetime!(2021-09-10 03:30 UTC);
        assert_eq!(
            date_header(&zoned(at, &TimeZone::UTC)),
            "Friday, September 10, 2021"
        );
        let la = TimeZone::get("America/Los_Angeles").unwrap();
        assert_eq!(date_header(&zoned(at, &la)), "Thursday, September 9, 2021");
        assert_eq!(time_of_day(&zoned(at, &la)), "8:30 PM");
    }

    #[test]
    fn rfc3339_round_trips_exactly() {
        let at = datetime!(2021-09-10 03:30:00.123456 UTC);
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let text = rfc3339(&zoned(at, &tokyo));
        assert_eq!(text, "2021-09-10T12:30:00.123456+09:00");
        assert_eq!(parse_rfc3339(&text), Some(at));
        assert_eq!(parse_rfc3339(&text.replace('+', " ")), Some(at));
        assert_eq!(
            parse_rfc3339("2021-09-10T03:30:00Z"),
            Some(datetime!(2021-09-10 03:30 UTC))
        );
        assert_eq!(parse_rfc3339("not a date"), None);
    }

    #[test]
    fn month_ranges_are_local() {
        let la = TimeZone::get("America/Los_Angeles").unwrap();
        let (from, until) = local_range(2021, Some(12), &la).unwrap();
        assert_eq!(from, datetime!(2021-12-01 08:00 UTC));
        assert_eq!(until, datetime!(2022-01-01 08:00 UTC));
        assert!(local_range(2021, Some(13), &la).is_none());
    }
}
