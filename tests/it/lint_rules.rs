//! More of what GitBook documents, checked before anything is sent:
//! the subjects that keep an old finding old, the size
//! check of every target, the `ignore` setting, anchors, redirects from
//! pages that still exist, two readmes, and the files of one import.

use crate::common;

use serde_json::Value;

use common::{Env, Run, TestRepo, findings, lint, run_to_end, with};

fn gitbook_target() -> Env {
    with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcRules"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")])
}

/// The findings of one rule: `(path, line, new)`, in the report's order.
fn of_rule(run: &Run, rule: &str) -> Vec<(String, u64, bool)> {
    findings(run)
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_owned(),
                f["line"].as_u64().unwrap_or(0),
                f["new"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

// ---- A. a `.gitbook.yaml` finding's subject is not its line ---------------

/// Every kind of problem `.gitbook.yaml` can hold, each once.
const GITBOOK_YAML: &str = "\
root: ./
structure:
  readme: README.md
  summary: SUMMARY.md
  sidebar: nav.md
redirects:
  outside: ../../elsewhere.md
  missing: gone.md
colour: blue
";

#[test]
fn old_gitbook_yaml_errors_stay_old_when_lines_shift() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Home\n");
    repo.write("docs/SUMMARY.md", "* [Home](README.md)\n");
    repo.write("docs/.gitbook.yaml", GITBOOK_YAML);
    repo.commit("A .gitbook.yaml with old problems");
    repo.write("docs/.gitbook.yaml", &format!("# GitBook's layout of this space\n\n{GITBOOK_YAML}"));
    repo.commit("Explain .gitbook.yaml");
    let run = lint(&repo, &gitbook_target(), &[]);
    let config = of_rule(&run, "gitbook-config");
    assert!(config.len() >= 4, "{}", run.context());
    assert!(config.iter().all(|(_, _, new)| !new), "a shifted line made an old finding new\n{}", run.context());
    run.assert_code(0);
}

// ---- B. a Dot target's file too large to check is a finding ---------------

fn dot_target() -> Env {
    with(
        Env::new(),
        &[("DOCSYNC_DOT_WEBHOOK_URL", "https://example.invalid/hooks/gitlab"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")],
    )
}

#[test]
fn a_dot_targets_file_over_100_mib_is_too_large_not_skipped() {
    let repo = TestRepo::new();
    repo.write("docs/intro.md", "# Intro\n");
    repo.commit("Docs for Dot");
    // A sparse file one byte over GitBook's 100 MiB, new in the working
    // tree: it takes no disk space, and git never hashes an untracked file.
    let big = std::fs::File::create(repo.path.join("docs/dump.yaml")).expect("create docs/dump.yaml");
    big.set_len(100 * 1024 * 1024 + 1).expect("grow docs/dump.yaml");
    repo.write("docs/small.yaml", "a: 1\n");
    let run = lint(&repo, &dot_target(), &["--worktree"]);
    assert_eq!(of_rule(&run, "too-large"), [("docs/dump.yaml".to_owned(), 1, true)], "{}", run.context());
    run.assert_code(1);
}

/// A file whose name is not UTF-8 is listed quoted as git quotes it; GitBook
/// still refuses it over 100 MB, so it is measured like any other.
#[cfg(unix)]
#[test]
fn a_file_whose_name_is_not_utf8_gets_the_size_check() {
    use std::os::unix::ffi::OsStrExt;
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Home\n");
    repo.write("docs/SUMMARY.md", "* [Home](README.md)\n");
    repo.commit("A space");
    // Sparse and untracked, as above.
    let path = repo.path.join(std::ffi::OsStr::from_bytes(b"docs/caf\xe9.mp4"));
    let big = std::fs::File::create(path).expect("create a file with a Latin-1 name");
    big.set_len(100 * 1024 * 1024 + 1).expect("grow it");
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    assert_eq!(of_rule(&run, "too-large"), [(r#""docs/caf\351.mp4""#.to_owned(), 1, true)], "{}", run.context());
    run.assert_code(1);
}

// ---- 10. --force is more than a bypass of the pre-flight ------------------

/// A push whose commit adds a broken link, as a sync job sees it; GitBook's
/// API is a closed port, which the pre-flight's stop never reaches.
fn push_with_a_new_error() -> (TestRepo, Env) {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Home\n");
    repo.write("docs/SUMMARY.md", "* [Home](README.md)\n");
    let before = repo.commit("A space");
    repo.write("docs/README.md", "# Home\n\nSee [the setup](setup.md).\n");
    let head = repo.commit("Link a page that does not exist");
    let env = with(
        common::ci_env(common::Pipeline::Push { branch: "main", before: &before, sha: &head }),
        &[
            ("DOCSYNC_GITBOOK_SPACE", "spcForce"),
            ("DOCSYNC_GITBOOK_TOKEN", "gbtok-lint-rules"),
            ("DOCSYNC_GITBOOK_API_URL", &format!("http://127.0.0.1:{}/v1", common::free_port())),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_REPORT", "none"),
        ],
    );
    (repo, env)
}

#[test]
fn a_stopped_import_points_at_lint_warn_not_force() {
    let (repo, env) = push_with_a_new_error();
    let mut command = repo.docsync(&["sync", "--format", "json"]);
    command.envs(&env);
    let run = run_to_end(command);
    run.assert_code(1);
    let outcome = &run.json()["targets"][0]["outcome"];
    assert_eq!(outcome["status"], "failed", "{}", run.context());
    let fix = outcome["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("set DOCSYNC_LINT=warn to import despite them"), "{}", run.context());
    assert!(fix.contains("not --force, which also overrides the skip rules"), "{}", run.context());
}

// ---- C. the readme is the space's first page, listed or not ---------------

#[test]
fn the_readme_needs_no_summary_entry() {
    let repo = TestRepo::new();
    repo.write("docs/intro.md", "# Intro\n");
    repo.write("docs/guide.md", "# Guide\n");
    repo.write("docs/.gitbook.yaml", "structure:\n  readme: intro.md\n");
    repo.write("docs/SUMMARY.md", "* [Guide](guide.md)\n");
    repo.commit("A space whose readme is intro.md");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_eq!(of_rule(&run, "page-not-in-summary"), [], "{}", run.context());
    run.assert_code(0);
}

// ---- 11. Markdown not meant for GitBook -----------------------------------

/// A space at the repository root with Markdown for the Git host and a
/// draft: each would be a finding if the pre-flight read it.
fn space_with_host_files() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# Home\n");
    repo.write("SUMMARY.md", "* [Home](README.md)\n* [Guide](guide.md)\n");
    repo.write("guide.md", "# Guide\n");
    repo.write("drafts/wip.md", "# WIP\n\nSee [the plan](plan.md).\n");
    repo.write(".github/CONTRIBUTING.md", "# Contributing\n\nRun [the tests](../scripts/test.md).\n");
    repo.write(".gitlab/issue_templates/bug.md", "Describe the bug. {% hint style=\"info\" %}\n");
    repo.commit("Docs, drafts and the Git host's templates");
    repo
}

fn root_target(extra: &[(&str, &str)]) -> Env {
    with(with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcRoot")]), extra)
}

#[test]
fn markdown_under_dot_folders_is_not_a_gitbook_page() {
    let repo = space_with_host_files();
    let run = lint(&repo, &root_target(&[]), &[]);
    let paths: Vec<String> = findings(&run).iter().map(|f| f["path"].as_str().unwrap_or("").to_owned()).collect();
    assert!(!paths.iter().any(|p| p.starts_with(".github/") || p.starts_with(".gitlab/")), "{}", run.context());
    // The draft is still a page GitBook would not import.
    assert_eq!(of_rule(&run, "page-not-in-summary"), [("drafts/wip.md".to_owned(), 1, true)], "{}", run.context());
    // A dot-folder page the summary lists is GitBook's, and checked: its
    // link is new, as the range made it a page.
    repo.write("SUMMARY.md", "* [Home](README.md)\n* [Guide](guide.md)\n* [Contributing](.github/CONTRIBUTING.md)\n");
    repo.commit("List the contributing guide");
    let run = lint(&repo, &root_target(&[]), &[]);
    let links = of_rule(&run, "broken-link");
    assert!(links.contains(&(".github/CONTRIBUTING.md".to_owned(), 3, true)), "{}", run.context());
}

#[test]
fn ignored_files_are_never_read() {
    let repo = space_with_host_files();
    for (how, env, args) in [
        ("DOCSYNC_IGNORE", root_target(&[("DOCSYNC_IGNORE", "drafts/**")]), vec![]),
        ("--ignore", root_target(&[]), vec!["--ignore", "drafts/**"]),
    ] {
        let run = lint(&repo, &env, &args);
        assert_eq!(findings(&run), Vec::<Value>::new(), "{how}\n{}", run.context());
        run.assert_code(0);
    }
    // The key of a [[target]] in docsync.toml.
    repo.write(
        "docsync.toml",
        "[[target]]\nname = \"handbook\"\nkind = \"gitbook\"\ngitbook_space = \"spcToml\"\nignore = [\"drafts/*.md\"]\n",
    );
    let run = lint(&repo, &Env::new(), &[]);
    assert_eq!(findings(&run), Vec::<Value>::new(), "{}", run.context());
    // Without a target, the run's setting applies to the project directory.
    std::fs::remove_file(repo.path.join("docsync.toml")).expect("remove docsync.toml");
    let run = lint(&repo, &with(Env::new(), &[("DOCSYNC_IGNORE", "drafts")]), &[]);
    assert_eq!(findings(&run), Vec::<Value>::new(), "{}", run.context());
}

#[test]
fn an_ignored_dot_file_is_not_parsed() {
    let repo = TestRepo::new();
    repo.write("docs/good.yaml", "a: 1\n");
    repo.write("docs/templates/broken.yaml", "a: {{ value }}: b\n");
    repo.commit("A template that is no YAML yet");
    let run = lint(&repo, &dot_target(), &[]);
    assert_eq!(of_rule(&run, "dot-yaml").len(), 1, "{}", run.context());
    let run = lint(&repo, &with(dot_target(), &[("DOCSYNC_IGNORE", "templates/**")]), &[]);
    assert_eq!(of_rule(&run, "dot-yaml"), [], "{}", run.context());
    run.assert_code(0);
}

#[test]
fn a_bad_ignore_glob_is_bad_input_naming_its_source() {
    let repo = space_with_host_files();
    let run = lint(&repo, &root_target(&[("DOCSYNC_IGNORE", "drafts/[a-z")]), &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("DOCSYNC_IGNORE") && run.stderr.contains("drafts/[a-z"), "{}", run.context());
    let run = lint(&repo, &with(Env::new(), &[("DOCSYNC_IGNORE", "drafts/[a-z")]), &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("DOCSYNC_IGNORE"), "{}", run.context());
}

// ---- 12. anchors, shadowed redirects, two READMEs -------------------------

const GUIDE: &str = "\
# Guide

## Get Started

## What's new?

## Intro

## Intro

## Install <a href=\"#setup\" id=\"setup\"></a>

```markdown
## In code
```
";

fn space_with_anchors(links: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/README.md", &format!("# Home\n\n## Local heading\n\n{links}"));
    repo.write("docs/SUMMARY.md", "* [Home](README.md)\n* [Guide](guide.md)\n");
    repo.write("docs/guide.md", GUIDE);
    repo.commit("Links into sections");
    repo
}

#[test]
fn links_into_sections_are_checked_against_the_pages_headings() {
    let good = "[a](guide.md#get-started) [b](guide.md#whats-new) [c](guide.md#intro-1) [d](guide.md#setup) \
                [e](#local-heading) [f](./guide.md#Get-Started) [g](guide.md) [h](guide.md#top)\n";
    let repo = space_with_anchors(good);
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_eq!(of_rule(&run, "broken-anchor"), [], "{}", run.context());
    run.assert_code(0);

    let bad = "[a](guide.md#get-going)\n\n[b](#nowhere)\n\n[c](guide.md#in-code)\n";
    let repo = space_with_anchors(bad);
    let run = lint(&repo, &gitbook_target(), &[]);
    let anchors = of_rule(&run, "broken-anchor");
    let lines: Vec<u64> = anchors.iter().map(|(_, line, _)| *line).collect();
    assert_eq!(lines, [5, 7, 9], "{}", run.context());
    let first = findings(&run).into_iter().find(|f| f["rule"] == "broken-anchor").unwrap_or_default();
    assert_eq!(first["severity"], "warning", "{first:#}");
    assert_eq!(first["message"], "link `guide.md#get-going`: docs/guide.md has no heading or anchor `#get-going`");
    // Warnings never block.
    run.assert_code(0);
}

#[test]
fn a_redirect_from_a_page_that_still_exists_is_a_warning() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Home\n");
    repo.write("docs/SUMMARY.md", "* [Home](README.md)\n* [Old](old.md)\n* [New](new.md)\n");
    repo.write("docs/old.md", "# Old\n");
    repo.write("docs/new.md", "# New\n");
    repo.write("docs/.gitbook.yaml", "redirects:\n  old: new.md\n  gone: new.md\n");
    repo.commit("A redirect from a page that is still there");
    let run = lint(&repo, &gitbook_target(), &[]);
    let config: Vec<Value> = findings(&run).into_iter().filter(|f| f["rule"] == "gitbook-config").collect();
    assert_eq!(config.len(), 1, "{}", run.context());
    assert_eq!(config[0]["severity"], "warning");
    assert_eq!(config[0]["line"], 2);
    assert!(config[0]["message"].as_str().unwrap_or("").contains("docs/old.md still exists"), "{}", run.context());
    run.assert_code(0);
}

#[test]
fn two_readmes_in_one_folder_are_an_error() {
    let repo = TestRepo::new();
    repo.write("docs/README.md", "# Home\n");
    repo.write("docs/SUMMARY.md", "* [Home](README.md)\n* [Guides](guides/README.md)\n");
    repo.write("docs/guides/README.md", "# Guides\n");
    repo.commit("One README per folder");
    repo.write("docs/readme.md", "# Home, again\n");
    repo.write("docs/guides/Readme.md", "# Guides, again\n");
    repo.commit("Two more");
    let run = lint(&repo, &gitbook_target(), &[]);
    let expected = [("docs/guides/Readme.md".to_owned(), 1, true), ("docs/readme.md".to_owned(), 1, true)];
    assert_eq!(of_rule(&run, "readme-duplicate"), expected, "{}", run.context());
    run.assert_code(1);
}
