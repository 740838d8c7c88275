//! Time as the core keeps it: milliseconds since the Unix epoch, UTC.
//!
//! A phone's clock can be wrong (DESIGN.md rule 7). The core records the device's time for display
//! and deadlines, never uses it to *order* events (documents order them causally), and bounds it
//! where a wrong value would do harm.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

pub const MINUTE: Millis = 60_000;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

/// 2000-01-01T00:00:00Z: nothing Doorstep records happened before this.
pub const EARLIEST: Millis = 946_684_800_000;

/// How far in the future a device time may lie before it is refused as a wrong clock.
pub const FUTURE_TOLERANCE: Millis = DAY;

/// The calendar year of `at` (UTC), for checking birth years.
pub fn year_of(at: Millis) -> i32 {
    // Days to civil date (Howard Hinnant's algorithm), year only.
    let z = at.div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2)) as i32
}

/// 1 January of `year`, 00:00 UTC (Hinnant's days from civil).
pub fn year_start(year: i32) -> Millis {
    let y = i64::from(year) - 1; // January and February count with the year before.
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = 306; // 1 March is day 0; 1 January is day 306.
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * DAY
}

/// Midnight at the start of `YYYY-MM-DD` in China Standard Time (a plan's start and end as a
/// supervisor types them); `None` for anything else.
pub fn parse_china_date(s: &str) -> Option<Millis> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(2000..=2099).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Hinnant's days from civil.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let at = (era * 146_097 + doe - 719_468) * DAY - CHINA_OFFSET;
    // 31 February is not a date.
    (year_of(at + CHINA_OFFSET) as i64 == y).then_some(at)
}

/// China Standard Time's offset from UTC: the year a visit belongs to is the one on the wall
/// where it happened (a visit on New Year's Eve at 23:30 is of the old year).
pub const CHINA_OFFSET: Millis = 8 * HOUR;

/// The device clock now.
pub fn now() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// Checks that `at` is a plausible time for something that happened (not before 2000, not more
/// than a day after `now`).
pub fn check_past(field: &'static str, at: Millis, now: Millis) -> crate::Result<()> {
    if at < EARLIEST {
        return Err(crate::Error::invalid(
            field,
            format!("{at} is before the year 2000"),
        ));
    }
    if at > now + FUTURE_TOLERANCE {
        return Err(crate::Error::invalid(
            field,
            format!("{at} is more than a day in the future"),
        ));
    }
    Ok(())
}

/// Checks that `at` is a plausible deadline (after 2000, within ten years of `now`).
pub fn check_deadline(field: &'static str, at: Millis, now: Millis) -> crate::Result<()> {
    if at < EARLIEST || at > now + 3650 * DAY {
        return Err(crate::Error::invalid(
            field,
            format!("{at} is not a plausible deadline"),
        ));
    }
    Ok(())
}

/// A length of time in words, the two largest units: `3天4小时` / `3 d 4 h`, `25分钟` / `25 min`.
/// One function for the dashboard and both phones, so a deadline reads the same everywhere.
pub fn duration_words(ms: Millis, zh: bool) -> String {
    let ms = ms.max(0);
    let (d, h, m) = (ms / DAY, (ms % DAY) / HOUR, (ms % HOUR) / MINUTE);
    let (sep, days, hours, minutes) = if zh {
        ("", "天", "小时", "分钟")
    } else {
        (" ", "d", "h", "min")
    };
    if d > 0 {
        if h > 0 {
            format!("{d}{sep}{days}{sep}{h}{sep}{hours}")
        } else {
            format!("{d}{sep}{days}")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h}{sep}{hours}{sep}{m}{sep}{minutes}")
        } else {
            format!("{h}{sep}{hours}")
        }
    } else {
        format!("{m}{sep}{minutes}")
    }
}

#[cfg(test)]
mod words_tests {
    use super::*;

    #[test]
    fn china_dates() {
        assert_eq!(
            parse_china_date("2027-01-01"),
            Some(year_start(2027) - CHINA_OFFSET)
        );
        assert_eq!(
            parse_china_date("2026-11-01"),
            Some(1_793_491_200_000 - CHINA_OFFSET)
        );
        for bad in ["", "2026-13-01", "2026-1", "x-1-1", "1999-01-01"] {
            assert_eq!(parse_china_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_in_both_languages() {
        assert_eq!(
            duration_words(3 * DAY + 4 * HOUR + 5 * MINUTE, true),
            "3天4小时"
        );
        assert_eq!(duration_words(3 * DAY + 4 * HOUR, false), "3 d 4 h");
        assert_eq!(duration_words(2 * HOUR + 5 * MINUTE, true), "2小时5分钟");
        assert_eq!(duration_words(2 * HOUR, false), "2 h");
        assert_eq!(duration_words(25 * MINUTE, true), "25分钟");
        assert_eq!(duration_words(-5, false), "0 min");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_798_000_000_000), 2026);
        assert_eq!(year_of(946_684_800_000), 2000);
        assert_eq!(year_of(946_684_800_000 - 1), 1999);
        for y in [1970, 1999, 2000, 2024, 2026, 2100] {
            assert_eq!(year_of(year_start(y)), y);
            assert_eq!(year_of(year_start(y) - 1), y - 1);
        }
        assert_eq!(year_start(2000), EARLIEST);
    }
}
