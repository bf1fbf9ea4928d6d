//! What the docs pre-flight calls "new", what `--worktree` reads, and which
//! project directories it refuses.
//!
//! - A finding is new when the range's base did not have it: an old broken
//!   link in a page the range edits is not new, a page the range deletes
//!   breaks the links to it in untouched pages.
//! - `--worktree` answers "will CI block this?": uncommitted and untracked
//!   changes are changes of the range, and files git ignores are not read.
//! - A project directory outside the repository, or a symlink, is bad input
//!   (exit 2), with or without a configured target.

use crate::common;

use serde_json::Value;

use common::{Env, Run, TestRepo, findings, lint, run_to_end, with};

const SUMMARY: &str = common::SPACE_SUMMARY;
const TABLE: &str =
    "# Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nSee [setup](setup.md), [install](install.md) and [run](run.md).\n";

/// A space in `docs/` whose `table.md` holds three broken links: the
/// repository's old errors.
fn space_with_old_errors() -> TestRepo {
    common::space_with_old_errors(TABLE, "A space with three broken links")
}

fn gitbook_target() -> Env {
    with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcNew"), ("DOCSYNC_PROJECT_DIRECTORY", "docs")])
}

/// The findings of one rule: `(path, new)`, in the report's order.
fn of_rule(run: &Run, rule: &str) -> Vec<(String, bool)> {
    findings(run)
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| (f["path"].as_str().unwrap_or("").to_owned(), f["new"].as_bool().unwrap_or(false)))
        .collect()
}

fn owned(expected: &[(&str, bool)]) -> Vec<(String, bool)> {
    expected.iter().map(|(path, new)| ((*path).to_owned(), *new)).collect()
}

// ---- 5. "new" means absent at the base ------------------------------------

#[test]
fn old_errors_in_an_edited_page_are_not_new() {
    let repo = space_with_old_errors();
    repo.write("docs/table.md", &TABLE.replace("| 1 | 2 |", "| 1 | 2 |\n| 3 | 4 |"));
    repo.commit("Fix the table");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_eq!(of_rule(&run, "broken-link"), owned(&[("docs/table.md", false); 3]), "{}", run.context());
    run.assert_code(0);
    // The text says so, and the summary line counts no new error.
    let mut command = repo.docsync(&["lint"]);
    command.envs(gitbook_target());
    let text = run_to_end(command);
    text.assert_code(0);
    assert_eq!(text.stdout.matches("(not new in the range)").count(), 3, "{}", text.context());
    assert!(text.stdout.contains("3 errors, 0 warnings; 0 new errors"), "{}", text.context());
}

#[test]
fn another_link_to_the_same_missing_page_is_new() {
    let repo = space_with_old_errors();
    repo.write("docs/table.md", &format!("{TABLE}\nAgain: [setup](setup.md).\n"));
    repo.commit("Link setup again");
    let run = lint(&repo, &gitbook_target(), &[]);
    // The base had one link to setup.md; the later one in the file is new.
    let links = of_rule(&run, "broken-link");
    assert_eq!(links.iter().filter(|(_, new)| *new).count(), 1, "{}", run.context());
    let new_line = findings(&run).iter().find(|f| f["new"] == true).map(|f| f["line"].clone());
    assert_eq!(new_line, Some(Value::from(9)), "{}", run.context());
    run.assert_code(1);
}

#[test]
fn old_errors_follow_their_page_through_a_rename() {
    let repo = space_with_old_errors();
    repo.mv("docs/table.md", "docs/tables.md");
    repo.write("docs/tables.md", &TABLE.replace("# Table", "# Tables"));
    repo.write("docs/SUMMARY.md", &SUMMARY.replace("table.md", "tables.md"));
    repo.write("docs/guide.md", "# Guide\n\nSee the [table](tables.md).\n");
    repo.commit("Rename the table page");
    let run = lint(&repo, &gitbook_target(), &[]);
    assert_eq!(of_rule(&run, "broken-link"), owned(&[("docs/tables.md", false); 3]), "{}", run.context());
    assert_eq!(of_rule(&run, "moved-without-redirect"), owned(&[("docs/table.md", true)]), "{}", run.context());
    run.assert_code(0);
}

#[test]
fn deleting_a_page_breaks_the_links_of_untouched_pages() {
    let repo = space_with_old_errors();
    repo.remove("docs/guide.md");
    repo.write("docs/SUMMARY.md", &SUMMARY.replace("* [Guide](guide.md)\n", ""));
    repo.commit("Delete the guide");
    let run = lint(&repo, &gitbook_target(), &[]);
    // README.md is untouched, but the range broke its link.
    let links = of_rule(&run, "broken-link");
    assert!(links.contains(&("docs/README.md".to_owned(), true)), "{}", run.context());
    assert_eq!(links.iter().filter(|(_, new)| *new).count(), 1, "{}", run.context());
    run.assert_code(1);
}

#[test]
fn a_page_dropped_from_the_summary_is_new() {
    let repo = space_with_old_errors();
    repo.write("docs/SUMMARY.md", &SUMMARY.replace("* [Table](table.md)\n", ""));
    repo.commit("Drop the table from the summary");
    let run = lint(&repo, &gitbook_target(), &[]);
    let dropped = findings(&run).into_iter().find(|f| f["rule"] == "page-not-in-summary");
    let dropped = dropped.unwrap_or_else(|| panic!("{}", run.context()));
    assert_eq!(
        (&dropped["path"], &dropped["new"], &dropped["severity"]),
        (&"docs/table.md".into(), &true.into(), &"error".into())
    );
    run.assert_code(1);
}

#[test]
fn without_a_base_in_the_clone_a_touched_file_s_findings_are_new() {
    let repo = space_with_old_errors();
    repo.write("docs/table.md", &TABLE.replace("| 1 | 2 |", "| 1 | 2 |\n| 3 | 4 |"));
    repo.commit("Fix the table");
    // The base (HEAD~1) is beyond the shallow clone: no base findings to
    // compare with, so the file rule applies (documented).
    let shallow = repo.clone_shallow("shallow", 1);
    let run = lint(&shallow, &gitbook_target(), &[]);
    assert!(of_rule(&run, "broken-link").iter().all(|(_, new)| *new), "{}", run.context());
    run.assert_code(1);
}

// ---- 6. --worktree: what CI will see --------------------------------------

/// The space with old errors, then a commit editing the guide: the range
/// HEAD~1..HEAD touches only docs/guide.md.
fn space_then_an_edit() -> TestRepo {
    let repo = space_with_old_errors();
    repo.write("docs/guide.md", "# Guide\n\nSee the [table](table.md), then go [home](README.md).\n");
    repo.commit("Link home");
    repo
}

#[test]
fn uncommitted_and_untracked_changes_are_changes_of_the_range() {
    let repo = space_then_an_edit();
    // Uncommitted: a broken link in the readme, a page left out of the
    // summary (untracked), a page deleted without a redirect.
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.md) or [the tour](tour.md).\n");
    repo.write("docs/orphan.md", "# Orphan\n");
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    assert_eq!(
        of_rule(&run, "broken-link").iter().filter(|(_, new)| *new).collect::<Vec<_>>(),
        [&("docs/README.md".to_owned(), true)],
        "{}",
        run.context()
    );
    let orphan = findings(&run).into_iter().find(|f| f["rule"] == "page-not-in-summary");
    assert_eq!(
        orphan.as_ref().map(|f| (&f["path"], &f["new"], &f["severity"])),
        Some((&"docs/orphan.md".into(), &true.into(), &"error".into())),
        "{}",
        run.context()
    );
    run.assert_code(1);
    // The table's old links stay old.
    assert!(of_rule(&run, "broken-link").contains(&("docs/table.md".to_owned(), false)), "{}", run.context());

    // A page deleted (not staged) and one renamed (staged) in the working tree.
    std::fs::remove_file(repo.path.join("docs/orphan.md")).unwrap();
    repo.write("docs/README.md", "# Home\n\nStart with the [guide](guide.md).\n");
    std::fs::remove_file(repo.path.join("docs/guide.md")).unwrap();
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    assert_eq!(of_rule(&run, "moved-without-redirect"), owned(&[("docs/guide.md", true)]), "{}", run.context());
}

#[test]
fn old_errors_in_a_page_edited_in_the_worktree_are_not_new() {
    let repo = space_then_an_edit();
    repo.write("docs/table.md", &TABLE.replace("| 1 | 2 |", "| 1 | 2 |\n| 3 | 4 |"));
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    assert_eq!(of_rule(&run, "broken-link"), owned(&[("docs/table.md", false); 3]), "{}", run.context());
    run.assert_code(0);
    // A staged rename keeps them old too.
    repo.mv("docs/table.md", "docs/tables.md");
    repo.write("docs/SUMMARY.md", &SUMMARY.replace("table.md", "tables.md"));
    repo.write("docs/guide.md", "# Guide\n\nSee the [table](tables.md), then go [home](README.md).\n");
    repo.write("docs/.gitbook.yaml", "redirects:\n  table: tables.md\n");
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    assert_eq!(of_rule(&run, "broken-link"), owned(&[("docs/tables.md", false); 3]), "{}", run.context());
    run.assert_code(0);
}

#[test]
fn the_worktree_is_read_only_as_the_range_s_head() {
    let repo = space_then_an_edit();
    let run = lint(&repo, &gitbook_target(), &["--worktree", "--to", "HEAD~1"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--worktree") && run.stderr.contains("fix:"), "{}", run.context());
}

#[test]
fn files_git_ignores_are_not_read() {
    let repo = space_then_an_edit();
    repo.write(".gitignore", "docs/drafts/\n*.tmp.md\n");
    repo.write("docs/drafts/idea.md", "# Idea\n\n[nowhere](nowhere.md)\n");
    repo.write("docs/scratch.tmp.md", "{% hint style=\"info\" %}\nnever closed\n");
    let run = lint(&repo, &gitbook_target(), &["--worktree"]);
    let all = findings(&run);
    assert!(
        all.iter().all(|f| !f["path"].as_str().unwrap_or("").contains("drafts")
            && !f["path"].as_str().unwrap_or("").contains("tmp")),
        "ignored files were read: {}",
        run.context()
    );
    run.assert_code(0);
}

// ---- 7. safe inputs -------------------------------------------------------

#[test]
fn a_project_directory_outside_the_repository_is_bad_input_without_a_target() {
    let repo = space_with_old_errors();
    let run = lint(&repo, &Env::new(), &["--project-directory", "../../outside"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--project-directory = \"../../outside\""), "names the flag: {}", run.context());
    assert!(run.stderr.contains("not a plain directory inside the repository"), "{}", run.context());

    let run = lint(&repo, &with(Env::new(), &[("DOCSYNC_PROJECT_DIRECTORY", "../..")]), &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("DOCSYNC_PROJECT_DIRECTORY = \"../..\""), "names the variable: {}", run.context());
    // Said once, not once per place that reads it.
    assert_eq!(run.stderr.matches("DOCSYNC_PROJECT_DIRECTORY = ").count(), 1, "{}", run.context());

    // The same value with a configured target: the same refusal, once.
    let env = with(Env::new(), &[("DOCSYNC_GITBOOK_SPACE", "spcNew"), ("DOCSYNC_PROJECT_DIRECTORY", "../..")]);
    let run = lint(&repo, &env, &[]);
    run.assert_code(2);
    assert_eq!(run.stderr.matches("DOCSYNC_PROJECT_DIRECTORY = ").count(), 1, "{}", run.context());
}

#[test]
fn lint_without_a_target_reads_the_project_directory_of_docsync_toml() {
    let repo = space_with_old_errors();
    // No readme at the repository root: checking the root would report it.
    repo.write("docsync.toml", "[defaults]\nproject_directory = \"docs\"\n");
    repo.write("docs/guide.md", "# Guide\n\nSee the [table](table.md), then go [home](README.md).\n");
    repo.commit("Link home");
    let run = lint(&repo, &Env::new(), &[]);
    run.assert_code(0);
    let all = findings(&run);
    assert!(!all.is_empty(), "the old broken links are reported: {}", run.context());
    assert!(all.iter().all(|f| f["path"].as_str().is_some_and(|p| p.starts_with("docs/"))), "{}", run.context());
}

#[cfg(unix)]
#[test]
fn a_symlinked_project_directory_is_bad_input_in_the_worktree() {
    let repo = space_with_old_errors();
    let outside = repo.outside_dir("outside");
    std::fs::write(outside.join("README.md"), "# Outside\n").unwrap();
    std::os::unix::fs::symlink(&outside, repo.path.join("linked")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.path.join("docs/inner")).unwrap();
    for (env, shown) in [
        (with(Env::new(), &[("DOCSYNC_PROJECT_DIRECTORY", "linked")]), "DOCSYNC_PROJECT_DIRECTORY"),
        (with(gitbook_target(), &[("DOCSYNC_PROJECT_DIRECTORY", "linked")]), "target gitbook"),
        (with(gitbook_target(), &[("DOCSYNC_PROJECT_DIRECTORY", "docs/inner/")]), "target gitbook"),
    ] {
        let run = lint(&repo, &env, &["--worktree"]);
        run.assert_code(2);
        assert!(run.stderr.contains(shown) && run.stderr.contains("symbolic link"), "{}", run.context());
        assert!(run.stderr.contains("fix:"), "{}", run.context());
    }
}
