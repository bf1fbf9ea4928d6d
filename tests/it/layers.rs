//! The crate's layers point one way (src/lib.rs draws them): a module may
//! use the ground floor and the stages before it, never a later stage. A
//! later stage reaching back down is how the plan/sync import cycle began.

use std::path::{Path, PathBuf};

/// Lowest first. The ground floor's modules share rank 0.
const LAYERS: &[(&str, usize)] = &[
    ("error", 0),
    ("bounded_file", 0),
    ("secret", 0),
    ("tls", 0),
    ("http", 0),
    ("log", 0),
    ("settings", 1),
    ("git", 2),
    ("lint", 3),
    ("gitlab", 4),
    ("targets", 5),
    ("plan", 6),
    ("output", 7),
    ("commands", 8),
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().find(|(name, _)| *name == module).map(|(_, rank)| *rank)
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/git/range.rs` → `git`,
/// `src/log.rs` → `log`.
fn owner(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Every top-level module named after `crate::` in the text.
fn crate_paths(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &text[at + "crate::".len()..];
            match rest.starts_with('{') {
                true => "{".to_owned(),
                false => rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect(),
            }
        })
        .collect()
}

#[test]
fn no_module_uses_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in &files {
        let module = owner(&src, file);
        if module == "main" || module == "lib" {
            continue;
        }
        let own = rank(&module).unwrap_or_else(|| panic!("{} is in no layer: add it to LAYERS", file.display()));
        let text = std::fs::read_to_string(file).unwrap();
        for used in crate_paths(&text) {
            // `use crate::{a, b}` would hide what is used from this check.
            assert!(!used.starts_with('{'), "{}: name modules one `use crate::…` at a time", file.display());
            let used_rank = rank(&used).unwrap_or_else(|| panic!("{}: crate::{used} is in no layer", file.display()));
            checked += 1;
            if used_rank > own {
                wrong
                    .push(format!("{} ({module}, layer {own}) uses crate::{used} (layer {used_rank})", file.display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} crate paths found: is the scan reading src/?");
    assert!(wrong.is_empty(), "arrows pointing up:\n{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_a_later_stage() {
    assert_eq!(crate_paths("use crate::plan::outcome::Outcome;\nuse crate::{git, http};"), ["plan", "{"]);
    assert!(rank("commands") > rank("plan"));
}

/// `output/` renders; it never talks to a server (CONTRIBUTING: "rendering
/// only"). Sending what it wrote is the GitLab stage's and the command's.
#[test]
fn output_only_renders() {
    let output = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/output");
    let mut files = Vec::new();
    sources(&output, &mut files);
    assert!(files.len() > 2, "only {} files found: is the scan reading src/output?", files.len());
    let mut doing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for io in ["crate::http", "GitLabClient", "async fn", ".await"] {
            if text.contains(io) {
                doing.push(format!("{} holds `{io}`", file.display()));
            }
        }
    }
    assert!(doing.is_empty(), "output/ doing I/O:\n{}", doing.join("\n"));
}
