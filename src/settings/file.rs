//! `docsync.toml`: reading it into tables of settings, by the declarations
//! (`declarations.rs`): every key is a declared setting's (checked for the
//! type it declares), a target's `name` or `kind`, or refused with its file
//! and line: unknown keys, secrets written inline, run-wide keys in a
//! `[[target]]`, keys of the other kind of target, target-only keys in
//! `[defaults]`. Apart from [`super::resolve`] because it is the one part
//! of the settings that reads the disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::bounded_file;
use crate::error::{BadInput, BadInputs, Source};
use crate::settings::declarations::{self, CONFIG, Scope, Setting, ValueType};
use crate::settings::environment::Environment;
use crate::settings::flags::GlobalFlags;

pub(crate) const DEFAULT_CONFIG_FILE: &str = "docsync.toml";
/// The largest `docsync.toml` read: hundreds of targets fit in a few dozen
/// KiB; anything near this is a wrong path, not a configuration.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// `docsync.toml`, as read.
#[derive(Debug, Default)]
pub(crate) struct FileConfig {
    pub defaults: FileTable,
    pub target: Vec<FileTable>,
}

/// One `[[target]]` or the `[defaults]` table: its settings by name, each
/// with its line.
#[derive(Debug, Default, Clone)]
pub(crate) struct FileTable {
    /// The target's name and its line.
    pub name: Option<(String, usize)>,
    pub kind: Option<(String, usize)>,
    pub values: BTreeMap<&'static str, FileValue>,
    /// Secrets written inline (`gitbook_token = "…"`), by key and line:
    /// refused with a pointer to the `_env` key.
    pub inline_secrets: Vec<(&'static str, usize)>,
}

/// One key's value as the file writes it, and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileValue {
    pub value: RawValue,
    pub line: usize,
}

/// A setting's value before its parser: text (a boolean or number as
/// written), or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawValue {
    Text(String),
    List(Vec<String>),
}

impl FileTable {
    pub(crate) fn get(&self, setting: &Setting) -> Option<&FileValue> {
        self.values.get(setting.name)
    }
}

/// A config file read from disk, with its path for messages.
#[derive(Debug)]
pub(crate) struct LoadedFile {
    pub path: PathBuf,
    pub config: FileConfig,
}

/// Reads the config file: the one named by `--config`/`DOCSYNC_CONFIG` (which
/// must exist), else `docsync.toml` in the working directory when present.
pub(crate) fn load_file(flags: &GlobalFlags, env: &Environment) -> Result<Option<LoadedFile>, BadInputs> {
    let (path, explicit, source) = match (flags.settings.get(&CONFIG), env.docsync.get(&CONFIG)) {
        (Some(path), _) => (PathBuf::from(path), true, "--config"),
        (None, Some(path)) => (PathBuf::from(path), true, "DOCSYNC_CONFIG"),
        (None, None) => (PathBuf::from(DEFAULT_CONFIG_FILE), false, DEFAULT_CONFIG_FILE),
    };
    let cannot_read = |why: String| {
        BadInputs(vec![
            BadInput::new(
                source,
                format!("cannot read {}: {why}", path.display()),
                "point it at an existing docsync.toml (a regular file of at most 1 MiB), or unset it to use the environment only",
            )
            .with_value(path.display().to_string()),
        ])
    };
    let bytes = match bounded_file::read(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) => bytes,
        Err(refused) if refused.is_not_found() && !explicit => return Ok(None),
        Err(refused) => return Err(cannot_read(refused.to_string())),
    };
    let text = String::from_utf8(bytes).map_err(|error| {
        cannot_read(format!("it is not UTF-8 text (invalid bytes at offset {})", error.utf8_error().valid_up_to()))
    })?;
    let config = parse_file(&path, &text)?;
    Ok(Some(LoadedFile { path, config }))
}

/// The file's tables, or every key refused.
pub(super) fn parse_file(path: &Path, text: &str) -> Result<FileConfig, BadInputs> {
    let file = path.display().to_string();
    let document = DeTable::parse(text).map_err(|error| BadInputs(vec![syntax_error(&file, text, &error)]))?;
    let reader = Reader { file: &file, text, lines: LineIndex::new(text) };
    let mut problems = Vec::new();
    let mut config = FileConfig::default();
    for (key, value) in document.get_ref().iter() {
        let line = reader.lines.line_of(key.span().start);
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("defaults", DeValue::Table(table)) => config.defaults = reader.table(table, &mut problems),
            ("target", DeValue::Array(items)) => {
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::Table(table) => config.target.push(reader.table(table, &mut problems)),
                        _ => problems.push(reader.wrong_table(line, "target")),
                    }
                }
            }
            (name @ ("defaults" | "target"), _) => problems.push(reader.wrong_table(line, name)),
            (other, _) => {
                let fix = match declarations::by_key(other) {
                    Some(_) => format!("put `{other}` under [defaults] (or into a [[target]])"),
                    None => {
                        "the file holds a [defaults] table and [[target]] tables (docs/configuration.md)".to_owned()
                    }
                };
                problems.push(BadInput::new(
                    format!("{file}: line {line}, key `{other}`"),
                    "not a table docsync.toml has",
                    fix,
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(BadInputs(problems));
    }
    Ok(config)
}

/// A TOML syntax error named by file and line, and for a key set twice, by
/// the key with the fix that fits.
fn syntax_error(file: &str, text: &str, error: &toml::de::Error) -> BadInput {
    let message = error.message().trim();
    let Some(span) = error.span() else {
        return BadInput::new(file, message, "check the file's TOML syntax");
    };
    let line = line_of(text, span.start);
    if message.starts_with("duplicate key") {
        let key = text.get(span).unwrap_or_default().trim().trim_matches('"');
        return BadInput::new(
            format!("{file}: line {line}, key `{key}`"),
            "the key is set twice in one table",
            format!("keep one `{key}` line in this table (each [[target]] is a table of its own)"),
        );
    }
    BadInput::new(format!("{file} line {line}"), message, "check the file's TOML syntax at this line")
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    lines: LineIndex,
}

/// Where the file's lines start, so that naming a key's line is a binary
/// search: counting the line breaks before each key made reading a file of
/// hundreds of targets quadratic in its length.
struct LineIndex {
    breaks: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        LineIndex { breaks: text.match_indices('\n').map(|(at, _)| at).collect() }
    }

    /// The 1-based line of a byte offset, as [`line_of`] counts it.
    fn line_of(&self, offset: usize) -> usize {
        self.breaks.partition_point(|&at| at < offset) + 1
    }
}

impl Reader<'_> {
    fn wrong_table(&self, line: usize, name: &str) -> BadInput {
        BadInput::new(
            format!("{}: line {line}, key `{name}`", self.file),
            "not the table docsync.toml expects here",
            "write [defaults] once, and [[target]] (two brackets) for each target",
        )
    }

    /// One table's keys, each checked against its declaration.
    fn table(&self, table: &DeTable<'_>, problems: &mut Vec<BadInput>) -> FileTable {
        let mut read = FileTable::default();
        for (key, value) in table.iter() {
            let (key, line) = (key.get_ref().as_ref(), self.lines.line_of(key.span().start));
            // Only a refused key is named: hundreds of targets' keys are read.
            let source = || format!("{}: line {line}, key `{key}`", self.file);
            let text_of = |value: &DeValue<'_>| match value {
                DeValue::String(text) => Some(text.to_string()),
                _ => None,
            };
            match key {
                "name" | "kind" => match text_of(value.get_ref()) {
                    Some(text) if key == "name" => read.name = Some((text, line)),
                    Some(text) => read.kind = Some((text, line)),
                    None => problems.push(BadInput::new(
                        source(),
                        "not a string",
                        format!("write the value in quotes, like {key} = \"…\""),
                    )),
                },
                "gitbook_token" | "git_token" | "dot_webhook_secret" | "gitlab_token" => {
                    let key = declarations::ALL.iter().find(|s| s.name == key).map_or("", |s| s.name);
                    read.inline_secrets.push((key, line));
                }
                _ => match declarations::by_key(key) {
                    Some(setting) => match self.value(setting, value) {
                        Some(value) => {
                            read.values.insert(setting.name, FileValue { value, line });
                        }
                        None => problems.push(BadInput::new(
                            source(),
                            format!("not {}", type_name(setting.value)),
                            type_fix(key, setting.value),
                        )),
                    },
                    None => {
                        let known = declarations::ALL.iter().filter_map(|setting| setting.key).chain(["name", "kind"]);
                        let fix = match declarations::nearest(key, known) {
                            Some(near) => format!("did you mean `{near}`? (docs/settings.md lists the keys)"),
                            None => "keys are the settings' names in lower case without DOCSYNC_ (docs/settings.md lists them)".to_owned(),
                        };
                        problems.push(BadInput::new(source(), "not a docsync.toml key", fix));
                    }
                },
            }
        }
        read
    }

    /// The value as its declaration types it; `None` for another type.
    fn value(&self, setting: &Setting, value: &toml::Spanned<DeValue<'_>>) -> Option<RawValue> {
        match (setting.value, value.get_ref()) {
            (ValueType::List, DeValue::Array(items)) => items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(text) => Some(text.to_string()),
                    _ => None,
                })
                .collect::<Option<Vec<String>>>()
                .map(RawValue::List),
            (ValueType::Bool, DeValue::Boolean(value)) => Some(RawValue::Text(value.to_string())),
            // The number as written: its parser names its range.
            (ValueType::Number, DeValue::Integer(_)) => {
                self.text.get(value.span()).map(|written| RawValue::Text(written.trim().to_owned()))
            }
            (ValueType::Text | ValueType::Duration | ValueType::Url | ValueType::Secret, DeValue::String(text)) => {
                Some(RawValue::Text(text.to_string()))
            }
            _ => None,
        }
    }
}

fn type_name(value: ValueType) -> &'static str {
    match value {
        ValueType::List => "a list of strings",
        ValueType::Bool => "a boolean",
        ValueType::Number => "a whole number",
        ValueType::Text | ValueType::Duration | ValueType::Url | ValueType::Secret => "a string",
    }
}

fn type_fix(key: &str, value: ValueType) -> String {
    match value {
        ValueType::List => format!("write a list of strings, like {key} = [\"*.md\"]"),
        ValueType::Bool => format!("write {key} = true or {key} = false, without quotes"),
        ValueType::Number => format!("write a whole number without quotes, like {key} = 4"),
        ValueType::Duration => format!("write the duration in quotes, like {key} = \"90s\""),
        ValueType::Secret => format!("write the name of the variable that holds it, like {key} = \"MY_TOKEN\""),
        ValueType::Text | ValueType::Url => format!("write the value in quotes, like {key} = \"…\""),
    }
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A `[[target]]`'s name as messages write it: its name, or `#2`.
pub(super) fn target_label(index: usize, raw: &FileTable) -> String {
    match &raw.name {
        Some((name, _)) => name.clone(),
        None => format!("#{}", index + 1),
    }
}

/// A `[[target]]` whose keys pass the file's rules: its name, and its label
/// for messages (the file, the line and the name).
pub(super) fn checked_target(
    file_name: &str,
    index: usize,
    raw: &FileTable,
    problems: &mut Vec<BadInput>,
) -> Option<(String, String)> {
    let label = match &raw.name {
        Some((name, line)) => format!("{file_name}: line {line}, target \"{name}\""),
        None => format!("{file_name}: target #{}", index + 1),
    };
    let mut ok = true;
    for (name, value) in &raw.values {
        let Some(setting) = declarations::ALL.iter().find(|setting| setting.name == *name) else { continue };
        let key = setting.key.unwrap_or(setting.name);
        let line = value.line;
        let other_kind = match (setting.scope, raw.kind.as_ref().map(|(kind, _)| kind.as_str())) {
            (Scope::GitBook, Some("dot")) => Some(("GitBook", "gitbook", "dot")),
            (Scope::Dot, Some("gitbook")) => Some(("Dot", "dot", "gitbook")),
            _ => None,
        };
        if setting.scope == Scope::Run {
            problems.push(BadInput::new(
                format!("{file_name}: line {line}, key `{key}`"),
                "this setting is one for the whole run, not per target",
                format!("move `{key}` into [defaults]: one value serves every target"),
            ));
            ok = false;
        } else if let Some((takes, takes_kind, this_kind)) = other_kind {
            problems.push(BadInput::new(
                format!("{file_name}: line {line}, key `{key}`"),
                format!("only a {takes} target takes this key, and this target is kind = \"{this_kind}\""),
                format!("remove `{key}` from this target, or move it into a kind = \"{takes_kind}\" target"),
            ));
            ok = false;
        }
    }
    for (key, line) in &raw.inline_secrets {
        problems.push(inline_secret(file_name, key, *line));
        ok = false;
    }
    let name = match &raw.name {
        Some((name, _)) if valid_name(name) => name.clone(),
        Some((name, _)) => {
            problems.push(
                BadInput::new(
                    format!("{label}: key `name`"),
                    "not a valid target name",
                    "use letters, digits, '-', '_' and '.' only",
                )
                .with_value(name.clone()),
            );
            return None;
        }
        None => {
            problems.push(BadInput::new(
                format!("{label}: key `name`"),
                "every target needs a name",
                "add name = \"…\" to the target",
            ));
            return None;
        }
    };
    if !ok {
        return None;
    }
    Some((name, label))
}

fn inline_secret(file_name: &str, key: &str, line: usize) -> BadInput {
    BadInput::new(
        format!("{file_name}: line {line}, key `{key}`"),
        "a secret is written in the file",
        format!("remove it, put it in a masked CI/CD variable, and name that variable with `{key}_env = \"VARIABLE\"`"),
    )
}

/// The rules of the `[defaults]` table: no secret written inline, and no
/// key that only a `[[target]]` has.
pub(super) fn check_defaults_table(file_name: &str, defaults: &FileTable, problems: &mut Vec<BadInput>) {
    for (key, line) in &defaults.inline_secrets {
        problems.push(inline_secret(file_name, key, *line));
    }
    for (key, set) in [("name", &defaults.name), ("kind", &defaults.kind)] {
        if let Some((_, line)) = set {
            problems.push(BadInput::new(
                format!("{file_name}: line {line}, [defaults] key `{key}`"),
                "only a [[target]] has this key",
                format!("move `{key}` into a [[target]] table"),
            ));
        }
    }
}

/// In the CI/CD component's jobs, GitLab chose the job by its rules, which
/// read the inputs and the pipeline's variables but never this file: a
/// `branch` or `direction` here would have the job sync another branch, or
/// do another thing, than GitLab chose it for (and the branch's own pushes
/// would get no job at all).
pub(super) fn refuse_keys_rules_cannot_read(file_name: &str, config: &FileConfig, problems: &mut Vec<BadInput>) {
    for table in std::iter::once(&config.defaults).chain(&config.target) {
        for setting in [&declarations::BRANCH, &declarations::DIRECTION] {
            let Some(found) = table.get(setting) else { continue };
            let RawValue::Text(value) = &found.value else { continue };
            let key = setting.name;
            problems.push(
                BadInput::new(
                    format!("{file_name}: line {}, key `{key}`", found.line),
                    format!(
                        "the component's jobs are chosen by their rules, which cannot read {file_name}: the job would run for another {key} than this one"
                    ),
                    format!(
                        "remove `{key}` from {file_name} and give the component's {key} input instead (or set {} as a CI/CD variable): the jobs' rules follow those",
                        setting.variable
                    ),
                )
                .with_value(value.clone()),
            );
        }
    }
}

/// Where a `[defaults]` key's value came from.
pub(super) fn defaults_source(file_name: &str, setting: &Setting, found: &FileValue) -> Source {
    Source::FileDefaults {
        file: file_name.to_owned(),
        key: setting.key.unwrap_or(setting.name).to_owned(),
        line: found.line,
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::settings::file::{LineIndex, line_of};

    /// The index names the line the count of line breaks names, at a line
    /// break, just after one, at the end and past it.
    #[test]
    fn the_line_index_agrees_with_counting_line_breaks() {
        for text in ["", "a", "\n", "a\nb", "[defaults]\nx = 1\n\n[[target]]\nname = \"a\"\n", "\n\nz"] {
            let lines = LineIndex::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(lines.line_of(offset), line_of(text, offset), "{text:?} at {offset}");
            }
        }
    }

    use crate::settings::file::parse_file;
    use crate::settings::flags::GlobalFlags;
    use crate::settings::resolve::resolve;
    use crate::settings::test_inputs::{env, loaded};

    /// The component's jobs (`DOCSYNC_COMPONENT=true`) refuse the keys
    /// their rules cannot read, in `[defaults]` and in every `[[target]]`.
    #[test]
    fn branch_and_direction_are_refused_in_the_component_only() {
        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\nbranch = \"docs-live\"\ndirection = \"export\"\n",
        );
        assert!(resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).is_ok());
        let problems = resolve(&GlobalFlags::default(), &env(&[("DOCSYNC_COMPONENT", "true")]), Some(&file))
            .unwrap_err()
            .to_string();
        assert!(problems.contains("docsync.toml: line 5, key `branch` = \"docs-live\""), "{problems}");
        assert!(problems.contains("docsync.toml: line 6, key `direction` = \"export\""), "{problems}");
        assert!(problems.contains("give the component's branch input instead (or set DOCSYNC_BRANCH"), "{problems}");
    }

    #[test]
    fn inline_secret_unknown_key_and_duplicates_are_refused_with_line() {
        let error =
            parse_file(Path::new("docsync.toml"), "[[target]]\nname = \"a\"\nkind = \"gitbook\"\nspace = \"x\"\n")
                .unwrap_err();
        assert!(
            error.to_string().starts_with(
                "docsync.toml: line 4, key `space`: not a docsync.toml key\n  fix: did you mean `gitbook_space`?"
            ),
            "{error}"
        );

        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\ngitbook_token = \"gb_live_x\"\n\n[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(
            problems.contains("docsync.toml: line 5, key `gitbook_token`: a secret is written in the file"),
            "{problems}"
        );
        assert!(problems.contains("gitbook_token_env = \"VARIABLE\""), "{problems}");
        assert!(!problems.contains("gb_live_x"), "{problems}");

        let file = loaded(
            "[[target]]\nname = \"a\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\n\n[[target]]\nname = \"b\"\nkind = \"gitbook\"\ngitbook_space = \"s1\"\n",
        );
        let problems = resolve(&GlobalFlags::default(), &env(&[]), Some(&file)).unwrap_err().to_string();
        assert!(
            problems.contains(
                "docsync.toml: line 7, target \"b\", key `gitbook_space`: GitBook space s1 is also the space of docsync.toml: line 2, target \"a\""
            ),
            "{problems}"
        );
    }
}
