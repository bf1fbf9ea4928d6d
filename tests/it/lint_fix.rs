//! `docsync lint --fix`: the mechanical fixes written into the working
//! tree and printed as a unified diff. Each fix kind on the space of
//! `lint.rs` (excerpts of GitBook's own documentation repository) and on
//! GitBook's `docs.yaml` site shape: afterwards `lint` reports none of the
//! fixed findings and a second `--fix` changes nothing. Files with
//! uncommitted changes are refused without `--allow-dirty`, `--dry-run`
//! writes nothing, and no file is written through a symbolic link.

use crate::common;
use crate::lint::{CHILD, GITBOOK_YAML, GUIDE, SITE_FILE, SUMMARY, clean_space, gitbook_target};

use std::os::unix::fs::PermissionsExt as _;

use common::{Env, Run, TestRepo, findings, lint, run_to_end};

/// `docsync lint --fix` (text) with the GitBook target and `extra`
/// arguments; outside CI the range is HEAD~1..HEAD.
fn lint_fix(repo: &TestRepo, env: &Env, extra: &[&str]) -> Run {
    let mut args = vec!["lint", "--fix"];
    args.extend_from_slice(extra);
    let mut command = repo.docsync(&args);
    command.envs(env);
    run_to_end(command)
}

fn read(repo: &TestRepo, path: &str) -> String {
    std::fs::read_to_string(repo.path.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// `git status --porcelain`, untracked files included.
fn status(repo: &TestRepo) -> String {
    repo.git(&["status", "--porcelain", "--untracked-files=all"])
}

/// The rules of a `lint --format json` run's findings, with their paths.
fn rules(run: &Run) -> Vec<(String, String)> {
    findings(run)
        .iter()
        .map(|f| (f["rule"].as_str().unwrap_or("").to_owned(), f["path"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// The clean space with its child page renamed, and nothing else changed:
/// a redirect missing, a summary entry and two links (one a content-ref
/// block) pointing at the old path, so the new path is unlisted.
fn space_with_a_renamed_page() -> TestRepo {
    let repo = clean_space();
    repo.mv("docs/guide/child.md", "docs/guide/kid.md");
    repo.commit("Rename the child page");
    repo
}

#[test]
fn a_renamed_page_gets_its_redirect_and_the_links_to_it_follow() {
    let repo = space_with_a_renamed_page();
    let before = lint(&repo, &gitbook_target(), &[]);
    let mut found = rules(&before);
    found.sort();
    assert_eq!(
        found,
        [
            ("broken-link".to_owned(), "docs/guide.md".to_owned()),
            ("broken-link".to_owned(), "docs/guide.md".to_owned()),
            ("moved-without-redirect".to_owned(), "docs/guide/child.md".to_owned()),
            ("page-not-in-summary".to_owned(), "docs/guide/kid.md".to_owned()),
            ("summary-missing-file".to_owned(), "docs/SUMMARY.md".to_owned()),
        ],
        "{}",
        before.context()
    );
    before.assert_code(1);

    let run = lint_fix(&repo, &gitbook_target(), &[]);
    // The fixed tree has no new error left.
    run.assert_code(0);
    assert_eq!(read(&repo, "docs/.gitbook.yaml"), format!("{GITBOOK_YAML}  guide/child: guide/kid.md\n"));
    assert_eq!(read(&repo, "docs/SUMMARY.md"), SUMMARY.replace("guide/child.md", "guide/kid.md"));
    // Only the link targets change: the content-ref's text stays child.md.
    assert_eq!(read(&repo, "docs/guide.md"), GUIDE.replace("guide/child.md", "guide/kid.md"));
    assert_eq!(read(&repo, "docs/guide/kid.md"), CHILD);
    // Written in place: no temporary file is left beside them.
    assert_eq!(status(&repo), " M docs/.gitbook.yaml\n M docs/SUMMARY.md\n M docs/guide.md");
    for line in [
        "--- a/docs/.gitbook.yaml",
        "+++ b/docs/.gitbook.yaml",
        "+  guide/child: guide/kid.md",
        "-  * [Child](guide/child.md \"Child page\")",
        "+  * [Child](guide/kid.md \"Child page\")",
        "+{% content-ref url=\"guide/kid.md\" %}",
        "+[child.md](guide/kid.md)",
    ] {
        assert!(run.stdout.lines().any(|l| l == line), "no line {line:?} in the diff\n{}", run.context());
    }

    // Idempotent: a second run changes nothing.
    let tree = status(&repo);
    let again = lint_fix(&repo, &gitbook_target(), &[]);
    again.assert_code(0);
    assert!(again.stdout.starts_with("nothing to fix\n"), "{}", again.context());
    assert_eq!(status(&repo), tree);

    // Committed, the range reports none of the fixed findings.
    repo.commit("lint --fix");
    let after = lint(&repo, &gitbook_target(), &["--from", "HEAD~2"]);
    assert_eq!(rules(&after), Vec::<(String, String)>::new(), "{}", after.context());
    after.assert_code(0);
}

#[test]
fn pages_missing_from_the_summary_go_under_their_folder_s_entry_or_at_the_end() {
    let repo = clean_space();
    repo.write("docs/guide/grandchild.md", "---\ndescription: Deeper\n---\n\n# Grandchild\n");
    repo.write("docs/extra/page.md", "# Extra page\n");
    repo.commit("Add two pages");
    let summary = repo.path.join("docs/SUMMARY.md");
    std::fs::set_permissions(&summary, std::fs::Permissions::from_mode(0o640)).expect("chmod");

    let run = lint_fix(&repo, &gitbook_target(), &[]);
    run.assert_code(0);
    let mode = std::fs::metadata(&summary).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the rewritten file keeps its permissions");
    let expected = SUMMARY.replace(
        "  * [Child](guide/child.md \"Child page\")\n",
        "  * [Child](guide/child.md \"Child page\")\n  * [Grandchild](guide/grandchild.md)\n",
    ) + "* [Extra page](extra/page.md)\n";
    assert_eq!(read(&repo, "docs/SUMMARY.md"), expected);
    assert!(
        run.stdout.contains(
            "note: docs/SUMMARY.md: docs/extra/page.md added at the end: no entry of its folder or of a page beside it"
        ),
        "the output says which entry went to the end\n{}",
        run.context()
    );

    let again = lint_fix(&repo, &gitbook_target(), &[]);
    assert!(again.stdout.starts_with("nothing to fix\n"), "{}", again.context());
    repo.commit("lint --fix");
    let after = lint(&repo, &gitbook_target(), &["--from", "HEAD~2"]);
    assert_eq!(rules(&after), Vec::<(String, String)>::new(), "{}", after.context());
}

#[test]
fn the_exit_code_is_lint_s_on_the_fixed_tree() {
    let repo = clean_space();
    repo.write("docs/orphan.md", "# Orphan\n\nSee [the setup](setup.md).\n");
    repo.commit("Add a page with a broken link");

    let run = lint_fix(&repo, &gitbook_target(), &[]);
    // The summary entry is fixed; the broken link is not mechanical.
    assert!(read(&repo, "docs/SUMMARY.md").contains("* [Orphan](orphan.md)\n"), "{}", run.context());
    assert!(run.stdout.contains("docs/orphan.md:3: error[broken-link]"), "{}", run.context());
    assert!(!run.stdout.contains("page-not-in-summary"), "{}", run.context());
    run.assert_code(1);
}

#[test]
fn files_with_uncommitted_changes_are_refused_unless_allow_dirty() {
    let repo = clean_space();
    repo.write("docs/orphan.md", "# Orphan\n");
    repo.commit("Add a page");
    let mine = format!("{SUMMARY}\n<!-- my edit -->\n");
    repo.write("docs/SUMMARY.md", &mine);

    let run = lint_fix(&repo, &gitbook_target(), &[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("docs/SUMMARY.md has uncommitted changes") && run.stderr.contains("--allow-dirty"),
        "the refusal names the file and the way out\n{}",
        run.context()
    );
    assert_eq!(read(&repo, "docs/SUMMARY.md"), mine);

    let run = lint_fix(&repo, &gitbook_target(), &["--allow-dirty"]);
    run.assert_code(0);
    let fixed = read(&repo, "docs/SUMMARY.md");
    assert!(fixed.contains("<!-- my edit -->") && fixed.contains("* [Orphan](orphan.md)\n"), "{fixed}");
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let repo = space_with_a_renamed_page();
    let run = lint_fix(&repo, &gitbook_target(), &["--dry-run"]);
    assert!(
        run.stdout.lines().any(|l| l == "+  guide/child: guide/kid.md")
            && run.stdout.lines().any(|l| l == "+++ b/docs/guide.md"),
        "{}",
        run.context()
    );
    assert_eq!(status(&repo), "", "--dry-run wrote into the working tree");
    // Nothing was fixed, so it exits as lint does on the tree as it is.
    run.assert_code(1);
}

#[test]
fn a_configuration_file_reached_through_a_symbolic_link_is_refused() {
    let repo = clean_space();
    let outside = repo.outside_dir("elsewhere").join("gitbook.yaml");
    std::fs::write(&outside, GITBOOK_YAML).expect("write the file outside");
    repo.remove("docs/.gitbook.yaml");
    std::os::unix::fs::symlink(&outside, repo.path.join("docs/.gitbook.yaml")).expect("symlink");
    repo.commit("The configuration lives elsewhere");
    repo.mv("docs/guide/child.md", "docs/guide/kid.md");
    repo.commit("Rename the child page");

    let run = lint_fix(&repo, &gitbook_target(), &[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("docs/.gitbook.yaml is reached through the symbolic link docs/.gitbook.yaml"),
        "{}",
        run.context()
    );
    assert_eq!(std::fs::read_to_string(&outside).expect("read"), GITBOOK_YAML);
    // Refused before anything was written.
    assert_eq!(status(&repo), "");
}

#[test]
fn a_site_of_two_spaces_is_fixed_space_by_space() {
    // GitBook's docs.yaml shape: two spaces synced from Git, each with its
    // own summary and (created here) its own .gitbook.yaml.
    let repo = TestRepo::new();
    repo.write("docs.yaml", SITE_FILE);
    repo.write("documentation/README.md", "# Docs\n\nStart with the [setup](setup.md#install).\n");
    repo.write("documentation/SUMMARY.md", "* [Docs](README.md)\n* [Setup](setup.md)\n");
    repo.write("documentation/setup.md", "# Setup\n\n## Install\n");
    repo.write("developers/README.md", "# Developers\n");
    repo.write("developers/SUMMARY.md", "* [Developers](README.md)\n");
    repo.commit("A site with two synced spaces");
    repo.mv("documentation/setup.md", "documentation/start/setup.md");
    repo.write("developers/orphan.md", "# Not listed\n");
    repo.commit("Move the setup, add a page");

    let run = lint_fix(&repo, &Env::new(), &[]);
    run.assert_code(0);
    assert_eq!(read(&repo, "documentation/.gitbook.yaml"), "redirects:\n  setup: start/setup.md\n");
    assert_eq!(read(&repo, "documentation/SUMMARY.md"), "* [Docs](README.md)\n* [Setup](start/setup.md)\n");
    assert_eq!(read(&repo, "documentation/README.md"), "# Docs\n\nStart with the [setup](start/setup.md#install).\n");
    assert_eq!(read(&repo, "developers/SUMMARY.md"), "* [Developers](README.md)\n* [Not listed](orphan.md)\n");
    assert!(
        run.stdout.lines().any(|l| l == "--- /dev/null") && run.stdout.contains("+++ b/documentation/.gitbook.yaml"),
        "a created file is diffed from /dev/null\n{}",
        run.context()
    );

    let again = lint_fix(&repo, &Env::new(), &[]);
    assert!(again.stdout.starts_with("nothing to fix\n"), "{}", again.context());
    repo.commit("lint --fix");
    let after = lint(&repo, &Env::new(), &["--from", "HEAD~2"]);
    assert_eq!(rules(&after), Vec::<(String, String)>::new(), "{}", after.context());
}

#[test]
fn fix_refuses_the_json_format() {
    let repo = space_with_a_renamed_page();
    let run = lint_fix(&repo, &gitbook_target(), &["--format", "json"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--fix") && run.stderr.contains("unified diff"), "{}", run.context());
    assert_eq!(status(&repo), "");
}

#[test]
fn fix_on_a_checkout_of_another_commit_names_fix() {
    let repo = space_with_a_renamed_page();
    let head = repo.head();
    repo.checkout("HEAD~1");
    let run = lint_fix(&repo, &gitbook_target(), &["--to", &head]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("--fix") && run.stderr.contains("the working tree is a checkout of"),
        "the refusal names --fix, the flag given\n{}",
        run.context()
    );
    assert_eq!(status(&repo), "");
}
