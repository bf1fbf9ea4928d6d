//! The pre-flight's outputs: compiler-style text, the JSON contract, and a
//! GitLab Code Quality report for the merge request widget.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Finding, LintReport, Severity};
use crate::git::diff::quoted_path;

/// `path:line: error[rule]: message`, then the fix, then a summary line.
/// One finding starts one line whatever its file is named: a path holding
/// a control character (a newline) is quoted as git quotes it, and control
/// characters in messages are escaped.
pub(crate) fn text(report: &LintReport) -> String {
    let mut out = String::new();
    let several = report.findings.iter().any(|f| f.target != report.findings[0].target);
    for finding in &report.findings {
        let _ = write!(
            out,
            "{}:{}: {}[{}]: {}",
            quoted_path(&finding.path),
            finding.line,
            finding.severity.as_str(),
            finding.rule.id(),
            escape_controls(&finding.message)
        );
        if several {
            let _ = write!(out, " (target {})", finding.target);
        }
        if !finding.new {
            out.push_str(" (not new in the range)");
        }
        out.push('\n');
        if let Some(fix) = &finding.fix {
            for (index, line) in fix.lines().enumerate() {
                let lead = if index == 0 { "  fix: " } else { "       " };
                let _ = writeln!(out, "{lead}{}", escape_controls(line));
            }
        }
    }
    let new_errors = report.new_errors().count();
    let _ = writeln!(
        out,
        "{} error{}, {} warning{}; {new_errors} new error{}",
        report.errors,
        plural(report.errors),
        report.warnings,
        plural(report.warnings),
        plural(new_errors)
    );
    out
}

fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect(),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The JSON contract: `{"findings": [...], "errors": N, "warnings": N}`.
pub(crate) fn json(report: &LintReport) -> serde_json::Result<String> {
    serde_json::to_string_pretty(report).map(|mut s| {
        s.push('\n');
        s
    })
}

/// One issue of GitLab's Code Quality report.
#[derive(Debug, Serialize)]
pub(crate) struct CodeQualityIssue {
    pub description: String,
    pub check_name: &'static str,
    pub fingerprint: String,
    pub severity: &'static str,
    pub location: Location,
}

#[derive(Debug, Serialize)]
pub(crate) struct Location {
    pub path: String,
    pub lines: Lines,
}

#[derive(Debug, Serialize)]
pub(crate) struct Lines {
    pub begin: usize,
}

/// The findings as GitLab's Code Quality issues. A fingerprint names the
/// rule, target, file and what the finding is about, and the how-many-th of
/// its kind it is in the file, never its line: moving text keeps it.
pub(crate) fn code_quality(report: &LintReport) -> Vec<CodeQualityIssue> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    report
        .findings
        .iter()
        .map(|finding| {
            let identity = identity(finding);
            let occurrence = seen.entry(identity.clone()).or_default();
            *occurrence += 1;
            let name = format!("{identity}\u{0}{occurrence}");
            CodeQualityIssue {
                description: match &finding.fix {
                    Some(fix) => format!("{} (fix: {})", finding.message, fix.replace('\n', " ")),
                    None => finding.message.clone(),
                },
                check_name: finding.rule.id(),
                fingerprint: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).simple().to_string(),
                severity: match finding.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                },
                location: Location { path: finding.path.clone(), lines: Lines { begin: finding.line } },
            }
        })
        .collect()
}

fn identity(finding: &Finding) -> String {
    let key = if finding.key.is_empty() { finding.message.as_str() } else { finding.key.as_str() };
    format!("docsync\u{0}{}\u{0}{}\u{0}{}\u{0}{key}", finding.rule.id(), finding.target, finding.path)
}

/// Writes the Code Quality report (`DOCSYNC_CODEQUALITY`).
pub(crate) fn write_code_quality(report: &LintReport, path: &Path) -> std::io::Result<()> {
    let issues = code_quality(report);
    let mut text = serde_json::to_string_pretty(&issues).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::log::write_report(path, &crate::secret::Redacted::json(&text))
}
