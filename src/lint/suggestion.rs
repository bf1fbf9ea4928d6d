//! The mechanical fixes of a few findings, as the lines that replace the
//! finding's line: what a merge request discussion offers as a GitLab
//! suggestion. Only a fix that needs no judgement is offered: a link to a
//! page the range moved, rewritten to the page's new path; a front matter
//! value that needs quotes, quoted; a `{% hint %}` (or another block)
//! never closed, closed after its paragraph.

use super::pages::{Destination, classify};
use super::snapshot;
use super::{Finding, Rule};

/// Lines that replace the finding's line and the `lines_below` lines after
/// it (GitLab's `suggestion:-0+N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suggestion {
    pub lines_below: usize,
    /// The replacing lines, joined by `\n`, without a final line break.
    pub replacement: String,
}

/// The suggestion for `finding`, read from `page` (the file's text at the
/// head); `moves` are the range's renames, (old path, new path).
pub(crate) fn suggest(finding: &Finding, page: &str, moves: &[(String, String)]) -> Option<Suggestion> {
    let lines: Vec<&str> = page.lines().collect();
    let line = *lines.get(finding.line.checked_sub(1)?)?;
    match finding.rule {
        Rule::BrokenLink => moved_link(finding, line, moves),
        Rule::FrontMatter if finding.key == "syntax" => quoted_value(line),
        Rule::BlockUnclosed => closed_block(&finding.key, &lines[finding.line - 1..]),
        _ => None,
    }
}

/// The link's destination rewritten to where the range moved its page,
/// relative to the linking page as the link was; its `#section` kept.
fn moved_link(finding: &Finding, line: &str, moves: &[(String, String)]) -> Option<Suggestion> {
    let destination = finding.key.as_str();
    let Destination::File(file) = classify(destination) else { return None };
    let dir = snapshot::parent(&finding.path);
    let resolved = normalize(&snapshot::join(dir, &file))?;
    let (_, moved_to) = moves.iter().find(|(old, _)| *old == resolved)?;
    let rest = &destination[destination.find(['#', '?']).unwrap_or(destination.len())..];
    let rewritten = format!("{}{rest}", relative_link(dir, moved_to));
    // The destination as written, between the link's delimiters: `(…)`,
    // `<…>`, or a reference definition's `]: …`.
    let written = [format!("({destination})"), format!("<{destination}>"), format!("]: {destination}")];
    let (from, to) = written.iter().find(|w| line.contains(w.as_str())).map(|w| {
        let to = w.replacen(destination, &rewritten, 1);
        (w.clone(), to)
    })?;
    Some(Suggestion { lines_below: 0, replacement: line.replace(&from, &to) })
}

/// `a/./b/../c` as `a/c`; `None` when it climbs above the repository.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// `to` as a link from a page in `from_dir`.
fn relative_link(from_dir: &str, to: &str) -> String {
    let from: Vec<&str> = from_dir.split('/').filter(|p| !p.is_empty()).collect();
    let target: Vec<&str> = to.split('/').collect();
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&target[common..]);
    parts.join("/")
}

/// `key: a: b` as `key: "a: b"`: the front matter line YAML cannot read
/// because its plain value holds `: ` or starts with a reserved indicator
/// (`@`, `` ` ``, `%`).
fn quoted_value(line: &str) -> Option<Suggestion> {
    let (key, value) = line.split_once(':')?;
    let name = key.trim_start();
    let plain_key = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let value = value.strip_prefix(' ')?.trim();
    let needs_quotes = value.contains(": ") || value.starts_with(['@', '`', '%']);
    if !plain_key || !needs_quotes || value.starts_with(['"', '\'']) {
        return None;
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    Some(Suggestion { lines_below: 0, replacement: format!("{key}: \"{escaped}\"") })
}

/// A block opened on the first of `lines` and never closed, closed after
/// its paragraph (up to the first blank line): the opening tag alone on
/// its line, and no other tag in the paragraph, or it is no mechanical fix.
fn closed_block(name: &str, lines: &[&str]) -> Option<Suggestion> {
    let opening = lines.first()?.trim();
    let alone = opening.starts_with("{%") && opening.ends_with("%}") && opening.matches("{%").count() == 1;
    let names_it = opening.trim_start_matches("{%").split_whitespace().next() == Some(name);
    if name.is_empty() || !alone || !names_it {
        return None;
    }
    let paragraph: Vec<&str> = lines[1..].iter().copied().take_while(|l| !l.trim().is_empty()).collect();
    if paragraph.is_empty() || paragraph.iter().any(|l| l.contains("{%")) {
        return None;
    }
    let mut replacement: Vec<String> =
        std::iter::once(lines[0]).chain(paragraph.iter().copied()).map(str::to_owned).collect();
    replacement.push(format!("{{% end{name} %}}"));
    Some(Suggestion { lines_below: paragraph.len(), replacement: replacement.join("\n") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::Severity;

    fn finding(rule: Rule, path: &str, line: usize, key: &str) -> Finding {
        Finding {
            rule,
            severity: Severity::Error,
            new: true,
            target: "gitbook".into(),
            path: path.into(),
            line,
            message: String::new(),
            fix: None,
            key: key.into(),
        }
    }

    #[test]
    fn a_link_to_a_moved_page_is_rewritten_relative_to_the_linking_page() {
        let moves = vec![("docs/install.md".to_owned(), "docs/setup/install.md".to_owned())];
        let page = "# Guide\n\nSee [the install page](../install.md#linux) first.\n";
        let link = finding(Rule::BrokenLink, "docs/guide/intro.md", 3, "../install.md#linux");
        assert_eq!(
            suggest(&link, page, &moves),
            Some(Suggestion {
                lines_below: 0,
                replacement: "See [the install page](../setup/install.md#linux) first.".into()
            })
        );
        let page = "[install]: install.md\n";
        let reference = finding(Rule::BrokenLink, "docs/index.md", 1, "install.md");
        assert_eq!(
            suggest(&reference, page, &moves).map(|s| s.replacement),
            Some("[install]: setup/install.md".into())
        );
        // A link to a page no move explains is no mechanical fix.
        let other = finding(Rule::BrokenLink, "docs/index.md", 1, "gone.md");
        assert_eq!(suggest(&other, "[x](gone.md)\n", &moves), None);
    }

    #[test]
    fn a_front_matter_value_with_a_colon_is_quoted() {
        let page = "---\ndescription: Setup: the \"fast\" way\n---\n# Page\n";
        let syntax = finding(Rule::FrontMatter, "docs/a.md", 2, "syntax");
        assert_eq!(
            suggest(&syntax, page, &[]).map(|s| s.replacement),
            Some(r#"description: "Setup: the \"fast\" way""#.into())
        );
        let quoted = "---\ndescription: \"Setup: x\"\n---\n";
        assert_eq!(suggest(&syntax, quoted, &[]), None);
    }

    #[test]
    fn an_unclosed_hint_is_closed_after_its_paragraph() {
        let page = "# Page\n\n{% hint style=\"info\" %}\nRead this first.\nAnd this.\n\n## Next\n";
        let hint = finding(Rule::BlockUnclosed, "docs/a.md", 3, "hint");
        assert_eq!(
            suggest(&hint, page, &[]),
            Some(Suggestion {
                lines_below: 2,
                replacement: "{% hint style=\"info\" %}\nRead this first.\nAnd this.\n{% endhint %}".into()
            })
        );
        // Another tag inside the paragraph: where the block ends is a choice.
        let nested = "{% hint %}\n{% tabs %}\n";
        assert_eq!(suggest(&finding(Rule::BlockUnclosed, "docs/a.md", 1, "hint"), nested, &[]), None);
    }
}
