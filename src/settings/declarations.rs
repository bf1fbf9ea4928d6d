//! Every setting, declared once: its name, flag, `DOCSYNC_` variable,
//! `docsync.toml` key, scope, value type, default and help. The flags
//! (`flags.rs`), the variables read (`environment.rs`), the keys the file
//! accepts and where (`file.rs`) and the table of `docs/settings.md` are
//! checked against or derived from this table (the tests below), so that
//! adding a setting is one declaration here plus its use.

/// Where a setting applies, which decides where the file may set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One value for the whole run: `[defaults]` only, never a `[[target]]`.
    Run,
    /// Every target: `[defaults]` and any `[[target]]`.
    Target,
    /// GitBook targets only: a `kind = "dot"` target that sets it is refused.
    GitBook,
    /// Dot targets only: a `kind = "gitbook"` target that sets it is refused.
    Dot,
    /// The command line and the environment only: no file key.
    Invocation,
}

/// What the value is, which decides how the file writes it (flags and
/// variables are always text; a list is comma-separated there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    Text,
    /// A list of strings in the file, comma-separated in a flag or variable.
    List,
    Bool,
    Number,
    Duration,
    Url,
    /// Never a flag, never written in the file: the file's `<name>_env`
    /// key names the variable that holds it.
    Secret,
}

/// One setting's declaration.
#[derive(Debug)]
pub(crate) struct Setting {
    /// The name in lower case: the file key, and the flag and variable
    /// spelled their way.
    pub name: &'static str,
    pub variable: &'static str,
    /// Without the leading `--`; `None` for secrets.
    pub flag: Option<&'static str>,
    /// `None` for the settings of one invocation (`from`, `to`, `config`).
    pub key: Option<&'static str>,
    /// The placeholder `--help` shows for the flag's value.
    pub value_name: &'static str,
    pub scope: Scope,
    pub value: ValueType,
    /// The default, as docs/settings.md writes it.
    #[cfg_attr(not(test), allow(dead_code, reason = "docs/settings.md's table is written from it by a test"))]
    pub default: &'static str,
    /// The flag's `--help` line.
    pub help: &'static str,
    /// The meaning, as docs/settings.md writes it (Markdown).
    #[cfg_attr(not(test), allow(dead_code, reason = "docs/settings.md's table is written from it by a test"))]
    pub meaning: &'static str,
}

impl Setting {
    pub(crate) fn is_secret(&self) -> bool {
        self.value == ValueType::Secret
    }
}

macro_rules! settings {
    ($($ident:ident: $name:literal, $flag:expr, $key:expr, $value_name:literal, $scope:ident, $value:ident, $default:literal, $help:literal, $meaning:literal;)*) => {
        $(
            #[allow(dead_code, reason = "each setting is named where it is used; some only through ALL")]
            pub(crate) static $ident: Setting = Setting {
                name: $name,
                variable: concat!("DOCSYNC_", stringify!($ident)),
                flag: $flag,
                key: $key,
                value_name: $value_name,
                scope: Scope::$scope,
                value: ValueType::$value,
                default: $default,
                help: $help,
                meaning: $meaning,
            };
        )*
        /// Every setting, in the order of docs/settings.md and `--help`.
        pub(crate) static ALL: &[&Setting] = &[$(&$ident),*];
    };
}

settings! {
    GITBOOK_SPACE: "gitbook_space", Some("gitbook-space"), Some("gitbook_space"), "ID", GitBook, Text, "—",
        "GitBook space id; turns the GitBook target on",
        "GitBook space id; turns the GitBook target on, or fills the space of a GitBook `[[target]]` that names none";
    GITBOOK_SITE: "gitbook_site", Some("gitbook-site"), Some("gitbook_site"), "ID", Run, Text, "—",
        "GitBook site id; with --gitbook-organization, the site's Git Sync spaces of this project become targets",
        "GitBook site id; with `gitbook_organization`, every space the site syncs from this project and branch becomes a GitBook target (see [gitbook.md](gitbook.md#spaces-found-in-a-site)); one without the other is refused";
    GITBOOK_ORGANIZATION: "gitbook_organization", Some("gitbook-organization"), Some("gitbook_organization"), "ID", Run, Text, "—",
        "GitBook organization id of --gitbook-site",
        "GitBook organization id of the `gitbook_site`";
    GITBOOK_TOKEN: "gitbook_token", None, Some("gitbook_token_env"), "", GitBook, Secret, "—",
        "",
        "GitBook API token";
    GITBOOK_API_URL: "gitbook_api_url", Some("gitbook-api-url"), Some("gitbook_api_url"), "URL", GitBook, Url, "`https://api.gitbook.com/v1`",
        "GitBook-style API base URL [default: https://api.gitbook.com/v1]",
        "GitBook-style API base; no user info";
    GIT_TOKEN: "git_token", None, Some("git_token_env"), "", GitBook, Secret, "— (`CI_JOB_TOKEN` with a warning, for imports that are waited for)",
        "",
        "token GitBook clones (and pushes) the project with";
    PROJECT_DIRECTORY: "project_directory", Some("project-directory"), Some("project_directory"), "DIR", Target, Text, "repository root",
        "The docs root inside the repository [default: the repository root]",
        "the docs root inside the repository";
    PATHS: "paths", Some("paths"), Some("paths"), "GLOBS", Target, List, "GitBook: every file; Dot: `*.md,*.markdown,*.yaml,*.yml`",
        "Comma-separated globs of files that count as docs changes",
        "comma-separated globs of the files that count as docs changes, relative to the project directory; a comma inside `{…}` is part of the glob; an empty list is refused";
    IGNORE: "ignore", Some("ignore"), Some("ignore"), "GLOBS", Target, List, "none",
        "Comma-separated globs of files the docs pre-flight never reads (Markdown not meant for the platform)",
        "comma-separated globs of files the docs pre-flight never reads (Markdown not meant for the platform: templates, drafts), relative to the project directory, matched like `paths`; the files still exist for links and summary entries. Changes to them still count for `paths`";
    DOT_WEBHOOK_URL: "dot_webhook_url", Some("dot-webhook-url"), Some("dot_webhook_url"), "URL", Dot, Url, "—",
        "Push-webhook receiver URL; turns the Dot target on",
        "push-webhook receiver; turns the Dot target on, or fills the URL of a Dot `[[target]]` that names none; two Dot targets on one URL are refused";
    DOT_WEBHOOK_SECRET: "dot_webhook_secret", None, Some("dot_webhook_secret_env"), "", Dot, Secret, "—",
        "",
        "its secret, sent as `X-Gitlab-Token`";
    GITLAB_TOKEN: "gitlab_token", None, Some("gitlab_token_env"), "", Run, Secret, "—",
        "",
        "GitLab API token for `check`, the compare fallback, notes and merge requests";
    GITLAB_URL: "gitlab_url", Some("gitlab-url"), Some("gitlab_url"), "URL", Run, Url, "`CI_SERVER_URL`",
        "GitLab instance URL, outside CI [default: CI_SERVER_URL]",
        "GitLab instance outside CI; a pasted project URL is resolved to its instance. In CI the job's instance (`CI_SERVER_URL`) is used and another one set here is a warning";
    BRANCH: "branch", Some("branch"), Some("branch"), "BRANCH", Target, Text, "`CI_DEFAULT_BRANCH`",
        "The branch whose pushes sync [default: CI_DEFAULT_BRANCH]",
        "the branch whose pushes sync";
    EXPORT_BRANCH: "export_branch", Some("export-branch"), Some("export_branch"), "BRANCH", GitBook, Text, "the sync branch",
        "Branch GitBook exports to [default: the sync branch]",
        "the branch GitBook exports to";
    EXPORT_MR: "export_mr", Some("export-mr"), Some("export_mr"), "BOOL", GitBook, Bool, "`false`",
        "Open a merge request from the export branch into the default branch (true/false)",
        "open a merge request from the export branch into the default branch";
    GITBOOK_EDITS: "gitbook_edits", Some("gitbook-edits"), Some("gitbook_edits"), "MODE", GitBook, Text, "`refuse`",
        "What an import does when GitBook holds edits Git does not have: refuse, export or overwrite [default: refuse]",
        "what a branch import does when the space holds work Git does not have: `refuse` (import nothing, `conflict`), `export` (import nothing, `conflict`; GitBook exports its edits to a branch, docsync opens a merge request for it) or `overwrite` (import anyway, naming what is replaced); see [gitbook.md](gitbook.md#edits-made-in-gitbook)";
    CONCURRENCY: "concurrency", Some("concurrency"), Some("concurrency"), "N", Run, Number, "`8`",
        "HTTP requests in flight at once, across all targets (1-64) [default: 8]",
        "HTTP requests in flight at once, across all targets (1–64)";
    DIRECTION: "direction", Some("direction"), Some("direction"), "DIRECTION", GitBook, Text, "`import`",
        "`import` or `export`, for manual pipelines [default: import]",
        "`import` or `export`, for manual pipelines";
    PREVIEWS: "previews", Some("previews"), Some("previews"), "BOOL", Target, Bool, "`true`",
        "Standalone GitBook imports on merge request pipelines (true/false) [default: true]",
        "standalone GitBook imports on merge request pipelines (for a Dot target: whether merge request pipelines plan it)";
    WAIT: "wait", Some("wait"), Some("wait"), "BOOL", GitBook, Bool, "`true`",
        "Wait for GitBook's operation result (true/false) [default: true]",
        "wait for GitBook's verdict";
    WAIT_TIMEOUT: "wait_timeout", Some("wait-timeout"), Some("wait_timeout"), "DURATION", GitBook, Duration, "`10m`",
        "How long to wait for GitBook's result, like 90s, 10m, 1h [default: 10m]",
        "how long to wait for it (`90s`, `10m`, `1h30m`; more than 0, at most 24h)";
    START_TIMEOUT: "start_timeout", Some("start-timeout"), Some("start_timeout"), "DURATION", GitBook, Duration, "`2m`",
        "How long GitBook may take to start our operation, like 2m [default: 2m]",
        "how long GitBook may take to start our operation before the target ends `not_started`";
    FROM: "from", Some("from"), None, "REV", Invocation, Text, "from the pipeline",
        "Start of the range: any revision git understands (SHA, branch, tag, HEAD~3). [env: DOCSYNC_FROM]",
        "explicit range start (any revision git understands)";
    TO: "to", Some("to"), None, "REV", Invocation, Text, "from the pipeline",
        "End of the range (default: the pipeline's commit, or HEAD). [env: DOCSYNC_TO]",
        "explicit range end";
    REPORT: "report", Some("report"), Some("report"), "PATH", Run, Text, "`docsync.env` in CI, none outside",
        "Dotenv report path [default: docsync.env in CI, none outside]",
        "dotenv report path (`none` to disable)";
    REPORT_JSON: "report_json", Some("report-json"), Some("report_json"), "PATH", Run, Text, "`docsync.json` in CI, none outside",
        "JSON report path, the `--format json` result [default: docsync.json in CI, none outside]",
        "JSON report path (`none` to disable)";
    LINT: "lint", Some("lint"), Some("lint"), "MODE", Run, Text, "`error`",
        "The docs pre-flight before an import: error, warn or off [default: error]",
        "the docs pre-flight before an import: `error`, `warn` or `off`";
    REVIEW_COMMENTS: "review_comments", Some("review-comments"), Some("review_comments"), "BOOL", Run, Bool, "`true` when `DOCSYNC_GITLAB_TOKEN` is set",
        "Pre-flight findings as threads on the merge request's diff lines (true/false) [default: true when DOCSYNC_GITLAB_TOKEN is set]",
        "on merge request pipelines, the pre-flight's new findings on lines the merge request adds as threads on those lines, with a suggestion where the fix is mechanical; see [gitlab.md](gitlab.md#findings-on-the-diff-lines)";
    CODEQUALITY: "codequality", Some("codequality"), Some("codequality"), "PATH", Run, Text, "`gl-code-quality-report.json` in CI, none outside",
        "GitLab Code Quality report of the pre-flight, or none [default: gl-code-quality-report.json in CI, none outside]",
        "where the pre-flight writes a GitLab Code Quality report (`none` to disable)";
    CONFIG: "config", Some("config"), None, "PATH", Invocation, Text, "`docsync.toml` if present",
        "Config file for several targets (default: docsync.toml when present). [env: DOCSYNC_CONFIG]",
        "the config file for several targets";
    PLATFORM_AUTHORS: "platform_authors", Some("platform-authors"), Some("platform_authors"), "LIST", Target, List, "`gitbook-bot,ghost@gitbook.com`",
        "Authors (names or e-mails, comma-separated) whose commits are the platform's own [default: gitbook-bot,ghost@gitbook.com]",
        "authors (names or e-mails) whose commits are the platform's own";
    POLL_INTERVAL: "poll_interval", Some("poll-interval"), Some("poll_interval"), "DURATION", Run, Duration, "`1s`",
        "First interval between reads of GitBook's state; it grows while waiting [default: 1s]",
        "first interval between reads of GitBook's state (grows ×1.5 up to 5×)";
    HTTP_TIMEOUT: "http_timeout", Some("http-timeout"), Some("http_timeout"), "DURATION", Run, Duration, "`30s`",
        "Timeout of one HTTP request [default: 30s]",
        "timeout of one HTTP request, and of each wait for a git server while fetching";
    RETRIES: "retries", Some("retries"), Some("retries"), "N", Run, Number, "`4`",
        "Retries of a request after the first attempt, 0 to 20 [default: 4]",
        "retries after the first attempt (0–20)";
    RETRY_DELAY: "retry_delay", Some("retry-delay"), Some("retry_delay"), "DURATION", Run, Duration, "`1s`",
        "First wait before a retry; it doubles, with jitter [default: 1s]",
        "first wait before a retry (doubles, with jitter)";
    FETCH_TIMEOUT: "fetch_timeout", Some("fetch-timeout"), Some("fetch_timeout"), "DURATION", Run, Duration, "`180s`",
        "Time all git fetches of a run (deepening a shallow clone, a partial clone's file contents) may take together [default: 180s]",
        "time all git fetches of a run take together at most (deepening a shallow clone, a partial clone's file contents); when it is spent the range falls back as [commit-range.md](commit-range.md) says";
}

/// The setting a `docsync.toml` key sets.
pub(crate) fn by_key(key: &str) -> Option<&'static Setting> {
    ALL.iter().copied().find(|setting| setting.key == Some(key))
}

/// The declared setting nearest to a misspelt name (edit distance), when
/// one is near enough to be what was meant.
pub(crate) fn nearest<'a>(wrong: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let names: Vec<&str> = names.into_iter().collect();
    // A shortened name (`space` for `gitbook_space`) is far in edit
    // distance but plainly meant.
    let word = wrong.trim_start_matches("DOCSYNC_");
    if let Some(name) = names.iter().find(|name| name.ends_with(&format!("_{word}"))) {
        return Some(name);
    }
    names
        .into_iter()
        .map(|name| (strsim::levenshtein(wrong, name), name))
        .filter(|(distance, name)| *distance <= 3.max(name.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// The table of docs/settings.md, written from the declarations.
#[cfg(test)]
pub(crate) fn reference_table() -> String {
    let mut table =
        String::from("| variable | flag | `docsync.toml` key | meaning | default |\n|---|---|---|---|---|\n");
    for setting in ALL {
        let flag = setting.flag.map_or_else(|| "—".to_owned(), |flag| format!("`--{flag}`"));
        let mut notes = Vec::new();
        if setting.value == ValueType::List {
            notes.push("a list");
        }
        match setting.scope {
            Scope::Run => notes.push("run-wide"),
            Scope::GitBook => notes.push("GitBook targets"),
            Scope::Dot => notes.push("Dot targets"),
            Scope::Target | Scope::Invocation => {}
        }
        let key = match setting.key {
            Some(key) if notes.is_empty() => format!("`{key}`"),
            Some(key) => format!("`{key}` ({})", notes.join(", ")),
            None => "—".to_owned(),
        };
        let secret = if setting.is_secret() { " (secret)" } else { "" };
        table.push_str(&format!(
            "| `{}` | {flag} | {key} | {}{secret} | {} |\n",
            setting.variable, setting.meaning, setting.default
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{ALL, Scope, ValueType, reference_table};

    /// The names follow one rule, so the table cannot spell one setting
    /// three ways.
    #[test]
    fn flag_variable_and_key_are_the_name_spelt_their_ways() {
        for setting in ALL {
            assert_eq!(setting.variable, format!("DOCSYNC_{}", setting.name.to_ascii_uppercase()));
            if setting.is_secret() {
                assert_eq!(setting.flag, None, "{}: a secret is never a flag", setting.name);
                assert_eq!(setting.key, Some(format!("{}_env", setting.name).as_str()));
            } else {
                assert_eq!(setting.flag, Some(setting.name.replace('_', "-").as_str()));
                let expected_key = (setting.scope != Scope::Invocation).then_some(setting.name);
                assert_eq!(setting.key, expected_key, "{}", setting.name);
                assert!(!setting.help.is_empty() && !setting.value_name.is_empty(), "{}", setting.name);
            }
        }
    }

    /// `docsync --help` shows exactly the table's flags, with its
    /// placeholders and help lines.
    #[test]
    fn the_flags_are_the_table() {
        use clap::CommandFactory;
        let command = crate::settings::flags::Cli::command();
        let shown: BTreeMap<String, (String, String)> = command
            .get_arguments()
            .filter_map(|arg| {
                let long = arg.get_long()?.to_owned();
                let value_name = arg.get_value_names().and_then(|names| names.first()).map(|n| n.to_string());
                Some((
                    long,
                    (value_name.unwrap_or_default(), arg.get_help().map(|h| h.to_string()).unwrap_or_default()),
                ))
            })
            .collect();
        let mut declared = BTreeMap::new();
        for setting in ALL {
            if let Some(flag) = setting.flag {
                let help = setting.help.to_owned();
                declared.insert(flag.to_owned(), (setting.value_name.to_owned(), help));
            }
        }
        let not_settings = ["format", "dry-run", "force", "target", "verbose", "quiet", "help", "version"];
        let shown_settings: BTreeMap<String, (String, String)> =
            shown.into_iter().filter(|(long, _)| !not_settings.contains(&long.as_str())).collect();
        assert_eq!(shown_settings, declared);
    }

    /// docs/settings.md's table is the declarations' table; `UPDATE_DOCS=1
    /// cargo test --lib settings::declarations` rewrites it.
    #[test]
    fn docs_settings_table_is_generated_from_the_declarations() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/settings.md");
        let text = std::fs::read_to_string(&path).expect("docs/settings.md");
        let (start, end) = (
            "<!-- settings table: generated from src/settings/declarations.rs -->\n",
            "<!-- end of the settings table -->",
        );
        let (before, rest) = text.split_once(start).expect("the start marker in docs/settings.md");
        let (table, after) = rest.split_once(end).expect("the end marker in docs/settings.md");
        let generated = reference_table();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            #[allow(clippy::disallowed_methods, reason = "the switch that rewrites the generated docs table")]
            std::fs::write(&path, format!("{before}{start}{generated}{end}{after}")).expect("writing docs/settings.md");
            return;
        }
        assert_eq!(
            table, generated,
            "docs/settings.md drifted: run UPDATE_DOCS=1 cargo test --lib settings::declarations"
        );
    }

    /// Every declared variable and file key is read into its setting.
    #[test]
    fn every_declared_variable_and_key_is_read() {
        use std::path::Path;

        use crate::settings::environment::Environment;
        use crate::settings::file::parse_file;
        for setting in ALL {
            let env = Environment::from_vars([(setting.variable.to_owned(), "probe-value".to_owned())]).unwrap();
            let read = if setting.is_secret() {
                env.docsync.secret(setting).map(|s| s.expose().to_owned())
            } else {
                env.docsync.get(setting).map(str::to_owned)
            };
            assert_eq!(read.as_deref(), Some("probe-value"), "{}", setting.variable);
            assert!(env.unknown_variable_warnings().is_empty(), "{}", setting.variable);
            let Some(key) = setting.key else { continue };
            let value = match setting.value {
                ValueType::List => "[\"a\"]",
                ValueType::Bool => "true",
                ValueType::Number => "3",
                _ => "\"probe\"",
            };
            let config = parse_file(Path::new("docsync.toml"), &format!("[defaults]\n{key} = {value}\n"))
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(config.defaults.get(setting).map(|found| found.line), Some(2), "{key}");
        }
    }

    #[test]
    fn list_settings_are_the_glob_and_author_lists() {
        let lists: Vec<&str> = ALL.iter().filter(|s| s.value == ValueType::List).map(|s| s.name).collect();
        assert_eq!(lists, ["paths", "ignore", "platform_authors"]);
    }
}
