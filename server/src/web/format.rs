//! Dates, durations and URLs as the pages show them. Dates are China Standard Time (UTC+8, no
//! daylight saving), where every community the dashboard serves is.

use doorstep_core::time::{DAY, HOUR, MINUTE, Millis};

use super::i18n::Lang;

const CST: Millis = 8 * HOUR;

/// (year, month, day, hour, minute) in China time.
fn civil(ms: Millis) -> (i64, u32, u32, u32, u32) {
    let local = ms + CST;
    let days = local.div_euclid(DAY);
    let rem = local.rem_euclid(DAY);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (rem / HOUR) as u32, ((rem % HOUR) / MINUTE) as u32)
}

/// `2026-11-24 13:05`
pub fn date_time(ms: Millis) -> String {
    let (y, m, d, h, mi) = civil(ms);
    format!("{y}-{m:02}-{d:02} {h:02}:{mi:02}")
}

/// `2026-11-24`
pub fn date(ms: Millis) -> String {
    let (y, m, d, _, _) = civil(ms);
    format!("{y}-{m:02}-{d:02}")
}

/// `11/23`, for chart axes.
pub fn month_day(ms: Millis) -> String {
    let (_, m, d, _, _) = civil(ms);
    format!("{m}/{d}")
}

/// A span of time: `3天4小时` / `3 d 4 h`, `25分钟` / `25 min`.
pub fn duration(lang: Lang, ms: Millis) -> String {
    doorstep_core::time::duration_words(ms, lang == Lang::Zh)
}

/// How long ago: `2天前` / `2 d ago`.
pub fn ago(lang: Lang, at: Millis, now: Millis) -> String {
    if now - at < MINUTE {
        return lang.tr().just_now.to_string();
    }
    format!(
        "{}{}{}",
        duration(lang, now - at),
        lang.pick("", " "),
        lang.tr().ago
    )
}

/// Percent-encodes a query value or path part.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?k=v&...`, leaving out empty values.
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_time() {
        // 2026-11-24 00:00 UTC is 08:00 in Beijing.
        assert_eq!(date_time(1_795_478_400_000), "2026-11-24 08:00");
        assert_eq!(date(1_795_478_400_000 - 9 * HOUR), "2026-11-23");
        assert_eq!(date_time(0), "1970-01-01 08:00");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(month_day(1_795_478_400_000), "11/24");
    }

    #[test]
    fn durations_in_both_languages() {
        assert_eq!(duration(Lang::Zh, 3 * DAY + 4 * HOUR), "3天4小时");
        assert_eq!(duration(Lang::En, 3 * DAY + 4 * HOUR), "3 d 4 h");
        assert_eq!(duration(Lang::Zh, 25 * MINUTE), "25分钟");
        assert_eq!(duration(Lang::En, 2 * DAY), "2 d");
        assert_eq!(ago(Lang::Zh, 0, 2 * HOUR), "2小时前");
        assert_eq!(ago(Lang::En, 0, 10), "just now");
    }

    #[test]
    fn links_encode() {
        assert_eq!(enc("王 a&b"), "%E7%8E%8B%20a%26b");
        assert_eq!(
            link("/u/x", &[("q", "王"), ("tag", "")]),
            "/u/x?q=%E7%8E%8B"
        );
    }
}
