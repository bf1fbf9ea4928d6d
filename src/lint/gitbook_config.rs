//! `.gitbook.yaml` (one per space) and the monorepo site file
//! (`docs.yaml`, which GitBook's API calls `gitbook-docs.yaml`), applied as
//! GitBook applies them: every path relative to `root`, which is relative
//! to the project directory.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::snapshot::{self, Snapshot};
use super::yaml::{self, Spanned, YamlError};
use super::{Found, Rule, Severity};

pub(crate) const CONFIG_FILE: &str = ".gitbook.yaml";
pub(crate) const SITE_FILES: [&str; 2] = ["docs.yaml", "gitbook-docs.yaml"];
/// GitBook's limit of a site path's length.
const MAX_SITE_PATH: usize = 100;

/// A space's layout, every path repository-relative.
#[derive(Debug)]
pub(crate) struct SpaceConfig {
    pub config_path: String,
    pub root: String,
    pub readme: String,
    pub summary: String,
    /// The `redirects:` keys (old URL paths).
    pub redirects: Vec<Redirect>,
    /// Where the file's `redirects:` key is, when it has one.
    redirects_key: Option<RedirectsKey>,
}

/// The `redirects:` key of a `.gitbook.yaml`: its line, and how its entries
/// are indented (`None` when they are written inline, `{a: b}`).
#[derive(Debug)]
struct RedirectsKey {
    line: usize,
    indent: Option<String>,
}

impl SpaceConfig {
    /// The project directory the configuration file sits in.
    fn root_directory(&self) -> String {
        snapshot::parent(&self.config_path).to_owned()
    }

    /// How `other` lays the space out differently, in words.
    fn differences(&self, other: &SpaceConfig) -> Vec<String> {
        let mut differences = Vec::new();
        for (what, ours, theirs) in [
            ("root", &self.root, &other.root),
            ("readme", &self.readme, &other.readme),
            ("summary", &self.summary, &other.summary),
        ] {
            if ours != theirs {
                let name =
                    |path: &str| if path.is_empty() { "the repository root".to_owned() } else { path.to_owned() };
                differences.push(format!(
                    "{what} {}, not {}",
                    escape_invisible(&name(ours)),
                    escape_invisible(&name(theirs))
                ));
            }
        }
        if self.redirects != other.redirects {
            differences.push(format!("{} redirect(s), not {}", self.redirects.len(), other.redirects.len()));
        }
        differences
    }

    /// What to add to `.gitbook.yaml` for a redirect from `slug` to
    /// `target`: merged into the `redirects:` key the file has (a second
    /// one would make the YAML invalid), indented like its entries.
    pub(crate) fn redirect_fix(&self, slug: &str, target: &str) -> String {
        let entry = format!("{}: {}", yaml_scalar(slug), yaml_scalar(target));
        let path = &self.config_path;
        match &self.redirects_key {
            Some(RedirectsKey { line, indent: Some(indent) }) => {
                format!("add under `redirects:` in {path} (line {line}):\n{indent}{entry}")
            }
            Some(RedirectsKey { line, indent: None }) => {
                format!("add `{entry}` to the `redirects:` mapping of {path} (line {line})")
            }
            None => format!("add to {path}:\nredirects:\n  {entry}"),
        }
    }
}

/// A YAML scalar that reads back as `text`: plain when it can be, else
/// double-quoted.
pub(super) fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace())
        && !text.ends_with(|c: char| c == ':' || c.is_whitespace())
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.chars().any(char::is_control);
    if plain {
        return text.to_owned();
    }
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// How the entries below the `redirects:` key on `line` (1-based) are
/// indented: like the first of them; two spaces when there is none yet;
/// `None` when the value is written on the key's own line.
fn redirects_indent(text: &str, line: usize) -> Option<String> {
    let mut lines = text.lines().skip(line.saturating_sub(1));
    let key_line = lines.next()?;
    let after = key_line.split_once(':').map_or("", |(_, rest)| rest).trim();
    if !after.is_empty() && !after.starts_with('#') {
        return None;
    }
    let next = lines.find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let indent = next.map(|l| &l[..l.len() - l.trim_start().len()]).unwrap_or("");
    Some(if indent.is_empty() { "  ".to_owned() } else { indent.to_owned() })
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Redirect {
    key: String,
}

impl Redirect {
    /// The URL path as written, without a leading `/` or `./` or a
    /// trailing `/`.
    fn path(&self) -> &str {
        self.key.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/')
    }

    /// Whether this redirect covers a page's old URL path (written with or
    /// without `.md`, a leading `/` or `./`).
    pub(crate) fn matches(&self, slug: &str) -> bool {
        let key = self.path();
        key == slug || key.strip_suffix(".md") == Some(slug)
    }

    /// The page that still answers at the redirect's path (`old.md`,
    /// `old/README.md`), when there is one: GitBook then never redirects.
    fn page_at(&self, root: &str, snapshot: &Snapshot) -> Option<String> {
        let key = self.path();
        if key.is_empty() {
            return None;
        }
        let stem = key.strip_suffix(".md").unwrap_or(key);
        [format!("{stem}.md"), format!("{stem}/README.md")]
            .into_iter()
            .filter_map(|relative| snapshot::resolve(root, &relative))
            .find(|path| snapshot::is_inside(path, root) && snapshot.exists(path))
    }
}

/// Reads the space's `.gitbook.yaml` (defaults when absent); every problem
/// becomes a `gitbook-config` finding and the default is used instead.
pub(crate) fn read(directory: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> SpaceConfig {
    let config_path = snapshot::join(directory, CONFIG_FILE);
    match snapshot.text(&config_path) {
        Some(text) => read_text(directory, config_path, &text, snapshot, found),
        None => defaults(directory, config_path),
    }
}

fn defaults(directory: &str, config_path: String) -> SpaceConfig {
    SpaceConfig {
        root: directory.to_owned(),
        readme: snapshot::join(directory, "README.md"),
        summary: snapshot::join(directory, "SUMMARY.md"),
        redirects: Vec::new(),
        redirects_key: None,
        config_path,
    }
}

/// `read` of the file's text.
fn read_text(
    directory: &str,
    config_path: String,
    text: &str,
    snapshot: &Snapshot,
    found: &mut Vec<Found>,
) -> SpaceConfig {
    let mut config = defaults(directory, config_path.clone());
    let map = match yaml::mapping(text) {
        Ok(map) => map,
        Err(YamlError { line, problem: message }) => {
            found.push(config_problem(
                &config_path,
                line,
                "syntax",
                format!("not valid YAML: {message}"),
                "fix the YAML syntax (indent with spaces)",
            ));
            return config;
        }
    };
    // Keys GitBook does not know, checked once the space's layout is known.
    let unknown: Vec<(&String, usize)> = map
        .iter()
        .filter(|(key, _)| !KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key, yaml::key_line(text, key, value)))
        .collect();
    if let Some(root) = map.get("root") {
        read_root(yaml::key_line(text, "root", root), &root.value, directory, snapshot, &mut config, found);
    }
    if let Some(structure) = map.get("structure") {
        let line = yaml::key_line(text, "structure", structure);
        let explicit_summary = read_structure(text, line, &structure.value, directory, &mut config, found);
        if explicit_summary && !snapshot.exists(&config.summary) {
            found.push(config_problem(
                &config_path,
                1,
                "structure.summary",
                format!("structure.summary names {}, which does not exist", config.summary),
                "add the file or fix the path (relative to root)",
            ));
        }
    }
    if let Some(redirects) = map.get("redirects") {
        let line = yaml::key_line(text, "redirects", redirects);
        config.redirects_key = Some(RedirectsKey { line, indent: redirects_indent(text, line) });
        read_redirects(text, redirects, &config_path, directory, &mut config, snapshot, found);
    }
    for (key, line) in unknown {
        found.push(unknown_key(key, line, text, &map, &config, snapshot));
    }
    config
}

/// The keys GitBook reads.
const KEYS: [&str; 3] = ["root", "structure", "redirects"];

/// A key GitBook does not know, which it ignores. One that is a known key
/// but for invisible characters (a zero-width space copied from GitBook's
/// own sample) is an error only when ignoring it changes the space: when
/// its value is what GitBook does anyway, a warning.
fn unknown_key(
    key: &str,
    line: usize,
    text: &str,
    map: &yaml::Mapping,
    config: &SpaceConfig,
    snapshot: &Snapshot,
) -> Found {
    let shown = escape_invisible(key);
    let visible: String = key.chars().filter(|c| !is_invisible(*c)).collect();
    let problem = |message: String, fix: String| {
        Found::new(Rule::GitBookConfig, &config.config_path, line, message).fix(fix).key(format!("key:{shown}"))
    };
    if visible == key || !KEYS.contains(&visible.as_str()) {
        return problem(
            format!("unknown key `{shown}`: GitBook ignores it"),
            "GitBook reads only root, structure and redirects".to_owned(),
        );
    }
    let fix = format!(
        "delete the invisible character{}: write `{visible}:`",
        if key.chars().filter(|c| is_invisible(*c)).count() > 1 { "s" } else { "" }
    );
    let ignored = format!(
        "key `{shown}` is not `{visible}`: it holds an invisible character, and GitBook ignores keys it does not know"
    );
    if map.contains_key(&visible) {
        return problem(format!("{ignored} (the file's `{visible}` applies)"), fix).severity(Severity::Warning);
    }
    // The space as it would be if GitBook read the key, and the invisible
    // characters that came along with it in its value (GitBook's sample
    // carries one after `SUMMARY.md` too).
    let meant = read_text(
        &config.root_directory(),
        config.config_path.clone(),
        &cleaned(text, line),
        snapshot,
        &mut Vec::new(),
    );
    let differences = config.differences(&meant);
    if differences.is_empty() {
        return problem(format!("{ignored}; its value is GitBook's default, so nothing changes"), fix)
            .severity(Severity::Warning);
    }
    problem(format!("{ignored}, so the space has {}", differences.join(", ")), fix)
}

/// `text` without invisible characters in the key on `line` (1-based) and
/// the indented lines below it: the key as its author meant it.
fn cleaned(text: &str, line: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_key = false;
    for (index, text_line) in text.split_inclusive('\n').enumerate() {
        let indented = text_line.starts_with([' ', '\t']) || text_line.trim().is_empty();
        in_key = index + 1 == line || (in_key && indented);
        if in_key {
            out.extend(text_line.chars().filter(|c| *c == '\n' || !is_invisible(*c)));
        } else {
            out.push_str(text_line);
        }
    }
    out
}

/// Whether a character shows nothing: controls, format characters
/// (zero-width spaces and joiners, direction marks, the byte order mark),
/// and spaces other than the ASCII one.
fn is_invisible(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || c.is_control()
        || matches!(
            c,
            '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fff8}' | '\u{e0000}'..='\u{e0fff}'
        )
}

/// `text` with each invisible character written as `\u{200b}`.
pub(crate) fn escape_invisible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A `gitbook-config` finding in the space's `.gitbook.yaml`, keyed by what
/// it is about (`root`, `structure.summary`): never by its line, which
/// shifts when a line is added above it and would make an old finding new.
fn config_problem(config_path: &str, line: usize, key: impl Into<String>, message: String, fix: &str) -> Found {
    Found::new(Rule::GitBookConfig, config_path, line, message).fix(fix).key(key)
}

/// `root:`, relative to the project directory; the readme and summary
/// follow it.
fn read_root(
    line: usize,
    root: &Value,
    directory: &str,
    snapshot: &Snapshot,
    config: &mut SpaceConfig,
    found: &mut Vec<Found>,
) {
    let problem = |message: String, fix: &str| config_problem(&config.config_path, line, "root", message, fix);
    match root {
        Value::String(value) => match snapshot::resolve(directory, value) {
            Some(resolved) if snapshot::is_inside(&resolved, directory) => {
                if !snapshot.is_dir(&resolved) {
                    found.push(problem(
                        format!("root `{value}` does not exist"),
                        "point root at the folder that holds the docs, relative to the project directory",
                    ));
                } else {
                    config.readme = snapshot::join(&resolved, "README.md");
                    config.summary = snapshot::join(&resolved, "SUMMARY.md");
                    config.root = resolved;
                }
            }
            _ => found.push(problem(
                format!("root `{value}` lies outside the project directory"),
                "give a folder inside the project directory (like ./docs/)",
            )),
        },
        Value::Null => {}
        other => {
            found.push(problem(format!("root must be a path, not {}", yaml::type_name(other)), "write root: ./docs/"))
        }
    }
}

/// `structure:` (`readme`, `summary`), relative to root; whether it names
/// the summary. A sub-key that is `readme` or `summary` but for invisible
/// characters is ignored by GitBook as a top-level one is, and reported
/// the same way ([`unknown_key`]).
fn read_structure(
    text: &str,
    line: usize,
    structure: &Value,
    directory: &str,
    config: &mut SpaceConfig,
    found: &mut Vec<Found>,
) -> bool {
    let config_path = config.config_path.clone();
    let problem =
        |line: usize, message: String, fix: &str, key: String| config_problem(&config_path, line, key, message, fix);
    let entries = match structure {
        Value::Object(entries) => entries,
        Value::Null => return false,
        other => {
            found.push(problem(
                line,
                format!("structure must be a mapping, not {}", yaml::type_name(other)),
                "write structure:\n  readme: README.md\n  summary: SUMMARY.md",
                "structure".to_owned(),
            ));
            return false;
        }
    };
    let mut explicit_summary = false;
    let mut paths = Vec::new();
    // Known sub-keys but for invisible characters: (key, visible key, value, line).
    let mut invisible = Vec::new();
    for (key, value) in entries {
        if !matches!(key.as_str(), "readme" | "summary") {
            let shown = escape_invisible(key);
            let visible: String = key.chars().filter(|c| !is_invisible(*c)).collect();
            let key_line = sub_key_line(text, line, key);
            if visible != *key && matches!(visible.as_str(), "readme" | "summary") {
                invisible.push((shown, visible, value, key_line));
            } else {
                found.push(problem(
                    key_line,
                    format!("unknown key `structure.{shown}`"),
                    "structure holds only readme and summary",
                    format!("key:structure.{shown}"),
                ));
            }
            continue;
        }
        explicit_summary |= key == "summary";
        match value {
            Value::String(path) => match snapshot::resolve(&config.root, path) {
                Some(resolved) if snapshot::is_inside(&resolved, directory) => paths.push((key, resolved)),
                _ => found.push(problem(
                    line,
                    format!("structure.{key} `{path}` lies outside the project directory"),
                    "give a path relative to root",
                    format!("structure.{key}"),
                )),
            },
            other => found.push(problem(
                line,
                format!("structure.{key} must be a path, not {}", yaml::type_name(other)),
                "write a file name such as README.md",
                format!("structure.{key}"),
            )),
        }
    }
    for (key, resolved) in paths {
        if key == "summary" { config.summary = resolved } else { config.readme = resolved }
    }
    for (shown, visible, value, key_line) in invisible {
        let ignored = format!(
            "key `structure.{shown}` is not `structure.{visible}`: it holds an invisible character, and GitBook ignores keys it does not know"
        );
        let plural = if shown.matches("\\u{").count() > 1 { "s" } else { "" };
        let fix = format!("delete the invisible character{plural}: write `{visible}:`");
        let finding = |message: String| problem(key_line, message, &fix, format!("key:structure.{shown}"));
        let used = if visible == "summary" { &config.summary } else { &config.readme };
        // What GitBook would read had the key no invisible character (nor
        // its value: GitBook's sample carries one after `SUMMARY.md`).
        let meant = match value {
            Value::String(path) => {
                let path: String = path.chars().filter(|c| !is_invisible(*c)).collect();
                snapshot::resolve(&config.root, &path).filter(|resolved| snapshot::is_inside(resolved, directory))
            }
            _ => None,
        };
        found.push(if entries.contains_key(&visible) {
            finding(format!("{ignored} (the file's `structure.{visible}` applies)")).severity(Severity::Warning)
        } else if meant.as_ref() == Some(used) {
            finding(format!("{ignored}; its value is GitBook's default, so nothing changes"))
                .severity(Severity::Warning)
        } else {
            let meant = meant.map_or_else(|| "what the key names".to_owned(), |meant| escape_invisible(&meant));
            finding(format!("{ignored}, so the space has {visible} {used}, not {meant}"))
        });
    }
    explicit_summary
}

/// The line of `key:` inside the mapping that starts on `line` (1-based):
/// the first indented line after it that names the key; `line` when none
/// does.
fn sub_key_line(text: &str, line: usize, key: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(line)
        .take_while(|(_, l)| l.starts_with([' ', '\t']) || l.trim().is_empty())
        .find(|(_, l)| {
            let l = l.trim_start();
            [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
                .iter()
                .any(|k| l.strip_prefix(k.as_str()).is_some_and(|rest| rest.trim_start().starts_with(':')))
        })
        .map_or(line, |(index, _)| index + 1)
}

/// The `redirects:` entries, each with its own line.
fn read_redirects(
    text: &str,
    redirects: &Spanned<Value>,
    config_path: &str,
    directory: &str,
    config: &mut SpaceConfig,
    snapshot: &Snapshot,
    found: &mut Vec<Found>,
) {
    let problem = |line: usize, message: String, fix: &str, key: &str| {
        Found::new(Rule::GitBookConfig, config_path, line, message).fix(fix).key(format!("redirect:{key}"))
    };
    let document = yaml::document(text).ok().flatten();
    let entries = match (&redirects.value, document.as_ref().and_then(|d| d.get("redirects")?.entries())) {
        (Value::Null, _) => return,
        (_, Some(entries)) => {
            entries.iter().map(|(key, node)| (key.clone(), node.spanned())).collect::<BTreeMap<_, _>>()
        }
        (other, None) => {
            found.push(problem(
                yaml::line(redirects),
                format!("redirects must map old paths to files, not {}", yaml::type_name(other)),
                "write redirects:\n  old/path: new/file.md",
                "",
            ));
            return;
        }
    };
    for (key, target) in entries {
        let line = yaml::line(&target);
        let Value::String(path) = &target.value else {
            found.push(problem(
                line,
                format!("redirect `{key}` must name a file, not {}", yaml::type_name(&target.value)),
                "write old/path: new/file.md",
                &key,
            ));
            continue;
        };
        match snapshot::resolve(&config.root, path) {
            Some(resolved) if snapshot::is_inside(&resolved, directory) => {
                // GitBook imports a redirect to nowhere (it just does not
                // work): real repositories carry dozens, so a warning.
                if !snapshot.exists(&resolved) && !snapshot.is_dir(&resolved) {
                    found.push(
                        problem(
                            line,
                            format!("redirect `{key}` points at {resolved}, which does not exist"),
                            "point it at an existing page, relative to root",
                            &key,
                        )
                        .severity(Severity::Warning),
                    );
                }
            }
            _ => found.push(problem(
                line,
                format!("redirect `{key}` points outside the project directory: {path}"),
                "redirects work within the space: give a page relative to root",
                &key,
            )),
        }
        let redirect = Redirect { key };
        // "As long as a page exists for a path, GitBook won't be looking for
        // a possible redirect" (Git Sync troubleshooting).
        if let Some(page) = redirect.page_at(&config.root, snapshot) {
            found.push(
                Found::new(
                    Rule::GitBookConfig,
                    config_path,
                    line,
                    format!(
                        "redirect `{}` never applies: {page} still exists, and GitBook redirects only from a path without a page",
                        redirect.key
                    ),
                )
                .fix(format!("delete or move {page} (the redirect then takes its URL), or remove the redirect"))
                .key(format!("redirect-shadowed:{}", redirect.key))
                .severity(Severity::Warning),
            );
        }
        config.redirects.push(redirect);
    }
}

/// The site file of a project directory, when it has one.
pub(crate) fn site_file(directory: &str, snapshot: &Snapshot) -> Option<String> {
    SITE_FILES.iter().map(|name| snapshot::join(directory, name)).find(|path| snapshot.exists(path))
}

/// What the site file says: the directories of its Git-synced spaces.
pub(crate) struct Site {
    pub directories: Vec<String>,
}

/// One entry of the site file's `structure` (or of its `children`).
#[derive(Debug)]
struct Node {
    line: usize,
    kind: Option<String>,
    key: Option<String>,
    default: Option<bool>,
    path: Option<String>,
    directory: Option<String>,
    language: Option<String>,
    children: Option<Vec<Node>>,
}

/// The nodes of `site.structure`, or why the file does not have the
/// schema's shape.
fn site_structure(text: &str) -> Result<Vec<Node>, YamlError> {
    let Some(document) = yaml::document(text)? else { return Ok(Vec::new()) };
    let site = match document.get("site") {
        Some(site) if !site.value().is_null() => site,
        _ if document.entries().is_some() || document.value().is_null() => return Ok(Vec::new()),
        _ => return Err(YamlError::at(document.line, "the site file is not a mapping")),
    };
    if site.entries().is_none() {
        return Err(YamlError::at(site.line, "`site` must be a mapping"));
    }
    match site.get("structure") {
        Some(structure) if !structure.value().is_null() => site_nodes(structure, "site.structure"),
        _ => Ok(Vec::new()),
    }
}

fn site_nodes(list: &yaml::Node, name: &str) -> Result<Vec<Node>, YamlError> {
    let items = list.items().ok_or_else(|| YamlError::at(list.line, format!("`{name}` must be a list")))?;
    items.iter().map(site_node).collect()
}

fn site_node(node: &yaml::Node) -> Result<Node, YamlError> {
    if node.entries().is_none() {
        return Err(YamlError::at(node.line, "an entry of the structure must be a mapping"));
    }
    let text = |parent: &yaml::Node, key: &str| -> Result<Option<String>, YamlError> {
        let Some(value) = parent.get(key) else { return Ok(None) };
        match (&value.content, value.value()) {
            (_, Value::Null) => Ok(None),
            (yaml::Content::Scalar { text, .. }, _) => Ok(Some(text.clone())),
            (_, other) => {
                Err(YamlError::at(value.line, format!("`{key}` must be a string, not {}", yaml::type_name(&other))))
            }
        }
    };
    let default = match node.get("default").map(|d| (d.line, d.value())) {
        None | Some((_, Value::Null)) => None,
        Some((_, Value::Bool(default))) => Some(default),
        Some((line, other)) => {
            return Err(YamlError::at(line, format!("`default` must be a boolean, not {}", yaml::type_name(&other))));
        }
    };
    let content = node.get("content").filter(|c| !c.value().is_null());
    if let Some(content) = content.filter(|c| c.entries().is_none()) {
        return Err(YamlError::at(content.line, "`content` must be a mapping"));
    }
    let children = match node.get("children").filter(|c| !c.value().is_null()) {
        Some(children) => Some(site_nodes(children, "children")?),
        None => None,
    };
    Ok(Node {
        line: node.line.max(1),
        kind: text(node, "type")?,
        key: text(node, "key")?,
        default,
        path: text(node, "path")?,
        directory: content.map(|c| text(c, "directory")).transpose()?.flatten(),
        language: content.map(|c| text(c, "language")).transpose()?.flatten(),
        children,
    })
}

/// The spaces a site file (its text, in the project `directory`) syncs
/// from the repository: each space's key and its directory, resolved as
/// GitBook resolves it. Empty when the file does not parse: the docs
/// pre-flight says why.
pub(crate) fn site_spaces(text: &str, directory: &str) -> Vec<(String, String)> {
    fn walk(nodes: &[Node], directory: &str, spaces: &mut Vec<(String, String)>) {
        for node in nodes {
            if node.kind.as_deref() == Some("space") {
                let resolved = node.directory.as_deref().and_then(|dir| snapshot::resolve(directory, dir));
                if let (Some(key), Some(resolved)) = (&node.key, resolved) {
                    spaces.push((key.clone(), resolved));
                }
            }
            if let Some(children) = &node.children {
                walk(children, directory, spaces);
            }
        }
    }
    let mut spaces = Vec::new();
    if let Ok(nodes) = site_structure(text) {
        walk(&nodes, directory, &mut spaces);
    }
    spaces
}

/// Checks the site file against the rules GitBook applies on import ("a
/// violation fails the sync").
pub(crate) fn check_site(path: &str, directory: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> Site {
    let mut site = Site { directories: Vec::new() };
    let Some(text) = snapshot.text(path) else { return site };
    let nodes = match site_structure(&text) {
        Ok(nodes) => nodes,
        Err(YamlError { line, problem: message }) => {
            found.push(
                Found::new(Rule::GitBookConfig, path, line, format!("site file does not parse: {message}"))
                    .fix("fix it against GitBook's GitSyncSiteConfig schema")
                    .key("syntax"),
            );
            return site;
        }
    };
    let mut walk = SiteWalk { path, directory, snapshot, found, keys: HashMap::new(), languages: HashMap::new() };
    walk.siblings(&nodes, None, 0);
    let mut directories: Vec<String> = walk.languages.into_keys().collect();
    directories.sort();
    site.directories = directories;
    site
}

struct SiteWalk<'a> {
    path: &'a str,
    directory: &'a str,
    snapshot: &'a Snapshot,
    found: &'a mut Vec<Found>,
    keys: HashMap<String, usize>,
    /// Each synced directory and the language of its first space.
    languages: HashMap<String, Option<String>>,
}

impl SiteWalk<'_> {
    fn problem(&mut self, line: usize, message: String, fix: &str, key: String) {
        self.found.push(Found::new(Rule::GitBookConfig, self.path, line, message).fix(fix).key(key));
    }

    /// One list of sibling nodes; `parent` is the enclosing node's type,
    /// `groups` how many section groups enclose it.
    fn siblings(&mut self, nodes: &[Node], parent: Option<&str>, groups: usize) {
        let line_of = |node: &Node| node.line;
        // GitBook's own site file leaves the sections of a section group
        // without a default, and imports: only the top level needs one.
        let defaults = nodes.iter().filter(|n| n.default == Some(true)).count();
        if defaults > 1 || (parent.is_none() && nodes.len() > 1 && defaults == 0) {
            let line = nodes.first().map_or(1, line_of);
            self.problem(
                line,
                format!("{defaults} of {} sibling entries are marked default: exactly one must be", nodes.len()),
                "set default: true on exactly one entry of each list",
                format!("default:{}", nodes.first().and_then(|n| n.key.clone()).unwrap_or_default()),
            );
        }
        let has_sections = nodes.iter().any(|n| matches!(n.kind.as_deref(), Some("section" | "section-group")));
        for node in nodes {
            let line = line_of(node);
            let kind = node.kind.as_deref().unwrap_or("");
            let label = node.key.clone().unwrap_or_default();
            if let Some(key) = &node.key {
                if let Some(first) = self.keys.insert(key.clone(), line) {
                    self.problem(
                        line,
                        format!("key `{key}` is used twice (first on line {first})"),
                        "give every entry its own key",
                        format!("key:{key}"),
                    );
                }
            }
            if let Some(path) = &node.path {
                if path.chars().count() > MAX_SITE_PATH {
                    self.problem(
                        line,
                        format!("path of `{label}` is longer than {MAX_SITE_PATH} characters"),
                        "shorten the path",
                        format!("path:{label}"),
                    );
                }
            }
            match (parent, kind) {
                (None, "space") if has_sections => self.problem(
                    line,
                    format!("space `{label}` sits at the top level beside sections"),
                    "move the space into a section",
                    format!("top:{label}"),
                ),
                (Some("section"), k) if k != "space" => self.problem(
                    line,
                    format!("section holds a {k} `{label}`: sections hold spaces only"),
                    "move it out of the section",
                    format!("in-section:{label}"),
                ),
                (Some("section-group"), "section-group") if groups >= 2 => self.problem(
                    line,
                    format!("section group `{label}` nests more than one level"),
                    "section groups nest one level at most",
                    format!("nesting:{label}"),
                ),
                _ => {}
            }
            if kind == "space" {
                self.space(node, line, &label);
            }
            if let Some(children) = &node.children {
                let groups = if kind == "section-group" { groups + 1 } else { groups };
                self.siblings(children, Some(kind), groups);
            }
        }
    }

    fn space(&mut self, node: &Node, line: usize, label: &str) {
        let Some(dir) = &node.directory else { return };
        if dir.split('/').any(|part| part == "..") {
            self.problem(
                line,
                format!("space `{label}`: content.directory `{dir}` holds `..`"),
                "give a folder inside the repository, without ..",
                format!("dir:{label}"),
            );
            return;
        }
        let Some(resolved) = snapshot::resolve(self.directory, dir) else { return };
        if !self.snapshot.is_dir(&resolved) {
            self.problem(
                line,
                format!("space `{label}`: content.directory `{dir}` does not exist"),
                "create the folder or fix the path",
                format!("dir:{label}"),
            );
            return;
        }
        match self.languages.get(&resolved) {
            Some(first) if *first != node.language => self.problem(
                line,
                format!("space `{label}` shares {resolved} with another space of another language"),
                "spaces that share a directory must share a language",
                format!("language:{label}"),
            ),
            Some(_) => {}
            None => {
                self.languages.insert(resolved, node.language.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_spaces_are_keyed_and_resolved_from_the_project_directory() {
        let text = "site:\n  title: S\n  structure:\n    - type: section\n      key: sec\n      children:\n        - type: space\n          key: space-en\n          content:\n            directory: ./en\n        - type: space\n          key: space-api\n          content:\n            directory: /api\n        - type: space\n          key: space-outside\n          content:\n            directory: null\n";
        assert_eq!(
            site_spaces(text, "docs"),
            [("space-en".to_owned(), "docs/en".to_owned()), ("space-api".to_owned(), "api".to_owned())]
        );
        assert!(site_spaces("site: [", "").is_empty());
    }

    #[test]
    fn redirect_keys_match_with_or_without_md() {
        let r = Redirect { key: "/guides/old.md".into() };
        assert!(r.matches("guides/old"));
        assert!(!r.matches("guides/older"));
    }
}
