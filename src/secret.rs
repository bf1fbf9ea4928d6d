//! Secrets and their redaction.
//!
//! Every secret docsync reads (tokens, the webhook secret, `CI_JOB_TOKEN`, the
//! credentials inside `CI_REPOSITORY_URL`) is wrapped in [`Secret`] the moment
//! it is read. Creating a `Secret` also registers its value with the process-wide
//! redactor, which every writer of output (logs, results, the dotenv report)
//! passes its text through. The type keeps secrets out of `Debug` and
//! `Display`; the redactor is the second line of defence for text that was
//! built from a secret anyway (a server echoing a token back, say).

use std::fmt;
use std::sync::RwLock;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

/// What a masked secret looks like in any output.
pub const MASK: &str = "[MASKED]";

/// Values shorter than this are not substituted in free text: replacing every
/// `1` in the output would destroy it and reveal the secret by its absence.
/// GitLab itself refuses to mask variables shorter than 8 characters.
const MIN_REDACTABLE_LEN: usize = 4;

static KNOWN_SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A secret value: never printed, never in `Debug`.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value: String = value.into();
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

fn register(value: &str) {
    if value.len() < MIN_REDACTABLE_LEN {
        return;
    }
    let mut known = KNOWN_SECRETS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
        // Longest first, so a secret that contains another is masked whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// Replaces every registered secret in `text` with [`MASK`].
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
        if let Some(password) = url.password() {
            register(password);
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                register(&decoded);
            }
        }
    }
    Secret::new(raw)
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
    fn secret_url_registers_encoded_and_decoded_password() {
        secret_url("https://gitlab-ci-token:p%40ss-word-1@gitlab.example.com/g/p.git");
        assert_eq!(redact("p@ss-word-1 and p%40ss-word-1"), "[MASKED] and [MASKED]");
    }
}
