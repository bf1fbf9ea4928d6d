//! The docs pre-flight must never block an import falsely. Each case is a
//! shape found in real GitBook repositories
//! (an email autolink, a commented-out image, a `{%` inside a Grafana URL,
//! `/`-prefixed SUMMARY entries, a zero-width space copied from GitBook's
//! sample `.gitbook.yaml`, a directory name that is not UTF-8), built as a
//! small repository; and each fix the pre-flight suggests is pasted as it
//! says and linted again.

use crate::common;

use std::time::Duration;

use serde_json::Value;

use common::prism::Prism;
use common::{Env, Pipeline, Run, TestRepo, ci_env, findings, run_to_end, with};

const SUMMARY: &str = "# Table of contents\n\n* [Home](README.md)\n* [Guide](guide.md)\n";

/// A repository whose first commit holds a clean space in `docs/`.
fn clean_space() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("docs/.gitbook.yaml", "root: ./\nredirects:\n  old-guide: guide.md\n");
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.md).\n");
    repo.write("docs/SUMMARY.md", SUMMARY);
    repo.write("docs/guide.md", "# Guide\n");
    repo.commit("A clean space");
    repo
}

fn gitbook_target() -> Env {
    with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcFalse"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")])
}

/// `docsync lint --format json` outside CI: the range is HEAD~1..HEAD.
fn lint(repo: &TestRepo) -> Run {
    common::lint(repo, &gitbook_target(), &[])
}

fn assert_clean(run: &Run) {
    assert!(findings(run).is_empty(), "expected no finding:\n{}", run.context());
    run.assert_code(0);
}

/// The only finding of the run, of the given rule.
fn only_finding(run: &Run, rule: &str) -> Value {
    let all = findings(run);
    assert_eq!(all.len(), 1, "expected one finding:\n{}", run.context());
    assert_eq!(all[0]["rule"], rule, "{}", run.context());
    all[0].clone()
}

/// The first finding of `rule`, among others.
fn first_finding(run: &Run, rule: &str) -> Value {
    let all = findings(run);
    all.iter().find(|f| f["rule"] == rule).cloned().unwrap_or_else(|| panic!("no {rule} finding:\n{}", run.context()))
}

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

fn fix(finding: &Value) -> &str {
    finding["fix"].as_str().unwrap_or_default()
}

// ---------------------------------------------------------------------------
// what is not a link, and what is not a tag

#[test]
fn email_autolinks_are_addresses_not_files() {
    let repo = clean_space();
    repo.write("docs/guide.md", "# Guide\n\nWrite to <support@example.com> or <mailto:sales@example.com>.\n");
    repo.commit("Add a contact");
    assert_clean(&lint(&repo));
}

#[test]
fn links_inside_html_comments_are_not_checked() {
    let repo = clean_space();
    let guide = "# Guide\n\n<!-- <img src=\"old.png\"> -->\n\n<!--\n<figure><img src=\".gitbook/assets/older.png\" alt=\"\"></figure>\n{% hint style=\"info\" %}\n-->\n\nText <!-- <a href=\"gone.md\">gone</a> --> and more.\n\n<img src=\"missing.png\">\n";
    repo.write("docs/guide.md", guide);
    repo.commit("Comment out old images");
    let run = lint(&repo);
    // The image outside the comments is still checked, on its own line.
    let finding = only_finding(&run, "broken-link");
    assert!(message(&finding).contains("missing.png"), "{finding:#}");
    assert_eq!(finding["line"], 12, "{finding:#}");
}

#[test]
fn a_percent_brace_inside_a_url_is_no_tag() {
    let repo = clean_space();
    let url = "[Explore](https://grafana.example.com/explore?left={%22datasource%22:%22loki%22})";
    repo.write(
        "docs/guide.md",
        &format!("# Guide\n\n{url}\n\n{{% hint style=\"info\" %}}\nA hint.\n{{% endhint %}}\n"),
    );
    repo.commit("Link a Grafana query");
    assert_clean(&lint(&repo));

    // …and it no longer hides an unclosed block behind it.
    repo.write("docs/guide.md", &format!("# Guide\n\n{url}\n\n{{% hint style=\"info\" %}}\nA hint.\n"));
    repo.commit("Lose the end of the hint");
    let run = lint(&repo);
    let finding = only_finding(&run, "block-unclosed");
    assert_eq!(finding["line"], 5, "{finding:#}");
    run.assert_code(1);
}

#[test]
fn a_page_of_embeds_and_stray_end_tags_is_checked_in_linear_time() {
    let repo = clean_space();
    // 4 MB: 50,000 open embeds (which may stay open) and 50,000 end tags
    // closing nothing. Quadratic matching takes minutes on this; linear, a
    // fraction of a second.
    let mut page = String::from("# Guide\n\n");
    for i in 0..50_000 {
        page.push_str(&format!("{{% embed url=\"https://example.com/v/{i}\" %}}\n\n{{% endfoo %}}\n\n"));
    }
    repo.write("docs/guide.md", &page);
    repo.commit("Embed many videos");
    let mut command = repo.docsync(&["lint", "--format", "json"]);
    command.envs(gitbook_target()).timeout(Duration::from_secs(30));
    let run = run_to_end(command);
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// SUMMARY entries from the space root

#[test]
fn summary_entries_starting_with_a_slash_resolve_from_the_space_root() {
    let repo = clean_space();
    // A page at the repository root of the same name: `/guide.md` must not
    // be taken for it.
    repo.write("guide.md", "# Not the space's guide\n");
    repo.write(
        "docs/SUMMARY.md",
        "# Table of contents\n\n* [Home](/README.md)\n* [Guide](/guide.md)\n* [Gone](/gone.md)\n",
    );
    repo.commit("Site-style summary entries");
    let run = lint(&repo);
    let finding = only_finding(&run, "summary-missing-file");
    assert_eq!(finding["path"], "docs/SUMMARY.md", "{finding:#}");
    assert_eq!(finding["line"], 5, "{finding:#}");
    assert!(message(&finding).contains("docs/gone.md"), "{finding:#}");
}

// ---------------------------------------------------------------------------
// invisible characters in `.gitbook.yaml` keys

#[test]
fn a_zero_width_space_in_a_default_key_is_a_warning_shown_escaped() {
    let repo = clean_space();
    repo.write(
        "docs/.gitbook.yaml",
        // As BrighterCommand/Docs has it: a zero-width space before the key
        // and after the summary's name, trailing spaces.
        "root: ./\n\n\u{200b}structure:  \n    readme: README.md  \n    summary: SUMMARY.md\u{200b}\nredirects:\n  old-guide: guide.md\n",
    );
    repo.commit("GitBook's sample configuration");
    let run = lint(&repo);
    let finding = only_finding(&run, "gitbook-config");
    assert_eq!(finding["severity"], "warning", "{finding:#}");
    assert_eq!(finding["line"], 3, "{finding:#}");
    assert!(message(&finding).contains(r"`\u{200b}structure`"), "escaped: {finding:#}");
    assert!(!message(&finding).contains('\u{200b}'), "{finding:#}");
    assert!(message(&finding).contains("ignores"), "says what GitBook does: {finding:#}");
    run.assert_code(0);
}

#[test]
fn a_zero_width_space_in_a_key_that_matters_is_an_error() {
    let repo = clean_space();
    repo.write("docs/toc.md", SUMMARY);
    repo.write("docs/.gitbook.yaml", "root: ./\n\u{200b}structure:\n  summary: toc.md\n");
    repo.commit("A summary GitBook will not read");
    let run = lint(&repo);
    let finding = &first_finding(&run, "gitbook-config");
    assert_eq!(finding["severity"], "error", "{finding:#}");
    assert!(message(finding).contains(r"\u{200b}structure"), "{finding:#}");
    assert!(message(finding).contains("SUMMARY.md"), "names what GitBook uses instead: {finding:#}");
    run.assert_code(1);
}

#[test]
fn a_zero_width_space_in_a_structure_key_is_shown_escaped_and_downgraded_like_a_top_level_key() {
    let repo = clean_space();
    // The value is GitBook's default: ignoring the key changes nothing.
    repo.write("docs/.gitbook.yaml", "root: ./\nstructure:\n  readme: README.md\n  summary\u{200b}: SUMMARY.md\n");
    repo.commit("GitBook's sample structure, pasted");
    let run = lint(&repo);
    let finding = only_finding(&run, "gitbook-config");
    assert_eq!(finding["severity"], "warning", "{finding:#}");
    assert_eq!(finding["line"], 4, "{finding:#}");
    assert!(message(&finding).contains(r"`structure.summary\u{200b}`"), "escaped: {finding:#}");
    assert!(!message(&finding).contains('\u{200b}'), "{finding:#}");
    assert!(!fix(&finding).contains('\u{200b}'), "{finding:#}");
    run.assert_code(0);

    // Another summary: ignoring the key changes the space.
    repo.write("docs/toc.md", SUMMARY);
    repo.write("docs/.gitbook.yaml", "root: ./\nstructure:\n  summary\u{200b}: toc.md\n");
    repo.commit("A summary GitBook will not read");
    let run = lint(&repo);
    let finding = &first_finding(&run, "gitbook-config");
    assert_eq!(finding["severity"], "error", "{finding:#}");
    assert!(message(finding).contains(r"`structure.summary\u{200b}`"), "escaped: {finding:#}");
    assert!(!message(finding).contains('\u{200b}'), "{finding:#}");
    assert!(message(finding).contains("SUMMARY.md"), "names what GitBook uses instead: {finding:#}");
    run.assert_code(1);
}

// ---------------------------------------------------------------------------
// directory names that are not UTF-8

#[cfg(unix)]
fn with_a_non_utf8_directory() -> (TestRepo, String, String) {
    use std::os::unix::ffi::OsStrExt;
    let repo = clean_space();
    let before = repo.head();
    let dir = repo.path.join(std::ffi::OsStr::from_bytes(b"docs/caf\xe9"));
    std::fs::create_dir_all(&dir).expect("create a non-UTF-8 directory");
    std::fs::write(dir.join("a.md"), "# A\n").expect("write a page into it");
    repo.write("docs/guide.md", "# Guide\n\nMore.\n");
    let head = repo.commit("A directory whose name is Latin-1");
    (repo, before, head)
}

#[cfg(unix)]
#[test]
fn a_directory_name_that_is_not_utf8_is_a_warning_quoted_as_git_quotes_it() {
    let (repo, _, _) = with_a_non_utf8_directory();
    let run = lint(&repo);
    run.assert_code(0);
    assert!(run.stderr.contains(r#""docs/caf\351""#), "quoted as git quotes it:\n{}", run.context());
    let warning = r#"the directory "docs/caf\351" is not UTF-8"#;
    assert_eq!(run.stderr.matches(warning).count(), 1, "one warning for the directory:\n{}", run.context());
}

fn prism() -> &'static Prism {
    common::prism::shared()
}

fn push_env(space: &str, before: &str, head: &str, prism: &Prism) -> Env {
    with(
        ci_env(Pipeline::Push { branch: "main", before, sha: head }),
        &[
            ("DOCSYNC_GITBOOK_SPACE", space),
            ("DOCSYNC_GITBOOK_TOKEN", "gbtok-false-errors"),
            ("DOCSYNC_GIT_TOKEN", "gittok-false-errors"),
            ("DOCSYNC_GITBOOK_API_URL", &prism.api_url()),
            ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
            ("DOCSYNC_WAIT", "false"),
            ("DOCSYNC_RETRIES", "0"),
            ("DOCSYNC_REPORT", "none"),
        ],
    )
}

#[cfg(unix)]
#[test]
fn a_directory_name_that_is_not_utf8_does_not_stop_a_sync() {
    let prism = prism();
    let (repo, before, head) = with_a_non_utf8_directory();
    let mut command = repo.docsync(&["sync", "--format", "json"]);
    command.envs(with(
        push_env("spcNotUtf8", &before, &head, prism), // Prism's example live revision names a commit no branch holds: the
        // import goes ahead only with gitbook_edits = overwrite.
        &[("DOCSYNC_LINT", "warn"), ("DOCSYNC_GITBOOK_EDITS", "overwrite")],
    ));
    let run = run_to_end(command);
    run.assert_code(0);
    assert!(
        prism.logs_for_space("spcNotUtf8", "post /spaces/spcNotUtf8/git/import"),
        "the import reaches GitBook:\n{}",
        prism.log()
    );
}

// ---------------------------------------------------------------------------
// fixes that work when pasted

/// The Markdown the fix of a `page-not-in-summary` finding says to add.
fn summary_line_of(finding: &Value) -> String {
    let fix = fix(finding);
    let line = fix.strip_prefix("add `").and_then(|rest| rest.split_once("` to ")).map(|(line, _)| line);
    line.unwrap_or_else(|| panic!("no summary line in the fix: {finding:#}")).to_owned()
}

#[test]
fn the_summary_line_suggested_for_a_page_with_spaces_works_when_pasted() {
    let repo = clean_space();
    repo.write("docs/my page (draft).md", "# My page\n");
    repo.commit("Add a page with spaces in its name");
    let run = lint(&repo);
    let finding = only_finding(&run, "page-not-in-summary");
    let line = summary_line_of(&finding);

    repo.write("docs/SUMMARY.md", &format!("{SUMMARY}{line}\n"));
    repo.commit("Paste the suggested line");
    assert_clean(&lint(&repo));
}

/// Pastes a `moved-without-redirect` fix as its first line says: under
/// the existing `redirects:` key, or at the end of the file.
fn paste_redirect(config: &str, finding: &Value) -> String {
    let fix = fix(finding);
    let (instruction, lines) = fix.split_once('\n').unwrap_or_else(|| panic!("no lines to paste: {finding:#}"));
    if instruction.contains("under `redirects:`") {
        let (head, tail) = config.split_once("redirects:\n").expect("the file has the key");
        format!("{head}redirects:\n{lines}\n{tail}")
    } else {
        format!("{config}{lines}\n")
    }
}

#[test]
fn the_redirect_suggested_for_a_moved_page_merges_into_the_existing_key() {
    for config in ["root: ./\nredirects:\n  old-guide: README.md\n", "redirects:\n    old-guide: README.md\nroot: ./\n"]
    {
        let repo = clean_space();
        repo.write("docs/.gitbook.yaml", config);
        repo.commit("Redirects, indented as the author likes");
        repo.mv("docs/guide.md", "docs/manual.md");
        repo.write("docs/SUMMARY.md", "# Table of contents\n\n* [Home](README.md)\n* [Manual](manual.md)\n");
        repo.write("docs/README.md", "# Home\n\nStart with the [manual](manual.md).\n");
        repo.commit("Rename the guide");
        let run = lint(&repo);
        let finding = only_finding(&run, "moved-without-redirect");

        let pasted = paste_redirect(config, &finding);
        repo.write("docs/.gitbook.yaml", &pasted);
        repo.commit("Paste the suggested redirect");
        let run = lint(&repo);
        assert_clean(&run);
        assert!(pasted.contains("old-guide") && pasted.matches("redirects:").count() == 1, "{pasted}");
    }
}

// ---------------------------------------------------------------------------
// findings that say what is true

#[test]
fn a_link_that_climbs_out_of_the_space_says_so() {
    let repo = clean_space();
    repo.write("docs/guide.md", "# Guide\n\n[passwords](../../../../etc/passwd)\n");
    repo.commit("Link out of the space");
    let run = lint(&repo);
    let finding = only_finding(&run, "broken-link");
    assert!(message(&finding).contains("leaves the space"), "{finding:#}");
    assert!(!message(&finding).contains("etc/passwd,"), "names no path the user never wrote: {finding:#}");
    assert!(!message(&finding).contains("docs/etc"), "{finding:#}");
}

#[test]
fn a_link_to_a_page_without_md_says_so() {
    let repo = clean_space();
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide#install).\n");
    repo.commit("Drop the extension");
    let run = lint(&repo);
    let finding = only_finding(&run, "broken-link");
    assert!(message(&finding).contains("docs/guide.md"), "{finding:#}");
    assert!(fix(&finding).contains("guide.md#install"), "{finding:#}");

    // A built site's `.html` for the page (BrighterCommand/Docs has dozens).
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.html#install).\n");
    repo.commit("Link the built page");
    let run = lint(&repo);
    let finding = only_finding(&run, "broken-link");
    assert!(message(&finding).contains("the page is docs/guide.md"), "{finding:#}");
    assert!(fix(&finding).contains("`guide.md#install`"), "{finding:#}");
}

#[test]
fn summary_entries_say_what_they_miss() {
    let repo = clean_space();
    repo.write("docs/sub/page.md", "# Page\n");
    let summary = format!("{SUMMARY}* [Page](sub/page.md)\n* [Guide again](/guide)\n* [Sub](/sub/)\n");
    repo.write("docs/SUMMARY.md", &summary);
    repo.commit("Entries without .md, and a folder without a readme");
    let run = lint(&repo);
    let all = findings(&run);
    let messages: Vec<&str> = all.iter().filter(|f| f["rule"] == "summary-missing-file").map(message).collect();
    assert_eq!(messages.len(), 2, "{}", run.context());
    assert!(messages[0].ends_with("the page is docs/guide.md"), "{messages:?}");
    assert!(messages[1].contains("the folder docs/sub, which has no README.md"), "{messages:?}");
}

#[test]
fn broken_reference_with_a_trailing_slash_is_gitbooks_dangling_link() {
    let repo = clean_space();
    repo.write("docs/guide.md", "# Guide\n\nSee [the old page](broken-reference/).\n");
    repo.commit("An export's dangling link");
    let run = lint(&repo);
    let finding = only_finding(&run, "broken-link");
    assert!(message(&finding).contains("dangling"), "{finding:#}");
}

#[test]
fn a_content_ref_and_the_link_inside_it_are_one_finding() {
    let repo = clean_space();
    repo.write(
        "docs/guide.md",
        "# Guide\n\n{% content-ref url=\"gone.md\" %}\n[gone.md](gone.md)\n{% endcontent-ref %}\n",
    );
    repo.commit("Reference a page that is gone");
    let run = lint(&repo);
    let finding = only_finding(&run, "broken-link");
    assert_eq!(finding["line"], 3, "the block's line: {finding:#}");
}

#[test]
fn a_file_name_with_a_newline_cannot_forge_text_output_lines() {
    let repo = clean_space();
    let name = "docs/x\ndocs/forged.md:9: error[broken-link]: forged.md";
    repo.write(name, "# X\n");
    repo.commit("A file name holding a newline");
    let mut command = repo.docsync(&["lint"]);
    command.envs(gitbook_target());
    let run = run_to_end(command);
    run.assert_code(1);
    assert!(!run.stdout.lines().any(|line| line.starts_with("docs/forged.md")), "forged line:\n{}", run.context());
    assert!(run.stdout.contains(r#""docs/x\ndocs/forged.md:9"#), "quoted as git quotes it:\n{}", run.context());
}

#[test]
fn a_target_stopped_by_the_preflight_shows_no_request() {
    let prism = prism();
    let repo = clean_space();
    let before = repo.head();
    repo.write("docs/guide.md", "# Guide\n\n[setup](setup.md)\n");
    let head = repo.commit("Link a page that does not exist");
    let mut command = repo.docsync(&["sync"]);
    command.envs(push_env("spcStopped", &before, &head, prism));
    let run = run_to_end(command);
    run.assert_code(1);
    assert!(run.stdout.contains("nothing was sent"), "{}", run.context());
    assert!(!run.stdout.contains("git/import"), "shows no request it never sent:\n{}", run.context());
    assert!(!prism.log_for_space("spcStopped").contains("git/import"), "{}", prism.log_for_space("spcStopped"));
}

#[test]
fn a_file_name_with_a_newline_cannot_forge_log_lines_of_a_sync() {
    let prism = prism();
    let repo = clean_space();
    let before = repo.head();
    repo.write("docs/x\ndocs/forged.md:9: error[broken-link]: forged.md", "# X\n");
    let head = repo.commit("A file name holding a newline");
    let mut command = repo.docsync(&["sync"]);
    command.envs(push_env("spcForged", &before, &head, prism));
    let run = run_to_end(command);
    run.assert_code(1);
    let forged = |text: &str| text.lines().any(|line| line.starts_with("docs/forged.md"));
    assert!(!forged(&run.stderr) && !forged(&run.stdout), "forged line:\n{}", run.context());
    assert!(
        run.stderr.contains(r#"gitbook: "docs/x\ndocs/forged.md:9"#),
        "quoted as git quotes it:\n{}",
        run.context()
    );
}
