//! YAML as the pre-flight reads it: with `serde-saphyr`, which never
//! panics on bad input and bounds aliases and nesting, and gives the line
//! of every value and error.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde_json::Value;
use serde_saphyr::Spanned;

/// A mapping's keys, each with its value and the value's line.
pub type Mapping = BTreeMap<String, Spanned<Value>>;

/// Why YAML does not parse: the line (1-based, in the parsed text) and a
/// message without the source excerpt.
pub type YamlError = (usize, String);

fn error(error: &serde_saphyr::Error) -> YamlError {
    let line = error.location().map_or(1, |l| l.line() as usize).max(1);
    let message = error.without_snippet().to_string();
    // saphyr appends the position itself; the finding carries the line.
    let message = match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => message,
    };
    (line, message.trim().to_owned())
}

/// A document that must be a mapping (or empty).
pub fn mapping(text: &str) -> Result<Mapping, YamlError> {
    if text.trim().is_empty() {
        return Ok(Mapping::new());
    }
    // Parsed loosely first: a scalar or a list is a type problem, not a
    // syntax error, and deserves its own message.
    match serde_saphyr::from_str::<Option<Mapping>>(text) {
        Ok(mapping) => Ok(mapping.unwrap_or_default()),
        Err(failure) => match serde_saphyr::from_str::<IgnoredAny>(text) {
            Ok(_) => Err((1, "not a mapping of keys to values".to_owned())),
            Err(_) => Err(error(&failure)),
        },
    }
}

/// Every document of a YAML stream parses.
pub fn documents(text: &str) -> Result<(), YamlError> {
    serde_saphyr::from_multiple::<IgnoredAny>(text).map(|_| ()).map_err(|e| error(&e))
}

/// The line of a value (1-based).
pub fn line(value: &Spanned<Value>) -> usize {
    let line = value.referenced.line() as usize;
    if line == 0 { value.defined.line() as usize } else { line }
}

/// The line of a top-level `key:` in the text (a value's own line is where
/// its content starts, a line below the key for a mapping).
pub fn key_line(text: &str, key: &str, value: &Spanned<Value>) -> usize {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .or_else(|| l.strip_prefix(&format!("'{key}'")))
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or_else(|| line(value), |index| index + 1)
}

/// The name of a JSON value's type, for messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let map = mapping("a: 1\nb:\n  c: 2\n").expect("parses");
        assert_eq!(line(&map["a"]), 1);
        assert_eq!(line(&map["b"]), 3);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let (line, message) = mapping("a: 1\ndescription: Foo: bar\n").expect_err("bad");
        assert_eq!(line, 2, "{message}");
        let (line, _) = documents("a: 1\n---\nb: [\n").expect_err("bad");
        assert!(line >= 3);
    }

    #[test]
    fn a_list_is_not_a_mapping() {
        assert_eq!(mapping("- a\n- b\n").expect_err("list").1, "not a mapping of keys to values");
        assert!(mapping("").expect("empty").is_empty());
    }
}
