//! YAML as the pre-flight reads it: `granit-parser`'s events built into a
//! small tree that keeps the line of every value. The parser never panics
//! on bad input and bounds nesting; this module bounds what aliases expand
//! to (the values written in the file are bounded by the file's size, see
//! [`super::snapshot`]), refuses duplicate keys in linear time, and reads
//! plain scalars as YAML 1.1 does
//! for booleans (`yes`, `off`) and 1.2 for the rest, as `serde-saphyr`
//! did before (it weighed half a megabyte of the binary).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use granit_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::Value;

/// How many values a stream's aliases may expand to, all aliases together
/// (a "billion laughs" stops here). Values written out in the file do not
/// count: a large file without aliases is valid YAML.
const MAX_ALIAS_VALUES: usize = 100_000;
/// How deeply lists and mappings may nest.
const MAX_DEPTH: usize = 128;

/// A value and the line (1-based) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spanned<T> {
    pub value: T,
    pub line: usize,
}

/// A mapping's keys, each with its value and the value's line.
pub(super) type Mapping = BTreeMap<String, Spanned<Value>>;

/// Why YAML does not parse, or does not have the shape a file needs: the
/// line (1-based, in the parsed text) and the problem, without the source
/// excerpt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub(super) struct YamlError {
    pub line: usize,
    pub problem: String,
}

impl YamlError {
    pub(super) fn at(line: usize, problem: impl Into<String>) -> YamlError {
        YamlError { line, problem: problem.into() }
    }
}

/// One value of a document, as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub line: usize,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Content {
    /// A scalar's text; `plain` when unquoted (only then is `yes` a boolean
    /// or `12` a number).
    Scalar {
        text: String,
        plain: bool,
    },
    List(Vec<Node>),
    /// Entries in the document's order, keys unique.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under a key of a mapping.
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|(k, _)| k == key).map(|(_, node)| node)
    }

    pub(super) fn entries(&self) -> Option<&[(String, Node)]> {
        match &self.content {
            Content::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub(super) fn items(&self) -> Option<&[Node]> {
        match &self.content {
            Content::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value as JSON: plain scalars resolved to null, booleans and
    /// numbers; everything else a string.
    pub(super) fn value(&self) -> Value {
        match &self.content {
            Content::Scalar { text, plain: true } => resolve_plain(text),
            Content::Scalar { text, plain: false } => Value::String(text.clone()),
            Content::List(items) => Value::Array(items.iter().map(Node::value).collect()),
            Content::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }

    pub(super) fn spanned(&self) -> Spanned<Value> {
        Spanned { value: self.value(), line: self.line }
    }
}

/// What a plain scalar means without a schema.
fn resolve_plain(text: &str) -> Value {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "~" || trimmed.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    let lower = trimmed.to_ascii_lowercase();
    match lower.as_str() {
        "true" | "yes" | "y" | "on" => return Value::Bool(true),
        "false" | "no" | "n" | "off" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = parse_integer(trimmed) {
        return number;
    }
    let looks_numeric = trimmed.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && trimmed.bytes().any(|b| b.is_ascii_digit());
    match trimmed.parse::<f64>().ok().filter(|f| looks_numeric && f.is_finite()) {
        Some(float) => {
            serde_json::Number::from_f64(float).map_or_else(|| Value::String(text.to_owned()), Value::Number)
        }
        None => Value::String(text.to_owned()),
    }
}

/// Decimal (no leading zero), `0x` and `0o` integers, with a sign.
fn parse_integer(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = digits.strip_prefix("0o") {
        (8, octal)
    } else if digits.len() > 1 && digits.starts_with('0') {
        return None;
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = i64::try_from(magnitude).ok().map(|m| -m).or((magnitude == 1 << 63).then_some(i64::MIN))?;
        Some(Value::from(value))
    } else {
        Some(Value::from(magnitude))
    }
}

/// A value as built. An anchored value is shared between its place and
/// its aliases, not copied: copied, anchors nested around a large value
/// would each hold a copy of it (a 400 KB file with 100 nested anchors took
/// 1.4 GB). The document is copied out once, when it is complete.
#[derive(Debug)]
enum Built {
    Scalar {
        line: usize,
        text: String,
        plain: bool,
    },
    /// `values`: how many values the list holds, itself and aliases'
    /// expansions included (see [`Built::values`]).
    List {
        line: usize,
        items: Vec<Built>,
        values: usize,
    },
    Map {
        line: usize,
        entries: Vec<(String, Built)>,
        values: usize,
    },
    /// An anchored value in its place, or an alias to it, at `line`.
    Shared {
        line: usize,
        node: Rc<Built>,
    },
}

impl Built {
    /// The number of values this stands for once aliases are expanded,
    /// without walking it (a shared value may be reached many ways).
    fn values(&self) -> usize {
        match self {
            Built::Scalar { .. } => 1,
            Built::List { values, .. } | Built::Map { values, .. } => *values,
            Built::Shared { node, .. } => node.values(),
        }
    }

    /// The node, taken apart: a shared value no one else holds is moved.
    fn into_node(self) -> Node {
        match self {
            Built::Scalar { line, text, plain } => Node { line, content: Content::Scalar { text, plain } },
            Built::List { line, items, .. } => {
                Node { line, content: Content::List(items.into_iter().map(Built::into_node).collect()) }
            }
            Built::Map { line, entries, .. } => Node {
                line,
                content: Content::Map(entries.into_iter().map(|(key, value)| (key, value.into_node())).collect()),
            },
            Built::Shared { line, node } => {
                let node = Rc::try_unwrap(node).map_or_else(|shared| shared.to_node(), Built::into_node);
                Node { line, ..node }
            }
        }
    }

    fn to_node(&self) -> Node {
        match self {
            Built::Scalar { line, text, plain } => {
                Node { line: *line, content: Content::Scalar { text: text.clone(), plain: *plain } }
            }
            Built::List { line, items, .. } => {
                Node { line: *line, content: Content::List(items.iter().map(Built::to_node).collect()) }
            }
            Built::Map { line, entries, .. } => Node {
                line: *line,
                content: Content::Map(entries.iter().map(|(key, value)| (key.clone(), value.to_node())).collect()),
            },
            Built::Shared { line, node } => Node { line: *line, ..node.to_node() },
        }
    }

    fn line(&self) -> usize {
        match self {
            Built::Scalar { line, .. }
            | Built::List { line, .. }
            | Built::Map { line, .. }
            | Built::Shared { line, .. } => *line,
        }
    }
}

/// A list or mapping being built.
enum Open {
    List {
        line: usize,
        anchor: usize,
        items: Vec<Built>,
    },
    /// `keys` holds the keys of `entries`, so that a duplicate is found
    /// without going through them.
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<(String, Built)>,
        keys: HashSet<String>,
        key: Option<(String, usize)>,
    },
}

/// Builds nodes from events.
#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    anchors: HashMap<usize, Rc<Built>>,
    documents: Vec<Built>,
    /// Values the aliases so far expanded to.
    alias_values: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, line: usize) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                // `!!str 12` is the string "12", as a quoted scalar.
                let string_tag = tag.is_some_and(|tag| tag.is_yaml_core_schema_tag("str"));
                let plain = matches!(style, ScalarStyle::Plain) && !string_tag;
                self.close(Built::Scalar { line, text: text.into_owned(), plain }, anchor)?;
            }
            Event::Alias(anchor) => {
                let node =
                    self.anchors.get(&anchor).cloned().ok_or_else(|| YamlError::at(line, "an alias to no anchor"))?;
                self.count_alias(node.values(), line)?;
                self.close(Built::Shared { line, node }, 0)?;
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if self.open.len() >= MAX_DEPTH {
                    return Err(YamlError::at(line, format!("lists and mappings nest more than {MAX_DEPTH} deep")));
                }
                self.open.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::List { line, anchor, items: Vec::new() }
                } else {
                    Open::Map { line, anchor, entries: Vec::new(), keys: HashSet::new(), key: None }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                Some(Open::List { line, anchor, items }) => {
                    let values = items.iter().fold(1, |sum: usize, item| sum.saturating_add(item.values()));
                    self.close(Built::List { line, items, values }, anchor)?;
                }
                Some(Open::Map { line, anchor, entries, .. }) => {
                    let values =
                        entries.iter().fold(1, |sum: usize, (_, value)| sum.saturating_add(1 + value.values()));
                    self.close(Built::Map { line, entries, values }, anchor)?;
                }
                None => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn count_alias(&mut self, values: usize, line: usize) -> Result<(), YamlError> {
        self.alias_values = self.alias_values.saturating_add(values);
        if self.alias_values > MAX_ALIAS_VALUES {
            return Err(YamlError::at(line, format!("aliases expand to more than {MAX_ALIAS_VALUES} values")));
        }
        Ok(())
    }

    /// A finished node: into its list or mapping, or the document.
    fn close(&mut self, node: Built, anchor: usize) -> Result<(), YamlError> {
        let node = if anchor == 0 {
            node
        } else {
            let line = node.line();
            let shared = Rc::new(node);
            self.anchors.insert(anchor, Rc::clone(&shared));
            Built::Shared { line, node: shared }
        };
        match self.open.last_mut() {
            None => self.documents.push(node),
            Some(Open::List { items, .. }) => items.push(node),
            Some(Open::Map { entries, keys, key, .. }) => match key.take() {
                Some((key, _)) => entries.push((key, node)),
                None => {
                    // A list or mapping as a key (`? [a, b]`) is named by
                    // its JSON form.
                    let line = node.line();
                    let text = match node {
                        Built::Scalar { text, .. } => text,
                        other => match other.to_node() {
                            Node { content: Content::Scalar { text, .. }, .. } => text,
                            complex => complex.value().to_string(),
                        },
                    };
                    if !keys.insert(text.clone()) {
                        return Err(YamlError::at(line, format!("duplicate mapping key `{text}`")));
                    }
                    *key = Some((text, line));
                }
            },
        }
        Ok(())
    }

    /// The documents, once every event is in.
    fn finish(self) -> Vec<Node> {
        // The anchors' own references go first, so that a value nothing
        // aliased is moved out rather than copied.
        drop(self.anchors);
        self.documents.into_iter().map(Built::into_node).collect()
    }
}

fn scan_error(error: &ScanError) -> YamlError {
    YamlError::at(error.marker().line().max(1), error.info())
}

/// Every document of a stream.
pub(super) fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        builder.event(event, span.start.line().max(1))?;
    }
    Ok(builder.finish())
}

/// The first document of a stream, if any.
pub(super) fn document(text: &str) -> Result<Option<Node>, YamlError> {
    Ok(parse(text)?.into_iter().next())
}

/// A document that must be a mapping (or empty).
pub(super) fn mapping(text: &str) -> Result<Mapping, YamlError> {
    if text.trim().is_empty() {
        return Ok(Mapping::new());
    }
    let Some(node) = document(text)? else { return Ok(Mapping::new()) };
    match &node.content {
        Content::Map(entries) => Ok(entries.iter().map(|(key, value)| (key.clone(), value.spanned())).collect()),
        Content::Scalar { .. } if node.value().is_null() => Ok(Mapping::new()),
        _ => Err(YamlError::at(1, "not a mapping of keys to values")),
    }
}

/// Every document of a YAML stream parses.
pub(super) fn documents(text: &str) -> Result<(), YamlError> {
    parse(text).map(|_| ())
}

/// The line of a value (1-based).
pub(super) fn line(value: &Spanned<Value>) -> usize {
    value.line.max(1)
}

/// The line of a top-level `key:` in the text (a value's own line is where
/// its content starts, a line below the key for a mapping).
pub(super) fn key_line(text: &str, key: &str, value: &Spanned<Value>) -> usize {
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
pub(super) fn type_name(value: &Value) -> &'static str {
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
        let YamlError { line, problem: message } = mapping("a: 1\ndescription: Foo: bar\n").expect_err("bad");
        assert_eq!(line, 2, "{message}");
        let YamlError { line, .. } = documents("a: 1\n---\nb: [\n").expect_err("bad");
        assert!(line >= 3);
    }

    #[test]
    fn a_list_is_not_a_mapping() {
        assert_eq!(mapping("- a\n- b\n").expect_err("list").problem, "not a mapping of keys to values");
        assert!(mapping("").expect("empty").is_empty());
        assert!(mapping("~\n").expect("null").is_empty());
    }

    #[test]
    fn plain_scalars_are_resolved_quoted_ones_are_strings() {
        let map = mapping("a: yes\nb: 'yes'\nc: 12\nd: -3\ne: 1.5\ng: null\nh: ~\ni: text\nj: 0x1F\n").expect("map");
        let values: Vec<&Value> = map.values().map(|v| &v.value).collect();
        assert_eq!(
            values,
            [
                &Value::Bool(true),
                &Value::from("yes"),
                &Value::from(12),
                &Value::from(-3),
                &Value::from(1.5),
                &Value::Null,
                &Value::Null,
                &Value::from("text"),
                &Value::from(31),
            ]
        );
    }

    #[test]
    fn aliases_are_expanded_within_bounds() {
        let map = mapping("a: &x [1, 2]\nb: *x\n").expect("map");
        assert_eq!(map["b"].value, serde_json::json!([1, 2]));
        let mut laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
        for (name, previous) in ["b", "c", "d", "e", "f", "g"].iter().zip(["a", "b", "c", "d", "e", "f"]) {
            laughs.push_str(&format!("{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"));
        }
        assert!(mapping(&laughs).expect_err("too big").problem.contains("aliases"));
    }

    #[test]
    fn values_written_out_are_not_bounded_only_alias_expansions_are() {
        // 150,000 items, no alias: valid YAML, however many values.
        let list = "- item\n".repeat(150_000);
        assert_eq!(document(&list).expect("parses").and_then(|n| n.items().map(<[Node]>::len)), Some(150_000));
        // One alias to a list of 99,999 items stays within the bound; a
        // second one does not.
        let items = "  - x\n".repeat(99_999);
        assert!(mapping(&format!("a: &a\n{items}b: *a\n")).is_ok());
        let YamlError { line, problem: message } =
            mapping(&format!("a: &a\n{items}b: *a\nc: *a\n")).expect_err("too big");
        assert_eq!((line, message.as_str()), (100_002, "aliases expand to more than 100000 values"));
    }

    #[test]
    fn anchored_values_keep_their_place_and_aliases_take_the_alias_line() {
        let text = "a: &outer\n  b: &inner [1, 2]\n  c: x\nd: *inner\ne: *outer\n? *inner\n: complex\n&k f: g\nh: *k\n";
        let node = document(text).expect("parses").expect("a document");
        assert_eq!(node.get("a").map(|n| n.line), Some(2));
        assert_eq!(node.get("a").and_then(|n| n.get("b")).map(|n| n.line), Some(2));
        assert_eq!(node.get("d").map(|n| (n.line, n.value())), Some((4, serde_json::json!([1, 2]))));
        let outer = node.get("e").expect("e");
        assert_eq!((outer.line, outer.value()), (5, serde_json::json!({"b": [1, 2], "c": "x"})));
        assert_eq!(outer.get("b").map(|n| n.line), Some(2), "inside an alias, lines are the anchored value's");
        assert_eq!(node.get("[1,2]").map(Node::value), Some(Value::from("complex")));
        assert_eq!(node.get("f").map(Node::value), Some(Value::from("g")), "an anchored key is its text");
        assert_eq!(node.get("h").map(Node::value), Some(Value::from("f")));
        // Nested anchors around a value cost nothing; their aliases do.
        let nested = format!("a: {}{}{}\n", "&a [".repeat(100), "x, ".repeat(1_000), "]".repeat(100));
        assert!(mapping(&nested).is_ok());
        let bound = format!("a: &x [{}]\nb: [{}]\n", "x, ".repeat(999), "*x, ".repeat(100));
        assert!(mapping(&bound).is_ok(), "100 aliases of 1,000 values");
        let over = format!("a: &x [{}]\nb: [{}]\n", "x, ".repeat(999), "*x, ".repeat(101));
        assert_eq!(mapping(&over).expect_err("over").problem, "aliases expand to more than 100000 values");
    }

    #[test]
    fn duplicate_keys_are_found_in_linear_time() {
        let mut text: String = (0..40_000).map(|i| format!("key-{i:05}: {i}\n")).collect();
        text.push_str("key-00000: again\n");
        // The parser's own time is linear and not the point: time only the
        // building, where each key is checked against the mapping's others.
        // Compared one by one, 40,000 keys take 800 million comparisons
        // (seconds, even optimised); looked up, milliseconds.
        let events: Vec<_> = Parser::new_from_str(&text).map(|event| event.expect("scans")).collect();
        let mut builder = Builder::default();
        let started = std::time::Instant::now();
        let refused = events.into_iter().try_for_each(|(event, span)| builder.event(event, span.start.line()));
        let elapsed = started.elapsed();
        assert_eq!(refused, Err(YamlError::at(40_001, "duplicate mapping key `key-00000`")));
        assert!(elapsed < std::time::Duration::from_secs(2), "building 40,000 keys took {elapsed:?}");
    }

    #[test]
    fn tagged_strings_and_complex_keys() {
        let map = mapping("a: !!str 12\n? [x, w]\n: z\n").expect("map");
        assert_eq!(map["a"].value, Value::from("12"));
        assert_eq!(map.get(r#"["x","w"]"#).map(|v| &v.value), Some(&Value::from("z")), "{map:?}");
    }

    #[test]
    fn duplicate_keys_and_deep_nesting_are_refused() {
        assert_eq!(mapping("a: 1\na: 2\n").expect_err("dup"), YamlError::at(2, "duplicate mapping key `a`"));
        assert!(documents(&"[".repeat(1000)).is_err());
        assert!(documents(&format!("{}x{}", "[".repeat(200), "]".repeat(200))).is_err());
    }
}
