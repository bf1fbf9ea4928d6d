//! `.gitbook.yaml` (one per space) and the monorepo site file
//! (`docs.yaml`, which GitBook's API calls `gitbook-docs.yaml`), applied as
//! GitBook applies them: every path relative to `root`, which is relative
//! to the project directory.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::snapshot::{self, Snapshot};
use super::yaml::{self, Spanned};
use super::{Found, Rule, Severity};

pub const CONFIG_FILE: &str = ".gitbook.yaml";
const SITE_FILES: [&str; 2] = ["docs.yaml", "gitbook-docs.yaml"];
/// GitBook's limit of a site path's length.
const MAX_SITE_PATH: usize = 100;

/// A space's layout, every path repository-relative.
#[derive(Debug)]
pub struct SpaceConfig {
    pub config_path: String,
    pub root: String,
    pub readme: String,
    pub summary: String,
    /// The `redirects:` keys (old URL paths).
    pub redirects: Vec<Redirect>,
}

#[derive(Debug)]
pub struct Redirect {
    key: String,
}

impl Redirect {
    /// Whether this redirect covers a page's old URL path (written with or
    /// without `.md`, a leading `/` or `./`).
    pub fn matches(&self, slug: &str) -> bool {
        let key = self.key.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
        key == slug || key.strip_suffix(".md") == Some(slug)
    }
}

/// Reads the space's `.gitbook.yaml` (defaults when absent); every problem
/// becomes a `gitbook-config` finding and the default is used instead.
pub fn read(directory: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> SpaceConfig {
    let config_path = snapshot::join(directory, CONFIG_FILE);
    let mut config = SpaceConfig {
        root: directory.to_owned(),
        readme: snapshot::join(directory, "README.md"),
        summary: snapshot::join(directory, "SUMMARY.md"),
        redirects: Vec::new(),
        config_path: config_path.clone(),
    };
    let Some(text) = snapshot.text(&config_path) else { return config };
    let map = match yaml::mapping(text) {
        Ok(map) => map,
        Err((line, message)) => {
            found.push(
                config_problem(
                    &config_path,
                    line,
                    format!("not valid YAML: {message}"),
                    "fix the YAML syntax (indent with spaces)",
                )
                .key("syntax"),
            );
            return config;
        }
    };
    for (key, value) in &map {
        if !matches!(key.as_str(), "root" | "structure" | "redirects") {
            found.push(
                config_problem(
                    &config_path,
                    yaml::key_line(text, key, value),
                    format!("unknown key `{key}`"),
                    "GitBook reads only root, structure and redirects",
                )
                .key(format!("key:{key}")),
            );
        }
    }
    if let Some(root) = map.get("root") {
        read_root(yaml::key_line(text, "root", root), &root.value, directory, snapshot, &mut config, found);
    }
    if let Some(structure) = map.get("structure") {
        let line = yaml::key_line(text, "structure", structure);
        let explicit_summary = read_structure(line, &structure.value, directory, &mut config, found);
        if explicit_summary && !snapshot.exists(&config.summary) {
            found.push(
                config_problem(
                    &config_path,
                    1,
                    format!("structure.summary names {}, which does not exist", config.summary),
                    "add the file or fix the path (relative to root)",
                )
                .key("structure.summary"),
            );
        }
    }
    if let Some(redirects) = map.get("redirects") {
        read_redirects(text, redirects, &config_path, directory, &mut config, snapshot, found);
    }
    config
}

/// A `gitbook-config` finding in the space's `.gitbook.yaml`, keyed by line
/// unless the caller keys it better.
fn config_problem(config_path: &str, line: usize, message: String, fix: &str) -> Found {
    Found::new(Rule::GitBookConfig, config_path, line, message).fix(fix).key(format!("{line}"))
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
    let problem = |message: String, fix: &str| config_problem(&config.config_path, line, message, fix).key("root");
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
/// the summary.
fn read_structure(
    line: usize,
    structure: &Value,
    directory: &str,
    config: &mut SpaceConfig,
    found: &mut Vec<Found>,
) -> bool {
    let problem =
        |message: String, fix: &str, key: String| config_problem(&config.config_path, line, message, fix).key(key);
    let entries = match structure {
        Value::Object(entries) => entries,
        Value::Null => return false,
        other => {
            found.push(problem(
                format!("structure must be a mapping, not {}", yaml::type_name(other)),
                "write structure:\n  readme: README.md\n  summary: SUMMARY.md",
                "structure".to_owned(),
            ));
            return false;
        }
    };
    let mut explicit_summary = false;
    let mut paths = Vec::new();
    for (key, value) in entries {
        if !matches!(key.as_str(), "readme" | "summary") {
            found.push(problem(
                format!("unknown key `structure.{key}`"),
                "structure holds only readme and summary",
                format!("key:structure.{key}"),
            ));
            continue;
        }
        explicit_summary |= key == "summary";
        match value {
            Value::String(path) => match snapshot::resolve(&config.root, path) {
                Some(resolved) if snapshot::is_inside(&resolved, directory) => paths.push((key, resolved)),
                _ => found.push(problem(
                    format!("structure.{key} `{path}` lies outside the project directory"),
                    "give a path relative to root",
                    format!("structure.{key}"),
                )),
            },
            other => found.push(problem(
                format!("structure.{key} must be a path, not {}", yaml::type_name(other)),
                "write a file name such as README.md",
                format!("structure.{key}"),
            )),
        }
    }
    for (key, resolved) in paths {
        if key == "summary" { config.summary = resolved } else { config.readme = resolved }
    }
    explicit_summary
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
        config.redirects.push(Redirect { key });
    }
}

/// The site file of a project directory, when it has one.
pub fn site_file(directory: &str, snapshot: &Snapshot) -> Option<String> {
    SITE_FILES.iter().map(|name| snapshot::join(directory, name)).find(|path| snapshot.exists(path))
}

/// What the site file says: the directories of its Git-synced spaces.
pub struct Site {
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
fn site_structure(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let Some(document) = yaml::document(text)? else { return Ok(Vec::new()) };
    let site = match document.get("site") {
        Some(site) if !site.value().is_null() => site,
        _ if document.entries().is_some() || document.value().is_null() => return Ok(Vec::new()),
        _ => return Err((document.line, "the site file is not a mapping".to_owned())),
    };
    if site.entries().is_none() {
        return Err((site.line, "`site` must be a mapping".to_owned()));
    }
    match site.get("structure") {
        Some(structure) if !structure.value().is_null() => site_nodes(structure, "site.structure"),
        _ => Ok(Vec::new()),
    }
}

fn site_nodes(list: &yaml::Node, name: &str) -> Result<Vec<Node>, (usize, String)> {
    let items = list.items().ok_or_else(|| (list.line, format!("`{name}` must be a list")))?;
    items.iter().map(site_node).collect()
}

fn site_node(node: &yaml::Node) -> Result<Node, (usize, String)> {
    if node.entries().is_none() {
        return Err((node.line, "an entry of the structure must be a mapping".to_owned()));
    }
    let text = |parent: &yaml::Node, key: &str| -> Result<Option<String>, (usize, String)> {
        let Some(value) = parent.get(key) else { return Ok(None) };
        match (&value.content, value.value()) {
            (_, Value::Null) => Ok(None),
            (yaml::Content::Scalar { text, .. }, _) => Ok(Some(text.clone())),
            (_, other) => Err((value.line, format!("`{key}` must be a string, not {}", yaml::type_name(&other)))),
        }
    };
    let default = match node.get("default").map(|d| (d.line, d.value())) {
        None | Some((_, Value::Null)) => None,
        Some((_, Value::Bool(default))) => Some(default),
        Some((line, other)) => {
            return Err((line, format!("`default` must be a boolean, not {}", yaml::type_name(&other))));
        }
    };
    let content = node.get("content").filter(|c| !c.value().is_null());
    if let Some(content) = content.filter(|c| c.entries().is_none()) {
        return Err((content.line, "`content` must be a mapping".to_owned()));
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

/// Checks the site file against the rules GitBook applies on import ("a
/// violation fails the sync").
pub fn check_site(path: &str, directory: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> Site {
    let mut site = Site { directories: Vec::new() };
    let Some(text) = snapshot.text(path) else { return site };
    let nodes = match site_structure(text) {
        Ok(nodes) => nodes,
        Err((line, message)) => {
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
    fn redirect_keys_match_with_or_without_md() {
        let r = Redirect { key: "/guides/old.md".into() };
        assert!(r.matches("guides/old"));
        assert!(!r.matches("guides/older"));
    }
}
