//! `decide` over hand-built [`Facts`]: every action and every reason, with
//! no git repository and no process. Each row names the pipeline (as the
//! `CI_*` variables GitLab sets), what the range holds, and the action,
//! reason and skip cause expected of a GitBook target and of a Dot target.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::facts::{Facts, RequestedBy};
use super::{Action, Decision, SkipCause, decide, sends_push_events};
use crate::git::diff::{Change, ChangeKind, ChangeStatus};
use crate::git::range::{CommitRange, RangeMode};
use crate::git::remote::Project;
use crate::git::repo::CommitInfo;
use crate::settings::Settings;
use crate::settings::environment::Environment;
use crate::settings::flags::GlobalFlags;
use crate::settings::resolve::resolve;

const BASE: &str = "1111111111111111111111111111111111111111";
const HEAD: &str = "2222222222222222222222222222222222222222";
const OLDER: &str = "3333333333333333333333333333333333333333";

/// Two targets on `docs/`: a GitBook space and a push-webhook receiver.
const TARGETS: &[(&str, &str)] = &[
    ("DOCSYNC_GITBOOK_SPACE", "spc1"),
    ("DOCSYNC_DOT_WEBHOOK_URL", "https://hooks.example.com/gitlab"),
    ("DOCSYNC_PROJECT_DIRECTORY", "docs"),
];

fn settings(pipeline: &[(&str, &str)]) -> Settings {
    let vars = TARGETS.iter().chain(pipeline).map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let env = Environment::from_vars(vars).unwrap();
    resolve(&GlobalFlags::default(), &env, None).unwrap()
}

/// GitLab's variables of a pipeline from `source` on `branch`.
fn ci<'a>(source: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("GITLAB_CI", "true"),
        ("CI_PIPELINE_SOURCE", source),
        ("CI_COMMIT_SHA", HEAD),
        ("CI_PROJECT_URL", "https://gitlab.example.com/group/project"),
    ];
    vars.extend_from_slice(extra);
    vars
}

fn push_to(branch: &'static str) -> Vec<(&'static str, &'static str)> {
    ci("push", &[("CI_COMMIT_BRANCH", branch), ("CI_DEFAULT_BRANCH", "main")])
}

fn file(status: ChangeStatus, path: &str, old_path: Option<&str>) -> Change {
    Change { status, path: path.to_owned(), old_path: old_path.map(str::to_owned), kind: ChangeKind::File }
}

fn commit(id: &str, message: &str) -> CommitInfo {
    CommitInfo {
        id: id.to_owned(),
        message: message.to_owned(),
        author_name: "Ada".to_owned(),
        author_email: "ada@example.com".to_owned(),
        time: OffsetDateTime::UNIX_EPOCH,
    }
}

/// A push range `BASE..HEAD` with these changes and commits (newest first).
fn facts(changes: Vec<Change>, commits: Vec<CommitInfo>) -> Facts {
    Facts {
        range: CommitRange {
            base: Some(BASE.to_owned()),
            head: HEAD.to_owned(),
            mode: RangeMode::Push,
            reason: "the push".to_owned(),
            remote_changes: None,
        },
        changes,
        commits,
        absent_directories: BTreeMap::new(),
        head_time: OffsetDateTime::UNIX_EPOCH,
        project: Project::from_url("https://gitlab.example.com/group/project"),
        checkout_branch: Some("main".to_owned()),
        requested_by: None,
        live: BTreeMap::new(),
    }
}

fn a_page_changed() -> Facts {
    facts(vec![file(ChangeStatus::Modified, "docs/page.md", None)], vec![commit(HEAD, "Edit a page")])
}

/// What one target is expected to get: its action, a fragment of its
/// reason, and why it skips.
type Expected = (Action, &'static str, Option<SkipCause>);

/// One row: the case, the pipeline's variables, the facts, and what the
/// GitBook target and the Dot target are expected to get.
type Case = (&'static str, Vec<(&'static str, &'static str)>, Facts, Expected, Expected);

fn check(case: &str, plan: &Decision, (action, reason, cause): Expected) {
    let words = plan.reason.to_string();
    assert_eq!(plan.action, action, "{case}: {} ({words})", plan.name);
    assert!(words.contains(reason), "{case}: {}'s reason {words:?} lacks {reason:?}", plan.name);
    assert_eq!(plan.skip_cause(), cause, "{case}: {} ({words})", plan.name);
}

#[test]
fn every_action_and_reason() {
    use Action::{Export, Import, Preview, PushEvent, Skip};
    use SkipCause::{Configuration, Content};

    let mr = |previews: &'static str| {
        ci("merge_request_event", &[("CI_MERGE_REQUEST_IID", "7"), ("DOCSYNC_PREVIEWS", previews)])
    };
    let manual = |direction: &'static str| {
        ci("web", &[("CI_COMMIT_BRANCH", "main"), ("CI_DEFAULT_BRANCH", "main"), ("DOCSYNC_DIRECTION", direction)])
    };
    let only_code_changed =
        || facts(vec![file(ChangeStatus::Modified, "src/main.rs", None)], vec![commit(HEAD, "Code")]);
    let gitbook_only = |mut facts: Facts| {
        facts.commits = vec![commit(HEAD, "GITBOOK-12: Edit"), commit(OLDER, "GitBook: No commit message")];
        facts
    };

    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("push, a page changed", push_to("main"), a_page_changed(),
            (Import, "push to the sync branch: 1 relevant file changed", None),
            (PushEvent, "push to the sync branch: 1 relevant file changed", None)),
        ("push, only code changed", push_to("main"), only_code_changed(),
            (Skip, "no file under docs/", Some(Content)),
            (Skip, "no file under docs/", Some(Content))),
        ("push, the head says [Skip DocSync]",
            push_to("main"),
            facts(vec![file(ChangeStatus::Added, "docs/a.md", None)], vec![commit(HEAD, "Draft\n\n[Skip DocSync]")]),
            (Skip, "the head commit 22222222 says [skip docsync]", Some(Content)),
            (Skip, "the head commit 22222222 says [skip docsync]", Some(Content))),
        ("push, an older commit says [skip docsync]",
            push_to("main"),
            facts(
                vec![file(ChangeStatus::Added, "docs/a.md", None)],
                vec![commit(HEAD, "Publish"), commit(OLDER, "Draft [skip docsync]")],
            ),
            (Import, "1 relevant file changed", None),
            (PushEvent, "1 relevant file changed", None)),
        ("push, only GitBook's commits", push_to("main"), gitbook_only(a_page_changed()),
            (Skip, "made by the docs platform itself", Some(Content)),
            (Skip, "made by the docs platform itself", Some(Content))),
        ("full sync, a GitBook commit at head",
            push_to("main"),
            {
                let mut facts = gitbook_only(a_page_changed());
                facts.range.base = None;
                facts.range.mode = RangeMode::Full;
                facts
            },
            (Import, "1 relevant file changed", None),
            (PushEvent, "1 relevant file changed", None)),
        ("changes from GitLab's compare API, only GitBook's commits read",
            push_to("main"),
            {
                let mut facts = gitbook_only(a_page_changed());
                facts.range.remote_changes = Some(facts.changes.clone());
                facts
            },
            (Import, "1 relevant file changed", None),
            (PushEvent, "1 relevant file changed", None)),
        ("push to another branch", push_to("feature"), a_page_changed(),
            (Skip, "push to feature, not to the sync branch main", Some(Configuration)),
            (Skip, "push to feature, not to the sync branch main", Some(Configuration))),
        ("push, no sync branch known",
            ci("push", &[("CI_COMMIT_BRANCH", "main")]),
            a_page_changed(),
            (Skip, "no sync branch is known", Some(Configuration)),
            (Skip, "no sync branch is known", Some(Configuration))),
        ("push without a branch",
            ci("push", &[("CI_DEFAULT_BRANCH", "main")]),
            a_page_changed(),
            (Skip, "push pipeline without a branch", Some(Configuration)),
            (Skip, "push pipeline without a branch", Some(Configuration))),
        ("tag pipeline",
            ci("push", &[("CI_COMMIT_TAG", "v1.0"), ("CI_DEFAULT_BRANCH", "main")]),
            a_page_changed(),
            (Skip, "tag pipeline (v1.0): tags are not synced", Some(Configuration)),
            (Skip, "tag pipeline (v1.0): tags are not synced", Some(Configuration))),
        ("another pipeline source", ci("chat", &[("CI_DEFAULT_BRANCH", "main")]), a_page_changed(),
            (Skip, "pipeline source `chat` does not sync", Some(Configuration)),
            (Skip, "pipeline source `chat` does not sync", Some(Configuration))),
        ("outside CI", vec![], a_page_changed(),
            (Import, "outside CI, planned as a push: 1 relevant file changed", None),
            (PushEvent, "outside CI, planned as a push: 1 relevant file changed", None)),
        ("merge request, previews off", mr("false"), a_page_changed(),
            (Skip, "merge request previews are off", Some(Configuration)),
            (Skip, "merge request previews are off", Some(Configuration))),
        ("merge request, previews on", mr("true"), a_page_changed(),
            (Preview, "merge request !7: standalone preview import", None),
            (Skip, "push-webhook receivers get pushes only", Some(Configuration))),
        ("merge request, previews on, only code changed", mr("true"), only_code_changed(),
            (Skip, "no file under docs/", Some(Content)),
            (Skip, "push-webhook receivers get pushes only", Some(Configuration))),
        ("web pipeline, import", manual("import"), only_code_changed(),
            (Import, "web pipeline: full import requested", None),
            (PushEvent, "web pipeline: push event for every relevant file", None)),
        ("web pipeline, export", manual("export"), only_code_changed(),
            (Export, "web pipeline: export from GitBook requested", None),
            (Skip, "exports are GitBook → GitLab only", Some(Configuration))),
    ];
    for (case, pipeline, facts, gitbook, dot) in cases {
        let settings = settings(&pipeline);
        let plan = decide(&facts, &settings, None);
        let [gitbook_plan, dot_plan] = &plan.targets[..] else { panic!("{case}: two targets, got {:?}", plan.targets) };
        check(case, gitbook_plan, gitbook);
        check(case, dot_plan, dot);
        assert_eq!(sends_push_events(&facts, &settings), dot.0 == PushEvent, "{case}: whether a push event is sent");
        assert_eq!(
            gitbook_plan.request.is_some(),
            matches!(gitbook_plan.action, Import | Export | Preview),
            "{case}: a GitBook request exactly when GitBook acts"
        );
    }
}

#[test]
fn docsync_export_is_a_request_whatever_the_pipeline() {
    let mut facts = a_page_changed();
    facts.requested_by = Some(RequestedBy::Export);
    let mut settings = settings(&push_to("main"));
    for target in &mut settings.targets {
        target.direction = crate::settings::Direction::Export;
    }
    let plan = decide(&facts, &settings, None);
    check("docsync export", &plan.targets[0], (Action::Export, "export pipeline: export from GitBook requested", None));
}

#[test]
fn force_acts_where_a_content_rule_would_skip() {
    let mut settings = settings(&push_to("main"));
    settings.force = true;
    let nothing = facts(vec![], vec![commit(HEAD, "[skip docsync]")]);
    let plan = decide(&nothing, &settings, None);
    check("forced", &plan.targets[0], (Action::Import, "push to the sync branch, forced (--force): 0", None));
    check("forced", &plan.targets[1], (Action::PushEvent, "push to the sync branch, forced (--force): 0", None));
    // A configuration skip stays one: force does not sync another branch.
    let mut settings = self::settings(&push_to("feature"));
    settings.force = true;
    let plan = decide(&nothing, &settings, None);
    assert_eq!(plan.targets[0].skip_cause(), Some(SkipCause::Configuration), "{}", plan.targets[0].reason);
}

#[test]
fn a_missing_project_directory_is_a_warning_with_the_nearest() {
    let mut facts = a_page_changed();
    facts.absent_directories.insert("docs".to_owned(), Some("Docs".to_owned()));
    let plan = decide(&facts, &settings(&push_to("main")), None);
    assert_eq!(
        plan.targets[0].warnings[0],
        "the project directory docs does not exist at 22222222; did you mean Docs? (directories are case-sensitive)"
    );
    let plan = decide(&a_page_changed(), &settings(&push_to("main")), None);
    assert!(
        !plan.targets[0].warnings.iter().any(|w| w.contains("project directory")),
        "{:?}",
        plan.targets[0].warnings
    );
}

/// A submodule is no docs file: its pointer moving, or the submodule
/// itself moving out of the docs, is no change for a target.
#[test]
fn a_submodule_is_never_a_docs_change() {
    let submodule = |status, path: &str, old_path: Option<&str>| Change {
        kind: ChangeKind::Submodule,
        ..file(status, path, old_path)
    };
    for change in [
        submodule(ChangeStatus::Modified, "docs/vendor", None),
        submodule(ChangeStatus::Renamed, "vendor/theme", Some("docs/theme")),
        submodule(ChangeStatus::Renamed, "docs/theme", Some("docs/old-theme")),
    ] {
        let what = format!("{change:?}");
        let plan = decide(&facts(vec![change], vec![commit(HEAD, "Move")]), &settings(&push_to("main")), None);
        for target in &plan.targets {
            assert_eq!((target.action, target.changed), (Action::Skip, 0), "{what}: {}", target.reason);
        }
    }
    // A file moved out of the docs is still one: it leaves the space.
    let moved_out =
        facts(vec![file(ChangeStatus::Renamed, "archive/a.md", Some("docs/a.md"))], vec![commit(HEAD, "x")]);
    let plan = decide(&moved_out, &settings(&push_to("main")), None);
    assert_eq!((plan.targets[0].action, plan.targets[0].changed), (Action::Import, 1));
}

/// A GitBook target counts its changes from the commit its space shows
/// when that is an ancestor of head; otherwise, and always for a Dot
/// target, from the job's range; the decision says which and why.
#[test]
fn a_gitbook_target_counts_from_its_spaces_commit() {
    use super::BaseSource;
    use super::facts::LiveBase;
    use crate::git::repo::Ancestry;

    let settings = settings(&push_to("main"));
    let gitbook = settings.targets[0].id;
    let since_older = vec![
        file(ChangeStatus::Modified, "docs/page.md", None),
        file(ChangeStatus::Added, "docs/failed-before.md", None),
    ];
    let mut facts = a_page_changed();
    facts.live.insert(gitbook, LiveBase::Ancestor { commit: OLDER.to_owned(), changes: since_older });
    let plan = decide(&facts, &settings, None);
    let base = plan.targets[0].base.as_ref().expect("a base");
    assert_eq!((base.commit.as_deref(), base.source), (Some(OLDER), BaseSource::LiveRevision));
    assert_eq!(plan.targets[0].changed, 2);
    assert!(plan.targets[1].base.is_none(), "a Dot target keeps the range");
    assert_eq!(plan.targets[1].changed, 1);

    facts.live.insert(gitbook, LiveBase::NotAncestor { commit: OLDER.to_owned(), ancestry: Ancestry::Unrelated });
    let plan = decide(&facts, &settings, None);
    let base = plan.targets[0].base.as_ref().expect("a base");
    assert_eq!((base.commit.as_deref(), base.source), (Some(BASE), BaseSource::Range));
    assert!(base.reason.contains("not in the branch's history"), "{}", base.reason);
    assert_eq!(plan.targets[0].changed, 1);
}
