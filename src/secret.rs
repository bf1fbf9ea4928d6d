//! Secrets and their redaction.
//!
//! Every secret docsync reads (tokens, the webhook secret, `CI_JOB_TOKEN`, the
//! credentials inside `CI_REPOSITORY_URL`) is wrapped in [`Secret`] the moment
//! it is read. Creating a `Secret` also registers its value with the process-wide
//! redactor, which every writer of output (logs, results, the dotenv report)
//! passes its text through. The type keeps secrets out of `Debug` and
//! `Display`; the redactor is the second line of defence for text that was
//! built from a secret anyway (a server echoing a token back, say). The
//! redactor knows each secret in the forms a server may echo it: as is,
//! JSON- or backslash-escaped, and percent-encoded.
//!
//! Secret values are trimmed of surrounding whitespace; [`check_value`]
//! refuses (exit 2) one shorter than [`MIN_SECRET_LEN`] or holding
//! whitespace or control characters inside, so that masking never has to
//! rewrite ordinary output and a header is never silently dropped.

use std::fmt::{self, Write as _};
use std::sync::RwLock;

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use secrecy::{ExposeSecret, SecretString};

use crate::error::BadInput;
use serde::{Deserialize, Deserializer};
use url::Url;

/// What a masked secret looks like in any output.
pub const MASK: &str = "[MASKED]";

/// The shortest secret docsync accepts. Shorter values are not substituted
/// in free text (replacing every `1234` in the output would destroy it and
/// reveal the secret by its absence); GitLab refuses to mask them too.
pub const MIN_SECRET_LEN: usize = 8;

static KNOWN_SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());
/// The values registered so far, as given: every target reads the same
/// token again, and its forms need working out once.
static REGISTERED: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A secret value: never printed, never in `Debug`.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Trims surrounding whitespace (a pasted token's trailing newline).
    pub fn new(value: impl Into<String>) -> Self {
        let mut value: String = value.into();
        if value.trim().len() != value.len() {
            value = value.trim().to_owned();
        }
        register(&value);
        Secret(SecretString::from(value))
    }

    /// The value itself, for the one place that must send it (a header, a URL).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Refuses a secret value that cannot be masked or sent as it is: shorter
/// than [`MIN_SECRET_LEN`], or with whitespace or control characters inside
/// (the value is already trimmed). Never shows the value.
pub fn check_value(source: &str, secret: &Secret) -> Result<(), BadInput> {
    let value = secret.expose();
    let length = value.chars().count();
    if length < MIN_SECRET_LEN {
        return Err(BadInput::new(
            source,
            format!(
                "the secret is {length} characters long: it cannot be masked (GitLab masks no variable shorter than {MIN_SECRET_LEN} characters)"
            ),
            format!("set {source} to the whole token or secret, as a masked CI/CD variable"),
        ));
    }
    if let Some(position) = value.chars().position(|c| c.is_whitespace() || c.is_control()) {
        return Err(BadInput::new(
            source,
            format!(
                "the secret holds whitespace or a control character inside (character {} of {length})",
                position + 1
            ),
            format!("set {source} to the token alone: no spaces, line breaks or quotes around parts of it"),
        ));
    }
    Ok(())
}

fn register(value: &str) {
    if value.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let mut registered = REGISTERED.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if registered.iter().any(|known| known == value) {
        return;
    }
    registered.push(value.to_owned());
    let mut known = KNOWN_SECRETS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    for form in echoed_forms(value) {
        if !known.contains(&form) {
            known.push(form);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
}

/// The forms in which a server may echo a secret back: as is; JSON-escaped
/// (`\"`, `\\`, `\/`, `\u0041`); percent-encoded the ways URLs and forms
/// encode it (reserved characters only or everything but letters and
/// digits, upper- or lower-case hex, `+` for a space).
fn echoed_forms(value: &str) -> Vec<String> {
    fn percent(value: &str, keep: impl Fn(u8) -> bool, lower: bool) -> String {
        let mut out = String::with_capacity(value.len() * 3);
        for byte in value.bytes() {
            if keep(byte) {
                out.push(byte as char);
            } else if lower {
                out.push_str(&format!("%{byte:02x}"));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let alphanumeric = |b: u8| b.is_ascii_alphanumeric();
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned();
    let mut forms = vec![value.to_owned(), json.clone(), json.replace('/', "\\/")];
    // Every character as `\uXXXX`, as some JSON writers escape non-ASCII.
    forms.push(value.encode_utf16().map(|unit| format!("\\u{unit:04x}")).collect());
    for lower in [false, true] {
        forms.push(percent(value, unreserved, lower));
        forms.push(percent(value, alphanumeric, lower));
        forms.push(percent(value, unreserved, lower).replace("%20", "+"));
        // Escaped once more: a URL inside a JSON string, or encoded twice.
        forms.push(percent(&percent(value, unreserved, lower), unreserved, lower));
    }
    let mut unique: Vec<String> = Vec::new();
    for form in forms {
        if form.chars().count() >= MIN_SECRET_LEN && !unique.contains(&form) {
            unique.push(form);
        }
    }
    unique
}

/// Replaces every registered secret, in every form it may be echoed in,
/// with [`MASK`]. Apply it to a server's text *before* cutting it short: a
/// cut through a secret would leave most of it unmasked.
pub fn redact(text: &str) -> String {
    let known = KNOWN_SECRETS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut out = text.to_owned();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// Text fit for output: every registered secret masked. Each writer of
/// output (stdout and stderr, the dotenv, JSON and Code Quality reports, the
/// merge request note and description) takes this type, and the redactor
/// is the only way to make one: no writer can be handed text that skipped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted(String);

impl Redacted {
    /// `text` with every registered secret masked; line breaks and other
    /// characters kept (a report, a note).
    pub fn new(text: &str) -> Redacted {
        Redacted(redact(text))
    }

    /// One log line: secrets masked, then control characters (line breaks,
    /// ANSI escapes) and bidirectional overrides escaped ([`printable`]), so
    /// that text a server supplied cannot forge lines or reorder them.
    pub fn line(text: &str) -> Redacted {
        Redacted(printable(&redact(text)))
    }

    /// Lines docsync laid out itself (a report, an error with its fix):
    /// secrets masked, every control and bidirectional character but the
    /// line break escaped.
    pub fn lines(text: &str) -> Redacted {
        Redacted(escaped(&redact(text), |c| c != '\n'))
    }

    /// A JSON document: secrets masked, and bidirectional overrides written
    /// as `\uXXXX` escapes, the same string to a JSON reader (in JSON they
    /// can only stand inside strings, and control characters there are
    /// escaped already), so they reorder nothing where it is shown.
    pub fn json(text: &str) -> Redacted {
        let masked = redact(text);
        let mut out = String::with_capacity(masked.len());
        let mut copied = 0;
        // A plan of hundreds of targets is tens of KB: memchr finds the
        // bytes a bidirectional control starts with in UTF-8
        // ([`BIDI_CONTROL_FIRST_BYTES`]), not reading the text char by
        // char. Both are lead bytes, so each match starts a character.
        let [first, second] = BIDI_CONTROL_FIRST_BYTES;
        for at in memchr::memchr2_iter(first, second, masked.as_bytes()) {
            let Some(c) = masked.get(at..).and_then(|rest| rest.chars().next()) else { continue };
            if is_bidi_control(c) {
                out.push_str(&masked[copied..at]);
                let _ = write!(out, "\\u{:04x}", u32::from(c));
                copied = at + c.len_utf8();
            }
        }
        out.push_str(&masked[copied..]);
        Redacted(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Redacted {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Text safe to show on one line: control characters (newlines, ANSI
/// escapes) and bidirectional overrides (U+202E…) shown escaped, so a user
/// name, a path or a server's message cannot forge lines or reorder what a
/// reader sees.
pub fn printable(text: &str) -> String {
    escaped(text, |_| true)
}

/// `text` with the control and bidirectional characters that `escape`
/// picks written escaped; the text between them is copied whole (a plan of
/// hundreds of targets is tens of KB).
fn escaped(text: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, control) in text.match_indices(|c: char| (c.is_control() || is_bidi_control(c)) && escape(c)) {
        out.push_str(&text[copied..at]);
        out.extend(control.chars().flat_map(char::escape_default));
        copied = at + control.len();
    }
    out.push_str(&text[copied..]);
    out
}

/// The first byte of every [`is_bidi_control`] character in UTF-8: 0xD8
/// for U+061C, 0xE2 for U+200E to U+2069.
const BIDI_CONTROL_FIRST_BYTES: [u8; 2] = [0xD8, 0xE2];

/// The characters that change the order text is displayed in (Unicode's
/// `Bidi_Control`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A URL with any user name and password replaced by [`MASK`]; the one
/// function applied to every URL that can carry credentials before it is shown.
pub fn redact_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Only fails for URLs that cannot have credentials, which is not this case.
    let _ = shown.set_username(MASK);
    if url.password().is_some() {
        let _ = shown.set_password(Some(MASK));
    }
    // `Url` percent-encodes the brackets of the mask; show them as written.
    shown.to_string().replace("%5BMASKED%5D", MASK)
}

/// Registers the credentials inside a URL (such as `CI_REPOSITORY_URL`) as
/// secrets, and returns the URL as a secret too.
pub fn secret_url(raw: &str) -> Secret {
    if let Ok(url) = Url::parse(raw) {
        register_credentials(&url);
    }
    Secret::new(raw)
}

/// Registers what a URL docsync sends to but never shows (a webhook URL)
/// holds, since receivers carry their secret in any part of it and echo it
/// back (`Cannot POST /hooks/<token>`): its credentials; its path, whole
/// (a segment alone is often a name, `/hooks/handbook`, which masking
/// would erase from every line); its query, whole and each value. A part
/// shorter than [`MIN_SECRET_LEN`] is not registered.
pub fn register_hidden_url(url: &Url) {
    register_credentials(url);
    let path = url.path();
    if path != "/" {
        for form in [path.to_owned(), percent_decoded(path)] {
            register(&form);
            register(form.trim_start_matches('/'));
        }
    }
    if let Some(query) = url.query() {
        register(query);
        for (_, value) in url.query_pairs() {
            register(&value);
        }
    }
}

/// A URL's password, as written and decoded, and the `Authorization:
/// Basic` value made of its user info: the HTTP client sends user info as
/// Basic auth (`base64(user:password)`, both decoded), and a server may
/// echo that header.
fn register_credentials(url: &Url) {
    if url.username().is_empty() && url.password().is_none() {
        return;
    }
    let user = percent_decoded(url.username());
    if let Some(password) = url.password() {
        register(password);
        register(&percent_decoded(password));
    }
    let password = url.password().map(percent_decoded).unwrap_or_default();
    register(&BASE64_STANDARD.encode(format!("{user}:{password}")));
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("glpat-debug-secret-value");
        assert_eq!(format!("{secret:?}"), MASK);
        assert_eq!(secret.expose(), "glpat-debug-secret-value");
    }

    #[test]
    fn redact_masks_registered_values_longest_first() {
        Secret::new("abcd-short-secret");
        Secret::new("abcd-short-secret-and-more");
        assert_eq!(redact("x abcd-short-secret-and-more y abcd-short-secret z"), "x [MASKED] y [MASKED] z");
    }

    #[test]
    fn redact_url_masks_user_and_password() {
        let url = Url::parse("https://oauth2:tok%20en@gitlab.example.com/g/p.git").unwrap();
        assert_eq!(redact_url(&url), "https://[MASKED]:[MASKED]@gitlab.example.com/g/p.git");
        let plain = Url::parse("https://gitlab.example.com/g/p.git").unwrap();
        assert_eq!(redact_url(&plain), "https://gitlab.example.com/g/p.git");
    }

    #[test]
    fn secrets_are_trimmed_and_checked() {
        let secret = Secret::new("  glpat-trimmed-value\n");
        assert_eq!(secret.expose(), "glpat-trimmed-value");
        assert!(check_value("DOCSYNC_GITLAB_TOKEN", &secret).is_ok());
        let short = check_value("DOCSYNC_DOT_WEBHOOK_SECRET", &Secret::new("1234567")).unwrap_err().to_string();
        assert!(short.starts_with("DOCSYNC_DOT_WEBHOOK_SECRET: the secret is 7 characters long"), "{short}");
        assert!(!short.contains("1234567"), "{short}");
        for inside in ["glpat-two words", "glpat-line\nbreak", "glpat-tab\there", "glpat-nul\0byte"] {
            let error = check_value("DOCSYNC_GITBOOK_TOKEN", &Secret::new(inside)).unwrap_err().to_string();
            assert!(error.contains("whitespace or a control character inside"), "{error}");
            assert!(!error.contains(inside), "{error}");
        }
    }

    #[test]
    fn short_values_never_rewrite_output() {
        Secret::new("1234567");
        assert_eq!(redact("build 1234567 passed"), "build 1234567 passed");
    }

    #[test]
    fn escaped_and_encoded_forms_are_redacted() {
        Secret::new(r#"sec"ret/with\back+sl@sh"#);
        for echoed in [
            r#"{"message":"bad token sec\"ret\/with\\back+sl@sh"}"#,
            r#"{"message":"bad token sec\"ret/with\\back+sl@sh"}"#,
            "url=sec%22ret%2Fwith%5Cback%2Bsl%40sh",
            "url=sec%22ret%2fwith%5cback%2bsl%40sh",
            "double=sec%2522ret%252Fwith%255Cback%252Bsl%2540sh",
        ] {
            let shown = redact(echoed);
            assert!(shown.contains(MASK) && !shown.contains("back"), "{echoed} became {shown}");
        }
    }

    #[test]
    fn server_text_cannot_forge_lines_or_reorder_them() {
        assert_eq!(printable("ada\nok  DOCSYNC_GITLAB_TOKEN  fine"), "ada\\nok  DOCSYNC_GITLAB_TOKEN  fine");
        assert_eq!(printable("\x1b[32mok\x1b[0m"), "\\u{1b}[32mok\\u{1b}[0m");
        assert_eq!(printable("evil\u{202e}dm.txt"), "evil\\u{202e}dm.txt");
        assert_eq!(printable("Ada Writer — café"), "Ada Writer — café");
    }

    /// `Redacted::json` looks for bidirectional controls by their first
    /// byte: every one of them starts with one of those bytes.
    #[test]
    fn every_bidi_control_starts_with_a_byte_json_looks_for() {
        let controls: Vec<char> =
            (0..=u32::from(char::MAX)).filter_map(char::from_u32).filter(|c| is_bidi_control(*c)).collect();
        assert_eq!(controls.len(), 12, "{controls:?}");
        for c in controls {
            let first = c.encode_utf8(&mut [0; 4]).as_bytes()[0];
            assert!(BIDI_CONTROL_FIRST_BYTES.contains(&first), "U+{:04X} starts with {first:#x}", u32::from(c));
            let shown = Redacted::json(&format!("a{c}b"));
            assert_eq!(shown.as_str(), format!("a\\u{:04x}b", u32::from(c)));
        }
    }

    /// Lines keep their breaks and escape the rest, wherever it stands:
    /// each line as [`printable`] shows it.
    #[test]
    fn lines_escape_what_printable_escapes_but_the_line_break() {
        for text in ["", "\n", "\n\n", "a\r\nb\n", "\u{202e}x\n\ty\u{7f}", "— café\n\u{1b}[0m\u{2069}"] {
            let each_line: Vec<String> = text.split('\n').map(printable).collect();
            assert_eq!(Redacted::lines(text).as_str(), each_line.join("\n"), "{text:?}");
        }
    }

    #[test]
    fn redacted_text_is_masked_and_log_lines_are_escaped() {
        Secret::new("glpat-redacted-type-value");
        let server = "bad glpat-redacted-type-value\nok  forged\u{202e}\x1b[31m";
        assert_eq!(Redacted::new(server).as_str(), "bad [MASKED]\nok  forged\u{202e}\x1b[31m");
        assert_eq!(Redacted::line(server).as_str(), "bad [MASKED]\\nok  forged\\u{202e}\\u{1b}[31m");
        assert_eq!(Redacted::lines(server).as_str(), "bad [MASKED]\nok  forged\\u{202e}\\u{1b}[31m");
        let json = serde_json::to_string(&serde_json::json!({ "m": server })).unwrap();
        let shown = Redacted::json(&json);
        assert_eq!(shown.as_str(), r#"{"m":"bad [MASKED]\nok  forged\u202e\u001b[31m"}"#);
        let read: serde_json::Value = serde_json::from_str(shown.as_str()).unwrap();
        assert_eq!(read["m"], "bad [MASKED]\nok  forged\u{202e}\x1b[31m", "the same string to a JSON reader");
        // Each control escaped where it stands: at either end, side by
        // side, and between other non-ASCII text, which stays as it is.
        assert_eq!(Redacted::json("\u{2066}café\u{200f}\u{202a}—\u{061c}").as_str(), r"\u2066café\u200f\u202a—\u061c");
    }

    #[test]
    fn secret_url_registers_encoded_and_decoded_password() {
        secret_url("https://gitlab-ci-token:p%40ss-word-1@gitlab.example.com/g/p.git");
        assert_eq!(redact("p@ss-word-1 and p%40ss-word-1"), "[MASKED] and [MASKED]");
        // base64("gitlab-ci-token:p@ss-word-1"), the Basic auth git sends.
        assert_eq!(redact("Basic Z2l0bGFiLWNpLXRva2VuOnBAc3Mtd29yZC0x"), "Basic [MASKED]");
    }

    #[test]
    fn a_hidden_urls_credentials_path_and_query_are_registered() {
        let url =
            Url::parse("https://hook:pw-hidden-1@dot.example.com/hooks/tok%2Dhidden-2?key=key-hidden-3&x=1").unwrap();
        register_hidden_url(&url);
        assert_eq!(
            redact("Cannot POST /hooks/tok%2Dhidden-2?key=key-hidden-3&x=1"),
            "Cannot POST [MASKED]?[MASKED]",
            "the path and query as sent"
        );
        assert_eq!(redact("unknown hook hooks/tok-hidden-2, key key-hidden-3"), "unknown hook [MASKED], key [MASKED]");
        assert_eq!(redact("target tok-hidden-2"), "target tok-hidden-2", "a segment alone may be a name");
        // base64("hook:pw-hidden-1")
        assert_eq!(redact("Authorization: Basic aG9vazpwdy1oaWRkZW4tMQ=="), "Authorization: Basic [MASKED]");
        assert_eq!(redact("pw-hidden-1"), "[MASKED]");
        assert_eq!(redact("the /hooks/ endpoint"), "the /hooks/ endpoint", "a part shorter than 8 stays");
    }
}
