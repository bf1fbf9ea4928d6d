//! Durations as settings write them (`90s`, `10m`, `1h30m`, `500ms`):
//! parsed, bounded and written back the same way. Apart from the other value
//! parsers because reports and logs print durations too.

use std::time::Duration;

use crate::error::BadInput;

/// The longest duration any setting accepts: longer than any CI job runs,
/// and short enough that adding it to a clock never overflows.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A setting's duration, above zero and at most [`MAX_DURATION`]; else a
/// problem naming `source` and the value.
pub(super) fn parse_duration_setting(
    value: &str,
    source: impl Into<crate::error::Source>,
    problems: &mut Vec<BadInput>,
) -> Option<Duration> {
    match parse_duration(value) {
        Some(duration) if duration > MAX_DURATION => {
            problems.push(
                BadInput::new(
                    source,
                    format!("longer than the {} docsync allows", format_duration(MAX_DURATION)),
                    "use a duration a CI job can wait, like 10m or 1h",
                )
                .with_value(value),
            );
            None
        }
        Some(duration) if !duration.is_zero() => Some(duration),
        Some(_) => {
            problems.push(
                BadInput::new(source, "must be more than 0", "give a duration above zero, like 90s or 10m")
                    .with_value(value),
            );
            None
        }
        None => {
            problems.push(
                BadInput::new(source, "not a duration", "write a number with a unit, like 90s, 10m, 1h or 1h30m")
                    .with_value(value),
            );
            None
        }
    }
}

/// `90s`, `10m`, `1h30m`, `500ms`: numbers each followed by a unit.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.checked_mul(60)?),
            "h" => Duration::from_secs(number.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A duration as `parse_duration` reads it: `1h30m`, `10m`, `90s`, `250ms`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let mut out = String::new();
    let mut seconds = duration.as_secs();
    for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            out.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    let millis = duration.subsec_millis();
    if millis > 0 || out.is_empty() {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10 minutes"), None);
        assert_eq!(parse_duration("600"), None);
        assert_eq!(parse_duration("m"), None);
        for text in ["1h30m", "10m", "90s", "250ms", "1m5s", "2s500ms"] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(duration)), Some(duration), "{text}");
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    }
}
