//! RFC 3339 timestamps and `2s` / `500ms` / `5m` durations, without a date library.
//!
//! Both parsers work on bytes after checking the text is ASCII, so no input can cut a string
//! inside a character, and every field is range-checked: an impossible date (`2026-02-30`) or
//! offset (`+25:00`) is an error, never a silently shifted time.

/// Durations kvscope accepts: from a millisecond to a year.
pub const MIN_DURATION: f64 = 0.001;
pub const MAX_DURATION: f64 = 366.0 * 86_400.0;

/// Parses `2026-11-22T07:23:02Z` / `…T07:23:02.724Z` / `…+02:00` into seconds since the epoch,
/// or says what is wrong with it.
pub fn parse_rfc3339(s: &str) -> Result<f64, String> {
    if !s.is_ascii() {
        return Err("has a character that is not ASCII".into());
    }
    let b = s.as_bytes();
    let shape = "is not of the form 2026-11-22T07:23:02Z";
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(shape.into());
    }
    let num = |from: usize, to: usize| -> Result<i64, String> {
        let digits = &b[from..to];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(shape.into());
        }
        Ok(digits
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) {
        return Err(format!("month {mo} does not exist"));
    }
    if d < 1 || d > days_in_month(y, mo) {
        return Err(format!("day {d} does not exist in {y:04}-{mo:02}"));
    }
    // 60 is a leap second, which RFC 3339 allows.
    if h > 23 || mi > 59 || sec > 60 {
        return Err(format!("{h:02}:{mi:02}:{sec:02} is not a time of day"));
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 18 {
            return Err("its fraction of a second needs 1 to 18 digits".into());
        }
        frac = b[start..i]
            .iter()
            .rev()
            .fold(0.0, |f, d| (f + f64::from(d - b'0')) / 10.0);
    }
    let offset = match &b[i..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return Err(format!(
                    "offset {}{oh:02}:{om:02} is not a UTC offset",
                    *sign as char
                ));
            }
            let sign = if *sign == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err("needs Z or an offset such as +02:00 at the end".into()),
    };
    let days = days_from_civil(y, mo, d);
    Ok((days * 86_400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds since the epoch of 0001-01-01 and of 9999-12-31T23:59:59.
const FIRST_WRITABLE: f64 = -62_135_596_800.0;
const LAST_WRITABLE: f64 = 253_402_300_799.0;

/// `HH:MM:SS` (UTC) of a time in seconds since the epoch, as the screen and the verdict write
/// a time of day.
pub fn clock_time(t: f64) -> String {
    let full = format_rfc3339(t);
    full.get(11..19).unwrap_or(&full).to_string()
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`; a time outside years 1 to
/// 9999 (or not a number) is written as the raw number with a note, never as a wrong date.
pub fn format_rfc3339(t: f64) -> String {
    if !(FIRST_WRITABLE..=LAST_WRITABLE).contains(&t) {
        return format!("{t} s since the epoch (outside the calendar)");
    }
    let ms = (t * 1000.0).round() as i64;
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Serialises an optional time as RFC 3339 (`null` when absent), as the report writes times.
pub fn serialize_time<S: serde::Serializer>(t: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_rfc3339(*t)),
        None => s.serialize_none(),
    }
}

/// Reads what [`serialize_time`] writes: an RFC 3339 time, or `null`.
pub fn deserialize_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(d)?;
    text.map(|t| parse_rfc3339(&t).map_err(serde::de::Error::custom))
        .transpose()
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds since the epoch, by the system clock.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Parses `500ms`, `2s`, `1.5s`, `5m`, `1h` into seconds, from [`MIN_DURATION`] to
/// [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (write 500ms, 2s, 5m or 1h)"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("'{s}' has no unit (write 500ms, 2s, 5m or 1h)")),
    };
    let v = n * scale;
    if !(MIN_DURATION..=MAX_DURATION).contains(&v) {
        return Err(format!(
            "'{s}' is out of range: give 1ms to {}h",
            MAX_DURATION / 3600.0
        ));
    }
    Ok(v)
}

/// The shortest scrape interval: faster polling would load the servers it inspects.
pub const MIN_INTERVAL: f64 = 0.1;

/// A scrape interval: a duration of at least [`MIN_INTERVAL`].
pub fn parse_interval(s: &str) -> Result<f64, String> {
    let v = parse_duration(s)?;
    if v < MIN_INTERVAL {
        return Err(format!(
            "'{}' is shorter than the shortest scrape interval, 100ms",
            s.trim()
        ));
    }
    Ok(v)
}

/// Writes seconds the way durations are given: `500ms`, `2s`, `1.5s`, `5m`.
pub fn format_duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{}ms", (secs * 1000.0).round())
    } else if secs >= 300.0 && (secs % 60.0) == 0.0 {
        format!("{}m", secs / 60.0)
    } else {
        let r = (secs * 1000.0).round() / 1000.0;
        format!("{r}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_on_capture_times() {
        let t = parse_rfc3339("2026-11-22T07:23:02.724Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-22T07:23:02.724Z");
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0.0));
        assert_eq!(
            parse_rfc3339("2026-11-22T09:23:02+02:00"),
            parse_rfc3339("2026-11-22T07:23:02Z")
        );
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Ok(951_868_800.0));
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Ok(1_709_164_800.0),
            "a leap day"
        );
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "2026-11-22T07:23:02",
            "2026-11-22T07:23:02.Z",
            "x026-11-22T07:23:02Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(2.0));
        assert_eq!(parse_duration("500ms"), Ok(0.5));
        assert_eq!(parse_duration("5m"), Ok(300.0));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(format_duration(0.5), "500ms");
        assert_eq!(format_duration(60.0), "60s");
        assert_eq!(format_duration(300.0), "5m");
        assert_eq!(format_duration(2.0), "2s");
    }
}

#[cfg(test)]
mod hostile {
    use super::*;
    use crate::testgen::Gen;

    #[test]
    fn impossible_calendar_values_are_errors_not_shifted_times() {
        for bad in [
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:61Z",
            "2026-01-01T00:00:00+25:00",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00-01:60",
            "2026-01-01T00:00:00+0é:0",
            "2026-01-01T00:00:00+01:0é",
            "2026-01-01T00:00:00.1234567890123456789Z",
            "2026-01-01T00:00:00+01:00Z",
        ] {
            let e = parse_rfc3339(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
        assert_eq!(
            parse_rfc3339("2026-02-30T00:00:00Z").unwrap_err(),
            "day 30 does not exist in 2026-02"
        );
        assert!(parse_rfc3339("2016-12-31T23:59:60Z").is_ok(), "leap second");
        assert!(parse_rfc3339("2026-01-01T00:00:00-23:59").is_ok());
    }

    /// Arbitrary Unicode and mutations of valid times: never a panic; whatever is accepted
    /// writes back to the same instant.
    #[test]
    fn rfc3339_takes_any_text_without_panicking() {
        let mut g = Gen::new(7);
        let examples = [
            "2026-11-22T07:23:02.724Z",
            "2026-01-01T00:00:00+02:00",
            "2000-02-29t12:00:00-05:30",
        ];
        let mut accepted = 0;
        for _ in 0..50_000 {
            let s = g.hostile(&examples);
            if let Ok(t) = parse_rfc3339(&s) {
                accepted += 1;
                assert!(t.is_finite(), "{s:?}");
                let back = parse_rfc3339(&format_rfc3339(t)).unwrap();
                assert!((back - t).abs() < 0.001, "{s:?} → {}", format_rfc3339(t));
            }
        }
        assert!(accepted > 100, "the generator also makes valid times");
    }

    #[test]
    fn durations_take_any_text_and_stay_in_range() {
        let mut g = Gen::new(11);
        for _ in 0..50_000 {
            let s = g.hostile(&["2s", "500ms", "1.5m", "1h", "99999999999999999999s"]);
            if let Ok(v) = parse_duration(&s) {
                assert!((MIN_DURATION..=MAX_DURATION).contains(&v), "{s:?} → {v}");
            }
        }
        for huge in ["99999999999999999999s", "1e400s", "9000h", "0.0001ms"] {
            assert!(parse_duration(huge).is_err(), "{huge}");
        }
    }

    #[test]
    fn times_outside_the_calendar_are_not_written_as_dates() {
        for t in [f64::NAN, f64::INFINITY, 1e300, -1e300] {
            assert!(format_rfc3339(t).contains("outside the calendar"), "{t}");
        }
        assert_eq!(format_rfc3339(0.0), "1970-01-01T00:00:00.000Z");
    }
}
