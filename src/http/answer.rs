//! What a server's answer, or its absence, says, in words docsync can show
//! and act on: the server's own error text, the wait it asks for, where a
//! redirect points, and what failed on the way. Apart from the client so
//! the retry loop there reads as policy.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use url::Url;

use crate::http::{MAX_BODY, Response};
use crate::secret::{redact, redact_url};

/// The server's words from a response, redacted before they are cut short
/// (a cut through a secret would leave most of it unmasked), and saying so
/// when the body itself was cut at [`MAX_BODY`].
pub(super) fn server_message_of(response: &Response) -> String {
    let mut message = redact(&server_message(redact(&String::from_utf8_lossy(&response.body)).as_bytes()));
    if response.truncated {
        message.push_str(&format!(" (the answer was cut at {} MiB)", MAX_BODY / (1024 * 1024)));
    }
    message
}

/// A redirect's target as it may be shown: resolved against the request,
/// credentials and query masked.
pub(crate) fn shown_location(request_url: &Url, location: &str) -> String {
    match request_url.join(location) {
        Ok(mut target) => {
            target.set_query(None);
            target.set_fragment(None);
            redact(&redact_url(&target))
        }
        Err(_) => redact(&location.chars().take(200).collect::<String>()),
    }
}

/// The TLS stack's words when the server's certificate was refused.
pub(crate) fn untrusted_certificate(error: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if text.contains("invalid peer certificate") {
            return Some(text);
        }
        source = cause.source();
    }
    None
}

/// How long the server asks us to wait: `Retry-After` (seconds or HTTP
/// date), else a rate-limit reset header (`RateLimit-Reset` seconds,
/// `X-RateLimit-Reset` as seconds or a Unix time).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(value) = text("retry-after") {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        // Any of the three forms RFC 9110 has recipients accept.
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    for name in ["ratelimit-reset", "x-ratelimit-reset"] {
        if let Some(Ok(number)) = text(name).map(str::parse::<u64>) {
            // Large numbers are Unix times, small ones are seconds to wait.
            let unix_now = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            return Some(if number > 1_000_000_000 {
                Duration::from_secs(number.saturating_sub(unix_now))
            } else {
                Duration::from_secs(number)
            });
        }
    }
    None
}

/// The server's own words from an error body: GitBook's `error.message`,
/// GitLab's `message` or `error_description`, else the text itself (short).
pub fn server_message(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let candidates =
            [json.pointer("/error/message"), json.get("message"), json.get("error_description"), json.get("error")];
        for candidate in candidates.into_iter().flatten() {
            match candidate {
                serde_json::Value::String(text) if !text.is_empty() => return text.clone(),
                serde_json::Value::Null => {}
                other => return other.to_string(),
            }
        }
        if let Some(message) = problem_details(&json) {
            return message;
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// RFC 9457 problem details (`application/problem+json`, as Prism and many
/// gateways answer): the title, then each validation message (Prism's
/// `validation[].message`), else the detail. The raw body would be cut
/// before the validation messages, which say what to fix.
fn problem_details(json: &serde_json::Value) -> Option<String> {
    let title = json.get("title")?.as_str()?;
    let validation: Vec<&str> = json
        .get("validation")
        .and_then(serde_json::Value::as_array)
        .map(|list| list.iter().filter_map(|v| v.get("message").and_then(serde_json::Value::as_str)).collect())
        .unwrap_or_default();
    let detail = if validation.is_empty() {
        json.get("detail").and_then(serde_json::Value::as_str).map(str::to_owned)
    } else {
        Some(validation.join("; "))
    };
    Some(match detail {
        Some(detail) if !detail.is_empty() => format!("{title}: {detail}"),
        _ => title.to_owned(),
    })
}

/// A reqwest error in words, without reqwest's URL (which may carry
/// credentials and is shown redacted elsewhere): the kind of failure and its
/// innermost cause (rustls names a certificate it does not trust there).
/// Every request's, docsync's own and libgit2's fetches alike.
pub fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the response broke off"
    } else if error.is_request() {
        "the connection was dropped"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() { kind.to_owned() } else { format!("{kind}: {detail}") }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_seconds_date_and_reset_headers() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));

        let mut headers = HeaderMap::new();
        // 1_800_000_030 is Fri, 15 Jan 2027 08:00:30 GMT.
        headers.insert("retry-after", HeaderValue::from_static("Fri, 15 Jan 2027 08:00:30 GMT"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));

        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1800000012"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(12)));

        let mut headers = HeaderMap::new();
        headers.insert("ratelimit-reset", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    /// RFC 9110 section 5.6.7: a recipient accepts the two obsolete forms
    /// of an HTTP date too (RFC 850's and C's asctime).
    #[test]
    fn retry_after_dates_in_every_form_rfc_9110_accepts() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for date in ["Fri, 15 Jan 2027 08:00:30 GMT", "Friday, 15-Jan-27 08:00:30 GMT", "Fri Jan 15 08:00:30 2027"] {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", HeaderValue::from_static(date));
            assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)), "{date}");
        }
        // A date already past asks for no wait; a header that is neither
        // seconds nor a date asks for none either.
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    /// Any second a server can write as an HTTP date reads back as the
    /// wait until it.
    #[test]
    fn retry_after_reads_every_date_httpdate_writes() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let config = Config {
            cases: 1_000,
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..Config::default()
        };
        // From now to the end of year 9999, the last an HTTP date can write.
        let result = TestRunner::new(config).run(&(0u64..253_402_300_799 - 1_800_000_000), |ahead| {
            let at = now + Duration::from_secs(ahead);
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", HeaderValue::from_str(&httpdate::fmt_http_date(at)).unwrap());
            prop_assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(ahead)));
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }

    #[test]
    fn server_messages() {
        assert_eq!(server_message(br#"{"error":{"code":404,"message":"Space not found"}}"#), "Space not found");
        assert_eq!(server_message(br#"{"message":"401 Unauthorized"}"#), "401 Unauthorized");
        assert_eq!(
            server_message(br#"{"error":"invalid_token","error_description":"Token expired"}"#),
            "Token expired"
        );
        assert_eq!(
            server_message(
                br#"{"type":"https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY","title":"Invalid request","status":422,"detail":"Your request is not valid and no HTTP validation response was found in the spec, so Prism is generating this error for you.","validation":[{"location":["body"],"severity":"Error","code":"required","message":"Request body must have required property 'ref'"}]}"#
            ),
            "Invalid request: Request body must have required property 'ref'"
        );
        assert_eq!(
            server_message(br#"{"title":"Invalid security scheme used","status":401,"detail":"Your request does not fullfil the security requirements"}"#),
            "Invalid security scheme used: Your request does not fullfil the security requirements"
        );
        assert_eq!(server_message(b"  Bad Gateway \n"), "Bad Gateway");
        assert_eq!(server_message(b""), "(empty body)");
    }
}
