//! A space as its readers see it at one commit: the navigation `SUMMARY.md`
//! draws (groups, nesting, each entry's title), the pages' titles and the
//! `redirects:` of `.gitbook.yaml`. The merge request note compares the
//! base's with the head's; nothing here judges the content (that is the
//! pre-flight's).

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use super::gitbook_config::{self, SpaceConfig, yaml_scalar};
use super::pages::{Destination, classify, markdown_options};
use super::snapshot::{self, Snapshot, wanted};
use crate::git::repo::Repo;

/// One entry of the navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NavEntry {
    /// The link's text.
    pub title: String,
    /// The page it names, repository-relative; `None` for an external or
    /// anchor entry.
    pub page: Option<String>,
    /// The link as written (what identifies an entry without a page).
    pub link: String,
    /// Where it sits: its `##` group, then its parents' titles, outermost
    /// first; empty at the top level.
    pub place: Vec<String>,
}

impl NavEntry {
    /// What the same entry is called at the head: its page (after a move,
    /// the page's new path), else its link.
    fn identity(&self, moved: &HashMap<&str, &str>) -> String {
        match &self.page {
            Some(page) => moved.get(page.as_str()).map_or_else(|| page.clone(), |new| (*new).to_owned()),
            None => format!("{}\u{0}{}", self.link, self.title),
        }
    }
}

/// A space at one commit.
#[derive(Debug)]
pub(crate) struct SpaceView {
    config: SpaceConfig,
    /// The summary's entries in reading order; empty without a summary.
    pub navigation: Vec<NavEntry>,
}

impl SpaceView {
    /// The space whose project directory is `directory`, at `commit`:
    /// `.gitbook.yaml` (defaults when absent or unreadable, as GitBook
    /// falls back) and the summary it names.
    pub(crate) fn at(repo: &Repo, commit: &str, directory: &str) -> Result<SpaceView> {
        let config_path = snapshot::join(directory, ".gitbook.yaml");
        let config_text = read_text(repo, commit, &config_path)?;
        let files = config_text.as_deref().map(|text| (config_path.as_str(), text));
        let config = gitbook_config::read(directory, &Snapshot::from_files(files), &mut Vec::new());
        let navigation = match read_text(repo, commit, &config.summary)? {
            Some(text) => navigation(&config.summary, &config.root, &text),
            None => Vec::new(),
        };
        Ok(SpaceView { config, navigation })
    }

    /// The summary the space reads (it may not exist).
    pub(crate) fn summary_path(&self) -> &str {
        &self.config.summary
    }

    /// The `.gitbook.yaml` the space reads (it may not exist yet).
    pub(crate) fn config_path(&self) -> &str {
        &self.config.config_path
    }

    /// The title the summary gives `page`.
    pub(crate) fn summary_title(&self, page: &str) -> Option<&str> {
        self.navigation.iter().find(|entry| entry.page.as_deref() == Some(page)).map(|entry| entry.title.as_str())
    }

    /// The redirects the moves (old path → new path, repository-relative)
    /// need: one per moved page whose old URL path no redirect covers yet,
    /// as `redirects:` names them (the old URL path → the new file, both
    /// from the space's root).
    pub(crate) fn redirects_needed(&self, moves: &[(&str, &str)]) -> Vec<(String, String)> {
        let root = &self.config.root;
        moves
            .iter()
            .filter(|(old, new)| snapshot::is_inside(old, root) && snapshot::is_inside(new, root))
            .filter_map(|(old, new)| {
                let slug = super::page_slug(&snapshot::relative(old, root));
                let covered = slug.is_empty() || self.config.redirects.iter().any(|r| r.matches(&slug));
                (!covered).then(|| (slug, snapshot::relative(new, root)))
            })
            .collect()
    }
}

/// `redirects:` entries as a `.gitbook.yaml` block, each key and value a
/// YAML scalar that reads back as written.
pub(crate) fn redirects_block(redirects: &[(String, String)]) -> String {
    let mut block = "redirects:".to_owned();
    for (slug, page) in redirects {
        block.push_str(&format!("\n  {}: {}", yaml_scalar(slug), yaml_scalar(page)));
    }
    block
}

fn read_text(repo: &Repo, commit: &str, path: &str) -> Result<Option<String>> {
    let file = repo.file_at(commit, path, wanted)?;
    Ok(file.and_then(|file| file.content).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// The page's title: its first heading, the front matter skipped; `None`
/// when it has none or cannot be read.
pub(crate) fn page_title(repo: &Repo, commit: &str, page: &str) -> Result<Option<String>> {
    Ok(read_text(repo, commit, page)?.and_then(|text| first_heading(&text)))
}

fn first_heading(text: &str) -> Option<String> {
    let body = super::pages::without_front_matter(text);
    let mut title: Option<String> = None;
    for event in Parser::new_ext(body, markdown_options()) {
        match event {
            Event::Start(Tag::Heading { .. }) => title = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(title) = title.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => return title.filter(|t| !t.trim().is_empty()),
            _ => {}
        }
    }
    None
}

/// The summary's entries as GitBook reads them: `##` headings group, a
/// nested list's items are children of the item holding it, each item's
/// first link is its entry. Nothing inside code counts.
fn navigation(path: &str, root: &str, text: &str) -> Vec<NavEntry> {
    let dir = snapshot::parent(path);
    let mut entries = Vec::new();
    let mut group: Option<String> = None;
    // For each open list item: its entry's title once its link was seen.
    let mut items: Vec<Option<String>> = Vec::new();
    let mut heading: Option<String> = None;
    let mut link: Option<(String, Option<String>, String)> = None;
    for event in Parser::new_ext(text, markdown_options()) {
        match event {
            Event::Start(Tag::Heading { level, .. }) if level != HeadingLevel::H1 => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(title) = heading.take() {
                    group = Some(title.trim().to_owned()).filter(|t| !t.is_empty());
                }
            }
            Event::Start(Tag::Item) => items.push(None),
            Event::End(TagEnd::Item) => {
                items.pop();
            }
            Event::Start(Tag::Link { dest_url, .. }) if heading.is_none() && items.last() == Some(&None) => {
                let page = match classify(&dest_url) {
                    Destination::File(file) => snapshot::resolve(dir, &file),
                    Destination::Absolute(file) => snapshot::resolve(root, &file),
                    _ => None,
                };
                link = Some((dest_url.into_string(), page, String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, title)) = link.as_mut() {
                    title.push_str(&text);
                } else if let Some(title) = heading.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Link) => {
                let Some((link, page, title)) = link.take() else { continue };
                let place: Vec<String> =
                    group.iter().cloned().chain(items.iter().rev().skip(1).rev().flatten().cloned()).collect();
                if let Some(open) = items.last_mut() {
                    *open = Some(title.clone());
                }
                entries.push(NavEntry { title, page, link, place });
            }
            _ => {}
        }
    }
    entries
}

/// How an entry of the navigation changed between the base and the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NavChange {
    Added {
        title: String,
        place: Vec<String>,
    },
    Removed {
        title: String,
        place: Vec<String>,
    },
    /// Now under another group or parent.
    Moved {
        title: String,
        from: Vec<String>,
        to: Vec<String>,
    },
}

/// The navigation's change from `before` to `after`, entry by entry: an
/// entry is the same when it names the same page (a page the range moved
/// counts at its new path) or, without a page, the same link and title.
/// Moved means under another group or parent; a change of order among
/// siblings is not shown.
pub(crate) fn navigation_change(before: &[NavEntry], after: &[NavEntry], moves: &[(&str, &str)]) -> Vec<NavChange> {
    let moved: HashMap<&str, &str> = moves.iter().copied().collect();
    let none = HashMap::new();
    let old: BTreeMap<String, &NavEntry> = before.iter().map(|e| (e.identity(&moved), e)).collect();
    let new: BTreeMap<String, &NavEntry> = after.iter().map(|e| (e.identity(&none), e)).collect();
    let mut changes = Vec::new();
    for entry in after {
        match old.get(&entry.identity(&none)) {
            None => changes.push(NavChange::Added { title: entry.title.clone(), place: entry.place.clone() }),
            Some(was) if was.place != entry.place => changes.push(NavChange::Moved {
                title: entry.title.clone(),
                from: was.place.clone(),
                to: entry.place.clone(),
            }),
            Some(_) => {}
        }
    }
    for entry in before {
        if !new.contains_key(&entry.identity(&moved)) {
            changes.push(NavChange::Removed { title: entry.title.clone(), place: entry.place.clone() });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# Summary\n\n* [Home](README.md)\n* [Basics](basics/README.md)\n  * [Install](basics/install.md)\n  * [FAQ](faq.md)\n\n## Reference\n\n* [API](api.md)\n* [Site](https://example.com)\n";
    const AFTER: &str = "# Summary\n\n* [Home](README.md)\n* [Basics](basics/README.md)\n  * [FAQ](faq.md)\n\n## Guides\n\n* [Install](guides/install.md)\n* [New](guides/new.md)\n\n## Reference\n\n* [API](api.md)\n* [Site](https://example.com)\n";

    #[test]
    fn entries_carry_their_group_and_parents() {
        let entries = navigation("docs/SUMMARY.md", "docs", BEFORE);
        let shown: Vec<(&str, Option<&str>, Vec<&str>)> = entries
            .iter()
            .map(|e| (e.title.as_str(), e.page.as_deref(), e.place.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("Home", Some("docs/README.md"), vec![]),
                ("Basics", Some("docs/basics/README.md"), vec![]),
                ("Install", Some("docs/basics/install.md"), vec!["Basics"]),
                ("FAQ", Some("docs/faq.md"), vec!["Basics"]),
                ("API", Some("docs/api.md"), vec!["Reference"]),
                ("Site", None, vec!["Reference"]),
            ]
        );
    }

    #[test]
    fn the_change_is_entries_added_removed_and_moved_between_groups() {
        let before = navigation("docs/SUMMARY.md", "docs", BEFORE);
        let after = navigation("docs/SUMMARY.md", "docs", AFTER.replace("* [API](api.md)\n", "").as_str());
        let moves = [("docs/basics/install.md", "docs/guides/install.md")];
        assert_eq!(
            navigation_change(&before, &after, &moves),
            vec![
                NavChange::Moved { title: "Install".into(), from: vec!["Basics".into()], to: vec!["Guides".into()] },
                NavChange::Added { title: "New".into(), place: vec!["Guides".into()] },
                NavChange::Removed { title: "API".into(), place: vec!["Reference".into()] },
            ]
        );
    }

    #[test]
    fn a_page_title_is_its_first_heading_after_the_front_matter() {
        assert_eq!(first_heading("---\ntitle: x\n---\n\nText\n\n## The `real` one\n"), Some("The real one".into()));
        assert_eq!(first_heading("No heading\n"), None);
    }

    #[test]
    fn redirects_are_a_block_of_yaml_scalars() {
        let redirects = vec![("basics/install".to_owned(), "guides/install.md".to_owned())];
        assert_eq!(redirects_block(&redirects), "redirects:\n  basics/install: guides/install.md");
        let odd = vec![("a: b".to_owned(), "c.md".to_owned())];
        assert_eq!(redirects_block(&odd), "redirects:\n  \"a: b\": c.md");
    }
}
