//! Results for people (`--format text`) and for scripts (`--format json`).
//!
//! The JSON shape is a documented contract (README, "JSON output"): fields
//! are added, never renamed or removed.

use std::fmt::Write;
use std::path::Path;

use crate::cli::Format;
use crate::plan::SyncPlan;
use crate::range::short;
use crate::repo::ChangeStatus;

/// Text output lists this many changes; JSON always lists all of them.
const TEXT_CHANGES_SHOWN: usize = 50;

pub fn render(plan: &SyncPlan, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(plan)?;
            text.push('\n');
            Ok(text)
        }
        Format::Text => Ok(render_text(plan)),
    }
}

fn render_text(plan: &SyncPlan) -> String {
    let mut out = String::new();
    if let Some(status) = plan.status {
        let _ = writeln!(out, "status   {status}");
    }
    let range = &plan.range;
    let base = range.base.as_deref().map_or("(none)", short);
    let _ = writeln!(out, "range    {base}..{} ({})", short(&range.head), range.mode);
    let _ = writeln!(out, "         {}", range.reason);

    let _ = writeln!(out, "changes  {}", plan.changes.len());
    for change in plan.changes.iter().take(TEXT_CHANGES_SHOWN) {
        match (&change.status, &change.old_path) {
            (ChangeStatus::Renamed, Some(old)) => {
                let _ = writeln!(out, "  R  {old} -> {}", change.path);
            }
            (status, _) => {
                let _ = writeln!(out, "  {}  {}", status.letter(), change.path);
            }
        }
    }
    if plan.changes.len() > TEXT_CHANGES_SHOWN {
        let _ =
            writeln!(out, "  … and {} more (--format json lists them all)", plan.changes.len() - TEXT_CHANGES_SHOWN);
    }

    if plan.targets.is_empty() {
        let _ = writeln!(
            out,
            "targets  none configured: set DOCSYNC_GITBOOK_SPACE (GitBook) or DOCSYNC_DOT_WEBHOOK_URL (Dot), or write a docsync.toml"
        );
        return out;
    }
    let _ = writeln!(out, "targets  {}", plan.targets.len());
    let name_width = plan.targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for target in &plan.targets {
        let action = target.action.as_str();
        let _ = writeln!(
            out,
            "  {:name_width$}  {:7}  {:10}  {:>4} changed  {}",
            target.name, target.kind, action, target.changed, target.reason
        );
        if let Some(outcome) = &target.outcome {
            let _ = writeln!(out, "  {:name_width$}  {}: {}", "", outcome.status.as_str(), outcome.message);
            if let Some(fix) = &outcome.fix {
                let _ = writeln!(out, "  {:name_width$}  fix: {fix}", "");
            }
        }
        if let Some(request) = &target.request {
            let _ = writeln!(out, "  {:name_width$}  {} {}", "", request.method, request.url);
        }
        for warning in &target.warnings {
            let _ = writeln!(out, "  {:name_width$}  warning: {warning}", "");
        }
    }
    out
}

/// The dotenv report for `artifacts:reports:dotenv`: one `KEY=value` a line,
/// values without spaces or quotes so that GitLab reads them verbatim.
pub fn write_dotenv(plan: &SyncPlan, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, crate::secret::redact(&dotenv(plan)))
}

pub fn dotenv(plan: &SyncPlan) -> String {
    let mut out = String::new();
    let mut line = |key: String, value: &str| {
        let value: String =
            value.chars().map(|c| if c.is_whitespace() || c == '"' || c == '\'' { '_' } else { c }).collect();
        let _ = writeln!(out, "{key}={value}");
    };
    line("DOCSYNC_STATUS".into(), plan.status.unwrap_or("planned"));
    line("DOCSYNC_RANGE_BASE".into(), plan.range.base.as_deref().unwrap_or(""));
    line("DOCSYNC_RANGE_HEAD".into(), &plan.range.head);
    line("DOCSYNC_RANGE_MODE".into(), &plan.range.mode.to_string());
    line("DOCSYNC_CHANGED".into(), &plan.changes.len().to_string());
    let names: Vec<&str> = plan.targets.iter().map(|t| t.name.as_str()).collect();
    line("DOCSYNC_TARGETS".into(), &names.join(","));
    for target in &plan.targets {
        let key: String =
            target.name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        line(format!("DOCSYNC_TARGET_{key}_ACTION"), target.action.as_str());
        line(format!("DOCSYNC_TARGET_{key}_CHANGED"), &target.changed.to_string());
        let outcome = target.outcome.as_ref().map_or("planned", |o| o.status.as_str());
        line(format!("DOCSYNC_TARGET_{key}_OUTCOME"), outcome);
    }
    out
}
