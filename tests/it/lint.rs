//! The docs pre-flight (`docsync lint`, and `sync` before each GitBook
//! import). Each rule gets a small repository built here: a clean space,
//! then a commit adding the defect; the finding's rule, path, line,
//! severity, `new` and the exit code are asserted. The same defect inside
//! code gives nothing, and the clean space gives nothing at all.
//!
//! The space's shapes (a `##` heading with an HTML anchor, a `<figure>`
//! image, hints and tabs, a `docs.yaml` site file) are small excerpts of the
//! forms GitBook's own documentation repository uses.

use crate::common;

use serde_json::Value;

use common::prism::Prism;
use common::{Env, Pipeline, Run, TestRepo, ci_env, findings, lint, run_to_end, with};

pub(crate) const GITBOOK_YAML: &str =
    "root: ./\nstructure:\n  readme: README.md\n  summary: SUMMARY.md\nredirects:\n  old-guide: guide.md\n";
pub(crate) const SUMMARY: &str = "# Table of contents\n\n* [Home](README.md)\n\n## Guides <a href=\"#guides\" id=\"guides\"></a>\n\n* [Guide](guide.md)\n  * [Child](guide/child.md \"Child page\")\n* [GitBook](https://www.gitbook.com)\n* [Top](#guides)\n* [Guide tabs](guide.md#tabs)\n";
pub(crate) const GUIDE: &str = "---\ndescription: A guide\nlayout:\n  width: wide\n  title:\n    visible: true\n---\n\n# Guide\n\n{% hint style=\"info\" %}\nSee [the child](guide/child.md) and ![diagram](.gitbook/assets/diagram.png).\n{% endhint %}\n\n{% tabs %}\n{% tab title=\"One\" %}\nOne.\n{% endtab %}\n{% endtabs %}\n\n<figure><img src=\".gitbook/assets/diagram.png\" alt=\"\"><figcaption></figcaption></figure>\n\n{% content-ref url=\"guide/child.md\" %}\n[child.md](guide/child.md)\n{% endcontent-ref %}\n";
/// The shape of GitBook's own docs.yaml: sections holding spaces, one
/// space per directory, spaces not synced from Git (directory null).
pub(crate) const SITE_FILE: &str = "$schema: https://api.gitbook.com/openapi.yaml#/components/schemas/GitSyncSiteConfig\nsite:\n  title: Docs\n  structure:\n    - type: section\n      key: section-1\n      title: Documentation\n      path: documentation\n      default: true\n      children:\n        - type: space\n          key: space-1\n          title: English\n          path: docs\n          default: true\n          content:\n            directory: ./documentation\n            language: en\n        - type: space\n          key: space-2\n          title: French\n          path: fr\n          content:\n            directory: null\n            language: fr\n    - type: section\n      key: section-2\n      title: Developers\n      path: developers\n      children:\n        - type: space\n          key: space-3\n          title: Developers\n          path: developers\n          default: true\n          content:\n            directory: ./developers\n            language: en\n    - type: section-group\n      key: group-1\n      title: Resources\n      children:\n        - type: section\n          key: section-3\n          title: Changelog\n          path: changelog\n        - type: section\n          key: section-4\n          title: Policies\n          path: policies\n";
pub(crate) const CHILD: &str =
    "# Child\n\nBack to [the guide](../guide.md#top), or [GitBook](https://www.gitbook.com).\n";

/// A repository whose first commit holds a clean space in `docs/`.
pub(crate) fn clean_space() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("README.md", "# Project\n\n[Docs](docs/README.md)\n");
    repo.write("docs/.gitbook.yaml", GITBOOK_YAML);
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.md).\n");
    repo.write("docs/SUMMARY.md", SUMMARY);
    repo.write("docs/guide.md", GUIDE);
    repo.write("docs/guide/child.md", CHILD);
    repo.write("docs/.gitbook/assets/diagram.png", "not really a PNG");
    repo.write("src/main.rs", "// [not docs](missing.md)\n");
    repo.commit("A clean space");
    repo
}

/// The GitBook target's variables (no token: `lint` sends nothing).
pub(crate) fn gitbook_target() -> Env {
    with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcLint"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")])
}

/// The 1-based line of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    let index = text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not in {text}"));
    index as u64 + 1
}

/// What one finding must say.
struct Expected<'a> {
    rule: &'a str,
    path: &'a str,
    line: u64,
    severity: &'a str,
    new: bool,
}

fn assert_finding(run: &Run, expected: &Expected<'_>) {
    let all = findings(run);
    let found = all.iter().find(|f| f["rule"] == expected.rule && f["path"] == expected.path);
    let Some(found) = found else {
        panic!("no {} finding on {}:\n{}", expected.rule, expected.path, run.context());
    };
    assert_eq!(found["line"], expected.line, "{found:#}");
    assert_eq!(found["severity"], expected.severity, "{found:#}");
    assert_eq!(found["new"], expected.new, "{found:#}");
    assert_eq!(found["target"], "gitbook", "{found:#}");
    assert!(found["message"].as_str().is_some_and(|m| !m.is_empty()), "{found:#}");
    assert!(found["fix"].as_str().is_some_and(|m| !m.is_empty()), "every finding says how to fix it: {found:#}");
    let expected_exit = if expected.new && expected.severity == "error" { 1 } else { 0 };
    run.assert_code(expected_exit);
}

fn assert_no_findings(run: &Run) {
    let all = findings(run);
    assert!(all.is_empty(), "expected no finding:\n{}", run.context());
    assert_eq!(run.json()["errors"], 0);
    assert_eq!(run.json()["warnings"], 0);
    run.assert_code(0);
}

#[test]
fn a_clean_space_has_no_findings() {
    let repo = clean_space();
    repo.write("docs/.gitbook/assets/talk's.png", "not really a PNG");
    // Shapes GitBook's exports hold: `..` above the space root stays at the
    // root (like a URL), and HTML attributes with character references.
    repo.write(
        "docs/guide/child.md",
        &format!("{CHILD}\nMore words.\n\n![](../../../.gitbook/assets/diagram.png) [here](./#child) [home](../)\n\n<figure><img src=\"../.gitbook/assets/talk&#x27;s.png\" alt=\"\"></figure>\n"),
    );
    repo.commit("Edit the child page");
    assert_no_findings(&lint(&repo, &gitbook_target(), &[]));
    // The text form ends with its summary line.
    let mut command = repo.docsync(&["lint"]);
    command.envs(gitbook_target());
    let run = run_to_end(command);
    run.assert_code(0);
    assert!(run.stdout.contains("0 errors, 0 warnings; 0 new errors"), "{}", run.context());
}

#[test]
fn gitbook_config_unknown_key() {
    let repo = clean_space();
    let config = "root: ./\nstructure:\n  readme: README.md\nredirect:\n  old-guide: guide.md\n";
    repo.write("docs/.gitbook.yaml", config);
    repo.commit("Misspell redirects");
    let run = lint(&repo, &gitbook_target(), &[]);
    let expected =
        Expected { rule: "gitbook-config", path: "docs/.gitbook.yaml", line: 4, severity: "error", new: true };
    assert_finding(&run, &expected);
}

#[test]
fn gitbook_config_bad_yaml_and_missing_redirect_target() {
    let repo = clean_space();
    repo.write("docs/.gitbook.yaml", "root: ./\nredirects:\n  old-guide: guide.md\n  older: gone.md\n");
    repo.commit("Redirect to a page that does not exist");
    let run = lint(&repo, &gitbook_target(), &[]);
    let expected =
        Expected { rule: "gitbook-config", path: "docs/.gitbook.yaml", line: 4, severity: "warning", new: true };
    assert_finding(&run, &expected);

    repo.write("docs/.gitbook.yaml", "root: ./\nredirects:\n old: a.md\n  bad: b.md\n");
    repo.commit("Break the indentation");
    let run = lint(&repo, &gitbook_target(), &[]);
    let all = findings(&run);
    assert!(
        all.iter()
            .any(|f| f["rule"] == "gitbook-config" && f["message"].as_str().unwrap_or("").contains("not valid YAML")),
        "{}",
        run.context()
    );
    run.assert_code(1);
}

#[test]
fn readme_missing_when_deleted() {
    let repo = clean_space();
    repo.remove("docs/README.md");
    repo.commit("Delete the readme");
    let run = lint(&repo, &gitbook_target(), &[]);
    let expected = Expected { rule: "readme-missing", path: "docs/README.md", line: 1, severity: "error", new: true };
    assert_finding(&run, &expected);
}

#[test]
fn summary_missing_file() {
    let repo = clean_space();
    let summary = format!("{SUMMARY}* [Gone](gone.md)\n");
    repo.write("docs/SUMMARY.md", &summary);
    repo.commit("List a page that does not exist");
    let line = line_of(&summary, "gone.md");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "summary-missing-file", path: "docs/SUMMARY.md", line, severity: "error", new: true },
    );
}

#[test]
fn summary_entry_broken_by_a_move_elsewhere_is_new() {
    let repo = clean_space();
    repo.mv("docs/guide/child.md", "docs/guide/kid.md");
    repo.commit("Rename the child page, forgetting the summary");
    let run = lint(&repo, &gitbook_target(), &[]);
    let line = line_of(SUMMARY, "guide/child.md");
    assert_finding(
        &run,
        &Expected { rule: "summary-missing-file", path: "docs/SUMMARY.md", line, severity: "error", new: true },
    );
}

#[test]
fn summary_duplicate() {
    let repo = clean_space();
    let summary = format!("{SUMMARY}* [Again](guide.md)\n");
    repo.write("docs/SUMMARY.md", &summary);
    repo.commit("List the guide twice");
    let line = line_of(&summary, "[Again]");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "summary-duplicate", path: "docs/SUMMARY.md", line, severity: "error", new: true },
    );
}

#[test]
fn summary_entries_in_code_are_not_entries() {
    let repo = clean_space();
    repo.write(
        "docs/SUMMARY.md",
        &format!("{SUMMARY}\n```markdown\n* [Gone](gone.md)\n* [Again](guide.md)\n```\n\n`[Inline](gone.md)`\n"),
    );
    repo.commit("Show the summary syntax in code");
    assert_no_findings(&lint(&repo, &gitbook_target(), &[]));
}

#[test]
fn page_not_in_summary_is_an_error_when_added() {
    let repo = clean_space();
    repo.write("docs/orphan.md", "# Orphan\n");
    repo.commit("Add a page but not to the summary");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "page-not-in-summary", path: "docs/orphan.md", line: 1, severity: "error", new: true },
    );
}

#[test]
fn page_not_in_summary_is_a_warning_when_it_was_there_before() {
    let repo = clean_space();
    repo.write("docs/orphan.md", "# Orphan\n");
    repo.commit("Add a page but not to the summary");
    repo.write("docs/orphan.md", "# Orphan\n\nEdited.\n");
    repo.commit("Edit it");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "page-not-in-summary", path: "docs/orphan.md", line: 1, severity: "warning", new: false },
    );
    // --strict fails on any error, but a warning is not one.
    lint(&repo, &gitbook_target(), &["--strict"]).assert_code(0);
}

#[test]
fn broken_link() {
    let repo = clean_space();
    let child = format!("{CHILD}\nSee [the setup](../setup.md) too.\n");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Link a page that does not exist");
    let line = line_of(&child, "../setup.md");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "broken-link", path: "docs/guide/child.md", line, severity: "error", new: true },
    );
}

#[test]
fn broken_image_in_a_figure_and_dangling_export_link() {
    let repo = clean_space();
    let child = format!(
        "{CHILD}\n<figure><img src=\"../.gitbook/assets/gone.png\" alt=\"\"></figure>\n\nSee [old](/broken/pages/abc123) and [older](broken-reference).\n"
    );
    repo.write("docs/guide/child.md", &child);
    repo.commit("Reference an image that is gone");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected {
            rule: "broken-link",
            path: "docs/guide/child.md",
            line: line_of(&child, "gone.png"),
            severity: "error",
            new: true,
        },
    );
    let dangling = findings(&run).into_iter().filter(|f| f["rule"] == "broken-link").count();
    assert_eq!(dangling, 3, "{}", run.context());
}

#[test]
fn a_link_out_of_the_space_is_broken() {
    let repo = clean_space();
    let child = format!("{CHILD}\nThe [code](../../src/main.rs).\n");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Link the code");
    let run = lint(&repo, &gitbook_target(), &[]);
    let line = line_of(&child, "main.rs");
    assert_finding(
        &run,
        &Expected { rule: "broken-link", path: "docs/guide/child.md", line, severity: "error", new: true },
    );
}

#[test]
fn links_in_code_are_not_links() {
    let repo = clean_space();
    repo.write(
        "docs/guide/child.md",
        &format!("{CHILD}\n```markdown\nSee [the setup](../setup.md).\n{{% hint style=\"tip\" %}}\n```\n\nWrite `[x](../setup.md)` or `{{% hint %}}`.\n\n    [indented](../setup.md)\n\n<pre class=\"language-markdown\"><code class=\"lang-markdown\"><strong>## Example\n</strong>\n\n{{% hint style=\"tip\" %}}\n&#x3C;figure>&#x3C;img src=\"../gone.png\" alt=\"\">&#x3C;/figure>\n</code></pre>\n\nAfter the code.\n"),
    );
    repo.commit("Show link and block syntax in code");
    assert_no_findings(&lint(&repo, &gitbook_target(), &[]));
}

#[test]
fn front_matter_not_yaml() {
    let repo = clean_space();
    let child = format!("---\ndescription: Setup: the first steps\n---\n\n{CHILD}");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Describe the page with an unquoted colon");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "front-matter", path: "docs/guide/child.md", line: 2, severity: "error", new: true },
    );
}

#[test]
fn front_matter_wrong_type_and_misplaced() {
    let repo = clean_space();
    let child = format!("---\ndescription: Fine\nhidden: maybe\n---\n\n{CHILD}");
    repo.write("docs/guide/child.md", &child);
    repo.write("docs/README.md", "\n---\ndescription: Too low\n---\n# Home\n");
    repo.commit("Front matter problems");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "front-matter", path: "docs/guide/child.md", line: 3, severity: "error", new: true },
    );
    assert_finding(
        &run,
        &Expected { rule: "front-matter", path: "docs/README.md", line: 2, severity: "error", new: true },
    );
}

#[test]
fn block_unclosed() {
    let repo = clean_space();
    let child = format!("{CHILD}\n{{% hint style=\"warning\" %}}\nNever closed.\n");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Open a hint");
    let line = line_of(&child, "{% hint");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "block-unclosed", path: "docs/guide/child.md", line, severity: "error", new: true },
    );
}

#[test]
fn block_closed_out_of_order() {
    let repo = clean_space();
    let child = format!("{CHILD}\n{{% tabs %}}\n{{% tab title=\"A\" %}}\nA\n{{% endtabs %}}\n{{% endtab %}}\n");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Close the tabs before the tab");
    let run = lint(&repo, &gitbook_target(), &[]);
    let line = line_of(&child, "{% tab title");
    assert_finding(
        &run,
        &Expected { rule: "block-unclosed", path: "docs/guide/child.md", line, severity: "error", new: true },
    );
}

#[test]
fn block_attribute() {
    let repo = clean_space();
    let child = format!("{CHILD}\n{{% hint style=\"tip\" %}}\nA tip.\n{{% endhint %}}\n");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Use a style GitBook lacks");
    let line = line_of(&child, "{% hint");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected { rule: "block-attribute", path: "docs/guide/child.md", line, severity: "warning", new: true },
    );
}

#[test]
fn moved_without_redirect() {
    let repo = clean_space();
    repo.mv("docs/guide/child.md", "docs/guide/kid.md");
    repo.write("docs/SUMMARY.md", &SUMMARY.replace("guide/child.md", "guide/kid.md"));
    repo.write("docs/guide.md", &GUIDE.replace("guide/child.md", "guide/kid.md"));
    repo.commit("Rename the child page");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_finding(
        &run,
        &Expected {
            rule: "moved-without-redirect",
            path: "docs/guide/child.md",
            line: 1,
            severity: "warning",
            new: true,
        },
    );
    let fix = findings(&run).into_iter().find(|f| f["rule"] == "moved-without-redirect").map(|f| f["fix"].clone());
    assert!(
        fix.as_ref()
            .and_then(Value::as_str)
            .is_some_and(|f| f.starts_with("add under `redirects:`") && f.ends_with("\n  guide/child: guide/kid.md")),
        "the fix is the line to paste under the file's own redirects: {fix:?}"
    );

    // With the redirect in place, nothing is reported.
    repo.write("docs/.gitbook.yaml", &format!("{GITBOOK_YAML}  guide/child: guide/kid.md\n"));
    repo.commit("Redirect the old path");
    let run = lint(&repo, &gitbook_target(), &["--from", "HEAD~2"]);
    assert!(findings(&run).iter().all(|f| f["rule"] != "moved-without-redirect"), "{}", run.context());
}

#[test]
fn dot_yaml() {
    let repo = clean_space();
    repo.write("docs/api/config.yaml", "name: api\nitems: [a, b\n");
    repo.commit("Add a broken YAML file");
    let env = with(
        Env::new(),
        &[("DOCSYNC_DOT_WEBHOOK_URL", "https://example.invalid/hooks/gitlab"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")],
    );
    let run = lint(&repo, &env, &[]);
    let found = findings(&run);
    let finding = found.iter().find(|f| f["rule"] == "dot-yaml").unwrap_or_else(|| panic!("{}", run.context()));
    assert_eq!(finding["path"], "docs/api/config.yaml");
    assert_eq!(finding["target"], "dot");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["new"], true);
    assert!(finding["line"].as_u64().is_some_and(|l| l >= 2), "{finding:#}");
    // Dot targets get only the YAML rules: the GitBook rules are not theirs.
    assert!(found.iter().all(|f| f["target"] == "dot" && f["rule"] == "dot-yaml"), "{}", run.context());
    run.assert_code(1);
}

#[test]
fn existing_errors_do_not_fail_but_strict_does() {
    let repo = clean_space();
    let child = format!("{CHILD}\nSee [the setup](../setup.md) too.\n");
    repo.write("docs/guide/child.md", &child);
    repo.commit("Link a page that does not exist");
    repo.write("src/main.rs", "fn main() {}\n");
    repo.commit("Change code only");
    let run = lint(&repo, &gitbook_target(), &[]);
    let line = line_of(&child, "../setup.md");
    assert_finding(
        &run,
        &Expected { rule: "broken-link", path: "docs/guide/child.md", line, severity: "error", new: false },
    );
    lint(&repo, &gitbook_target(), &["--strict"]).assert_code(1);
}

#[test]
fn the_head_commit_is_read_unless_worktree() {
    let repo = clean_space();
    repo.write("docs/guide/child.md", &format!("{CHILD}\nEdited.\n"));
    repo.commit("Edit");
    // Uncommitted: invisible to the head commit, seen with --worktree.
    repo.write("docs/guide/child.md", &format!("{CHILD}\n[gone](gone.md)\n"));
    assert_no_findings(&lint(&repo, &gitbook_target(), &[]));
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    assert!(findings(&run).iter().any(|f| f["rule"] == "broken-link"), "{}", run.context());
}

#[test]
fn a_site_file_lists_the_spaces() {
    let repo = TestRepo::new();
    repo.write("docs.yaml", SITE_FILE);
    repo.write(".gitbook.yaml", "");
    repo.write("documentation/README.md", "# Docs\n");
    repo.write("documentation/SUMMARY.md", "* [Docs](README.md)\n");
    repo.write("developers/README.md", "# Developers\n");
    repo.write("developers/SUMMARY.md", "* [Developers](README.md)\n");
    repo.commit("A site with two synced spaces");
    repo.write("developers/orphan.md", "# Not listed\n");
    repo.write("documentation/README.md", "# Docs\n\n[Developers](../developers/README.md)\n");
    repo.commit("Add a page and a cross-space link");
    let run = lint(&repo, &Env::new(), &[]);
    let found = findings(&run);
    let rules: Vec<(&str, &str)> =
        found.iter().map(|f| (f["rule"].as_str().unwrap_or(""), f["path"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        rules,
        [("page-not-in-summary", "developers/orphan.md"), ("broken-link", "documentation/README.md")],
        "{}",
        run.context()
    );

    repo.write(
        "docs.yaml",
        &std::fs::read_to_string(repo.path.join("docs.yaml")).expect("read").replace("key: space-3", "key: space-1"),
    );
    repo.commit("Reuse a key");
    let run = lint(&repo, &Env::new(), &[]);
    assert!(
        findings(&run).iter().any(|f| f["rule"] == "gitbook-config" && f["path"] == "docs.yaml" && f["new"] == true),
        "{}",
        run.context()
    );
    run.assert_code(1);
}

// ---------------------------------------------------------------------------
// The GitLab Code Quality report

fn code_quality(repo: &TestRepo, name: &str) -> Vec<Value> {
    let env = with(gitbook_target(), &[("DOCSYNC_CODEQUALITY", name)]);
    lint(repo, &env, &["--from", "HEAD~2"]);
    let text = std::fs::read_to_string(repo.path.join(name)).unwrap_or_else(|e| panic!("no report {name}: {e}"));
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {text}"));
    report.as_array().unwrap_or_else(|| panic!("a Code Quality report is a JSON array: {text}")).clone()
}

fn fingerprints(issues: &[Value]) -> Vec<String> {
    let mut prints: Vec<String> = issues.iter().map(|i| i["fingerprint"].as_str().unwrap_or("").to_owned()).collect();
    prints.sort();
    prints
}

#[test]
fn code_quality_report_follows_gitlabs_format() {
    let repo = clean_space();
    let child = format!("{CHILD}\n[a](gone.md) [b](gone.md)\n\n{{% hint style=\"tip\" %}}\nx\n{{% endhint %}}\n");
    repo.write("docs/guide/child.md", &child);
    repo.write("docs/orphan.md", "# Orphan\n");
    repo.commit("Several findings");
    repo.write("README.md", "# Project, edited\n");
    repo.commit("Unrelated");

    let first = code_quality(&repo, "cq-1.json");
    assert_eq!(first.len(), 4, "{first:#?}");
    for issue in &first {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].as_str().is_some_and(|v| !v.is_empty()), "{key} missing: {issue:#}");
        }
        assert!(["major", "minor"].contains(&issue["severity"].as_str().unwrap_or("")), "{issue:#}");
        assert!(issue["location"]["path"].as_str().is_some_and(|p| p.starts_with("docs/")), "{issue:#}");
        assert!(issue["location"]["lines"]["begin"].as_u64().is_some_and(|l| l >= 1), "{issue:#}");
    }
    let severities: Vec<(&str, &str)> =
        first.iter().map(|i| (i["check_name"].as_str().unwrap_or(""), i["severity"].as_str().unwrap_or(""))).collect();
    assert!(severities.contains(&("broken-link", "major")), "{severities:?}");
    assert!(severities.contains(&("block-attribute", "minor")), "{severities:?}");
    let prints = fingerprints(&first);
    let mut unique = prints.clone();
    unique.dedup();
    assert_eq!(prints, unique, "fingerprints are unique, even for two identical links in one file");

    // Two runs agree.
    assert_eq!(prints, fingerprints(&code_quality(&repo, "cq-2.json")));

    // Moving the findings down the page keeps their fingerprints.
    repo.write("docs/guide/child.md", &child.replace("# Child\n", "# Child\n\nA new paragraph.\n\nAnother one.\n"));
    repo.commit("Move everything down");
    let moved = code_quality(&repo, "cq-3.json");
    assert_ne!(
        moved.iter().map(|i| i["location"]["lines"]["begin"].clone()).collect::<Vec<_>>(),
        first.iter().map(|i| i["location"]["lines"]["begin"].clone()).collect::<Vec<_>>(),
        "the lines moved"
    );
    assert_eq!(prints, fingerprints(&moved));
}

#[test]
fn code_quality_report_is_written_in_ci_by_default_and_can_be_disabled() {
    let repo = clean_space();
    let head = repo.head();
    let env = ci_env(Pipeline::Push { branch: "main", before: common::ZERO_SHA, sha: &head });
    let env = with(
        env,
        &[("DOCSYNC_GITBOOK_SPACE", "spcLint"), ("DOCSYNC_PROJECT_DIRECTORY", "docs"), ("DOCSYNC_REPORT", "none")],
    );
    lint(&repo, &env, &[]).assert_code(0);
    let default = repo.path.join("gl-code-quality-report.json");
    assert_eq!(std::fs::read_to_string(&default).expect("written in CI").trim(), "[]");
    std::fs::remove_file(&default).expect("remove");
    lint(&repo, &with(env, &[("DOCSYNC_CODEQUALITY", "none")]), &[]).assert_code(0);
    assert!(!default.exists(), "DOCSYNC_CODEQUALITY=none writes nothing");
}

#[test]
fn a_bad_lint_mode_is_bad_input() {
    let repo = clean_space();
    let run = lint(&repo, &with(gitbook_target(), &[("DOCSYNC_LINT", "strict")]), &[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("DOCSYNC_LINT") && run.stderr.contains("error") && run.stderr.contains("warn"),
        "{}",
        run.context()
    );
}

// ---------------------------------------------------------------------------
// `sync` against Prism

fn prism() -> &'static Prism {
    common::prism::shared()
}

/// A push whose commit adds a broken link, as a sync job sees it.
fn push_with_a_new_error(space: &str, prism: &Prism) -> (TestRepo, Env) {
    let repo = clean_space();
    let before = repo.head();
    repo.write("docs/guide/child.md", &format!("{CHILD}\nSee [the setup](../setup.md) too.\n"));
    let head = repo.commit("Link a page that does not exist");
    let env = with(
        ci_env(Pipeline::Push { branch: "main", before: &before, sha: &head }),
        &[
            ("DOCSYNC_GITBOOK_SPACE", space),
            ("DOCSYNC_GITBOOK_TOKEN", "gbtok-lint-prism"),
            ("DOCSYNC_GIT_TOKEN", "gittok-lint-prism"),
            ("DOCSYNC_GITBOOK_API_URL", &prism.api_url()),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_WAIT", "false"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_REPORT", "none"),
        ],
    );
    (repo, env)
}

fn sync(repo: &TestRepo, env: &Env) -> Run {
    let mut command = repo.docsync(&["sync", "--format", "json"]);
    command.envs(env);
    run_to_end(command)
}

#[test]
fn sync_sends_no_import_when_the_preflight_finds_a_new_error() {
    let prism = prism();
    let (repo, env) = push_with_a_new_error("spcLintStops", prism);
    let run = sync(&repo, &env);
    run.assert_code(1);
    let result = run.json();
    let outcome = &result["targets"][0]["outcome"];
    assert_eq!(outcome["status"], "failed", "{result:#}");
    assert_eq!(outcome["findings"][0]["rule"], "broken-link", "{result:#}");
    assert!(run.stderr.contains("docs/guide/child.md:"), "the findings are listed in the log:\n{}", run.context());
    assert!(
        !prism.log_for_space("spcLintStops").contains("git/import"),
        "no import may reach GitBook:\n{}",
        prism.log_for_space("spcLintStops")
    );
    // The Code Quality report is written for the merge request widget.
    let report = std::fs::read_to_string(repo.path.join("gl-code-quality-report.json")).expect("written in CI");
    assert!(report.contains("broken-link"), "{report}");
}

#[test]
fn sync_imports_anyway_with_lint_warn_or_force() {
    let prism = prism();
    for (space, extra, args) in [
        ("spcLintWarn", vec![("DOCSYNC_LINT", "warn")], vec![]),
        ("spcLintForce", vec![], vec!["--force"]),
        ("spcLintOff", vec![("DOCSYNC_LINT", "off")], vec![]),
    ] {
        let (repo, env) = push_with_a_new_error(space, prism);
        let mut command = repo.docsync(&[&["sync", "--format", "json"][..], &args[..]].concat());
        // Prism's example live revision names a commit no branch holds: the
        // import goes ahead only with gitbook_edits = overwrite.
        command.envs(with(with(env, &extra), &[("DOCSYNC_GITBOOK_EDITS", "overwrite")]));
        let run = run_to_end(command);
        run.assert_code(0);
        assert!(
            prism.logs_for_space(space, &format!("post /spaces/{space}/git/import")),
            "{space}: the import reaches GitBook:\n{}",
            prism.log()
        );
        let outcome = &run.json()["targets"][0]["outcome"];
        assert_eq!(outcome["status"], "queued", "{outcome:#}");
        if space == "spcLintOff" {
            assert!(outcome.get("findings").is_none(), "off means no pre-flight: {outcome:#}");
        } else {
            assert_eq!(outcome["findings"][0]["rule"], "broken-link", "{outcome:#}");
        }
    }
}

// ---------------------------------------------------------------------------
// The merge request note

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_preview_lists_its_new_findings_in_the_merge_request_note() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, Request, ResponseTemplate};

    let server = common::mock_server().await;
    let notes = "/api/v4/projects/42/merge_requests/7/notes";
    // docsync updates only a note of the token's own user: it asks who that is.
    Mock::given(method("GET"))
        .and(path("/api/v4/user"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"id": 5, "username": "project_42_bot", "name": "docsync", "bot": true}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(notes))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(notes))
        .respond_with(|request: &Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            ResponseTemplate::new(201).set_body_json(serde_json::json!({"id": 9, "body": sent["body"]}))
        })
        .mount(&server)
        .await;

    let repo = clean_space();
    let base = repo.head();
    repo.write("docs/guide/child.md", &format!("{CHILD}\nSee [the setup](../setup.md) too.\n"));
    let head = repo.commit("Link a page that does not exist");
    let env = with(
        ci_env(Pipeline::MergeRequest { iid: 7, diff_base: &base, sha: &head, source_branch_sha: None }),
        &[
            ("CI_API_V4_URL", &format!("{}/api/v4", server.uri())),
            ("CI_PROJECT_ID", "42"),
            ("DOCSYNC_GITLAB_TOKEN", "glpat-lint-note-token"),
            ("DOCSYNC_GITBOOK_SPACE", "spcLintNote"),
            ("DOCSYNC_GITBOOK_TOKEN", "gbtok-lint-note"),
            ("DOCSYNC_GIT_TOKEN", "gittok-lint-note"),
            ("DOCSYNC_GITBOOK_API_URL", &server.uri()),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_REPORT", "none"),
        ],
    );
    let mut command = repo.docsync(&["sync", "--format", "json"]);
    command.envs(&env);
    let run = common::run_in_background(command, std::time::Duration::from_secs(120)).await;
    run.assert_code(1);
    assert_eq!(run.json()["targets"][0]["outcome"]["status"], "failed", "{}", run.context());

    let received = server.received_requests().await.unwrap_or_default();
    assert!(received.iter().all(|r| !r.url.path().contains("/git/")), "nothing may reach GitBook: {received:?}");
    let posted: Vec<&Request> =
        received.iter().filter(|r| r.method.as_str() == "POST" && r.url.path() == notes).collect();
    assert_eq!(posted.len(), 1, "{}", run.context());
    let body: Value = serde_json::from_slice(&posted[0].body).expect("the note is JSON");
    let text = body["body"].as_str().unwrap_or_default();
    for part in ["**failed**", "**Docs pre-flight**: 1 new finding", "`docs/guide/child.md:", "[`broken-link`]"] {
        assert!(text.contains(part), "the note should contain {part:?}:\n{text}");
    }
}

// ---------------------------------------------------------------------------
// A Code Quality report that cannot be written

/// A push that changes a page and breaks nothing: the pre-flight passes and
/// the import is sent.
fn clean_push(space: &str, prism: &Prism) -> (TestRepo, Env) {
    let (repo, env) = push_with_a_new_error(space, prism);
    repo.write("docs/guide/child.md", &format!("{CHILD}\nOne more sentence.\n"));
    let before = repo.git(&["rev-parse", "HEAD"]);
    let head = repo.commit("Fix the link");
    let env = with(env, &[("CI_COMMIT_SHA", &head), ("CI_COMMIT_BEFORE_SHA", before.trim())]);
    (repo, env)
}

#[test]
fn an_unwritable_code_quality_path_stops_lint_and_sync_before_anything_runs() {
    let prism = prism();
    let (repo, env) = clean_push("spcLintCqPath", prism);
    let missing = repo.outside_dir("cq").join("no-such-directory").join("cq.json");
    let env = with(env, &[("DOCSYNC_CODEQUALITY", &missing.display().to_string())]);

    for command in ["sync", "lint"] {
        let mut docsync = repo.docsync(&[command, "--format", "json"]);
        docsync.envs(&env);
        let run = run_to_end(docsync);
        run.assert_code(4);
        assert!(
            run.stderr.contains("DOCSYNC_CODEQUALITY") && run.stderr.contains("no-such-directory"),
            "{command}: the error names the variable and the path:\n{}",
            run.context()
        );
        assert!(run.stderr.contains("fix:"), "{command}: the error says what to do:\n{}", run.context());
        assert!(
            !run.stderr.contains("docs pre-flight:"),
            "{command}: checked before the pre-flight ran:\n{}",
            run.context()
        );
    }
    assert_eq!(prism.log_for_space("spcLintCqPath"), "", "nothing may reach GitBook");
}

#[test]
fn a_code_quality_report_that_fails_to_write_still_syncs_and_prints_the_result() {
    let prism = prism();
    let (repo, env) = clean_push("spcLintCqFull", prism);
    let report = repo.outside_dir("cq-full").join("docsync.env");
    // Prism's example live revision names a commit no branch holds: the
    // import goes ahead only with gitbook_edits = overwrite.
    let env = with(
        env,
        &[
            ("DOCSYNC_CODEQUALITY", "/dev/full"),
            ("DOCSYNC_REPORT", &report.display().to_string()),
            ("DOCSYNC_GITBOOK_EDITS", "overwrite"),
        ],
    );

    let run = sync(&repo, &env);

    run.assert_code(4);
    assert_eq!(run.json()["targets"][0]["outcome"]["status"], "queued", "{}", run.context());
    assert!(run.stderr.contains("DOCSYNC_CODEQUALITY"), "{}", run.context());
    let dotenv = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(dotenv.contains("DOCSYNC_STATUS="), "the dotenv report is written: {dotenv:?}\n{}", run.context());
    assert!(prism.logs_for_space("spcLintCqFull", "post /spaces/spcLintCqFull/git/import"), "{}", prism.log());
}

// ---------------------------------------------------------------------------
// Large files

#[test]
fn a_large_yaml_file_without_aliases_is_valid() {
    let repo = clean_space();
    // 110,000 values and no alias: GitBook and Dot read it; so must the
    // pre-flight. (Kept to 440 KB so that the unoptimised test binary
    // parses it quickly; `lint::yaml`'s unit tests hold the bounds.)
    repo.write("docs/api/items.yaml", &"- item\n".repeat(110_000));
    repo.commit("Add a long list");
    let env = with(
        Env::new(),
        &[("DOCSYNC_DOT_WEBHOOK_URL", "https://example.invalid/hooks/gitlab"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")],
    );
    let run = lint(&repo, &env, &[]);
    assert_no_findings(&run);
}
