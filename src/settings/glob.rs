//! The `paths` globs of a target, matched without regular expressions.
//!
//! The syntax and the meaning are globset's (0.4), with a literal
//! separator, which docsync used before: `*` and `?` never match `/`,
//! `[...]` classes (`[!...]` or `[^...]` negated), `**` as a whole path
//! component crosses directories, `{a,b}` alternatives (nested too), `\`
//! escapes. A glob without `/` matches the file name at any depth. Like
//! globset, matching is on bytes: `?` is one byte of UTF-8, and a class
//! holding a non-ASCII character holds its bytes. A property test checks
//! the matcher against globset itself (a dev-dependency).
//!
//! It is separate from the settings because it is a small language of its
//! own: a parser to tokens, then each glob compiled to an automaton run
//! in one pass over the path (no backtracking, linear in the path's
//! length). Regular expressions would do it, at 400 KiB of the binary.

use std::fmt;

/// A glob whose `{` nest this deep is refused (globset's regular
/// expressions refused about 250 levels; nobody writes more than two).
const MAX_NESTING: usize = 64;

/// Why a glob is refused, with the glob as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    glob: String,
    reason: String,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.glob, self.reason)
    }
}

impl std::error::Error for GlobError {}

/// Globs matched together: a path matches when any one does.
#[derive(Debug, Clone)]
pub(crate) struct GlobSet {
    globs: Vec<Automaton>,
}

impl GlobSet {
    /// Globs as written in `paths`: relative to the target's directory; a
    /// leading `./` or `/` is dropped; one without `/` matches a file name
    /// at any depth (`*.md`), one with `/` is anchored (`guides/**/*.md`).
    pub(crate) fn new(globs: &[String]) -> Result<GlobSet, GlobError> {
        let globs = globs
            .iter()
            .map(|glob| {
                let anchored = glob.trim_start_matches("./").trim_start_matches('/');
                let pattern = if anchored.contains('/') { anchored.to_owned() } else { format!("**/{anchored}") };
                let tokens = Parser::parse(&pattern)
                    .map_err(|reason| GlobError { glob: glob.clone(), reason: reason.to_string() })?;
                Ok(Automaton::compile(&tokens))
            })
            .collect::<Result<_, _>>()?;
        Ok(GlobSet { globs })
    }

    /// Whether the path (relative to the target's directory, `/`-separated)
    /// matches one of the globs.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        // One set of buffers for every glob: a plan or a lint matches
        // thousands of paths.
        let mut run = Run::default();
        self.globs.iter().any(|glob| glob.is_match(path.as_bytes(), &mut run))
    }
}

/// A glob's pieces, as globset reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`: one byte, not `/`.
    Any,
    /// `*`: any bytes but `/`.
    ZeroOrMore,
    /// `**/` at the start: nothing, or anything ending in `/`.
    RecursivePrefix,
    /// `/**` at the end: `/` and anything.
    RecursiveSuffix,
    /// `/**/` inside: `/`, or `/` anything `/`.
    RecursiveZeroOrMore,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Alternates(Vec<Vec<Token>>),
}

/// What is wrong with a glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    UnclosedClass,
    BackwardsRange(char, char),
    UnopenedAlternates,
    UnclosedAlternates,
    DanglingEscape,
    TooDeep,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UnclosedClass => write!(f, "a `[` class is never closed by `]`"),
            Reason::BackwardsRange(from, to) => write!(f, "the class range `{from}-{to}` runs backwards"),
            Reason::UnopenedAlternates => write!(f, "a `}}` closes no `{{` (write `[}}]` for the character)"),
            Reason::UnclosedAlternates => write!(f, "a `{{` is never closed by `}}` (write `[{{]` for the character)"),
            Reason::DanglingEscape => write!(f, "it ends in a lone `\\`"),
            Reason::TooDeep => write!(f, "its `{{` nest more than {MAX_NESTING} deep"),
        }
    }
}

/// globset's parser, step for step, so that every glob means what it did.
struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    prev: Option<char>,
    cur: Option<char>,
    /// Where each open `{` started in `branches`.
    alternates_stack: Vec<usize>,
    /// The branches being parsed; tokens go to the last.
    branches: Vec<Vec<Token>>,
}

impl Parser<'_> {
    fn parse(glob: &str) -> Result<Vec<Token>, Reason> {
        let mut parser = Parser {
            chars: glob.chars().peekable(),
            prev: None,
            cur: None,
            alternates_stack: Vec::new(),
            branches: vec![Vec::new()],
        };
        while let Some(c) = parser.bump() {
            match c {
                '?' => parser.push(Token::Any),
                '*' => parser.star(),
                '[' => parser.class()?,
                '{' => {
                    if parser.alternates_stack.len() >= MAX_NESTING {
                        return Err(Reason::TooDeep);
                    }
                    parser.alternates_stack.push(parser.branches.len());
                    parser.branches.push(Vec::new());
                }
                '}' => {
                    let start = parser.alternates_stack.pop().ok_or(Reason::UnopenedAlternates)?;
                    let alternates = parser.branches.split_off(start);
                    parser.push(Token::Alternates(alternates));
                }
                ',' if !parser.alternates_stack.is_empty() => parser.branches.push(Vec::new()),
                '\\' => {
                    let escaped = parser.bump().ok_or(Reason::DanglingEscape)?;
                    parser.push(Token::Literal(escaped));
                }
                c => parser.push(Token::Literal(c)),
            }
        }
        match parser.branches.pop() {
            Some(tokens) if parser.branches.is_empty() => Ok(tokens),
            _ => Err(Reason::UnclosedAlternates),
        }
    }

    fn bump(&mut self) -> Option<char> {
        self.prev = self.cur;
        self.cur = self.chars.next();
        self.cur
    }

    fn push(&mut self, token: Token) {
        // The first branch is never split off: there is always a last.
        if let Some(branch) = self.branches.last_mut() {
            branch.push(token);
        }
    }

    fn branch_is_empty(&self) -> bool {
        self.branches.last().is_none_or(Vec::is_empty)
    }

    /// After a `*`: `**` is recursive only as a whole path component.
    fn star(&mut self) {
        let prev = self.prev;
        if self.chars.peek() != Some(&'*') {
            self.push(Token::ZeroOrMore);
            return;
        }
        self.bump();
        if self.branch_is_empty() {
            if self.chars.peek().is_none_or(|&c| c == '/') {
                self.push(Token::RecursivePrefix);
                self.bump();
            } else {
                self.push(Token::ZeroOrMore);
                self.push(Token::ZeroOrMore);
            }
            return;
        }
        if prev != Some('/') && (self.branches.len() <= 1 || (prev != Some(',') && prev != Some('{'))) {
            self.push(Token::ZeroOrMore);
            self.push(Token::ZeroOrMore);
            return;
        }
        let is_suffix = match self.chars.peek() {
            None => true,
            Some(',' | '}') if self.branches.len() >= 2 => true,
            Some('/') => {
                self.bump();
                false
            }
            Some(_) => {
                self.push(Token::ZeroOrMore);
                self.push(Token::ZeroOrMore);
                return;
            }
        };
        // The `/` before `**` was pushed as a literal: it becomes part of
        // the recursive token, unless that token already is one.
        let last = self.branches.last_mut().and_then(Vec::pop);
        let token = match last {
            Some(Token::RecursivePrefix) => Token::RecursivePrefix,
            Some(Token::RecursiveSuffix) => Token::RecursiveSuffix,
            _ if is_suffix => Token::RecursiveSuffix,
            _ => Token::RecursiveZeroOrMore,
        };
        self.push(token);
    }

    /// After a `[`: a class up to the next `]` (a `]` or `-` first is
    /// literal, as is a `-` last).
    fn class(&mut self) -> Result<(), Reason> {
        let negated = matches!(self.chars.peek(), Some('!' | '^'));
        if negated {
            self.bump();
        }
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        let mut in_range = false;
        loop {
            let c = self.bump().ok_or(Reason::UnclosedClass)?;
            match c {
                ']' if !first => break,
                '-' if first => ranges.push(('-', '-')),
                '-' if !in_range => in_range = true,
                c => match ranges.last_mut() {
                    Some(range) if in_range => {
                        range.1 = c;
                        if range.1 < range.0 {
                            return Err(Reason::BackwardsRange(range.0, range.1));
                        }
                        in_range = false;
                    }
                    _ => ranges.push((c, c)),
                },
            }
            first = false;
        }
        if in_range {
            ranges.push(('-', '-'));
        }
        self.push(Token::Class { negated, ranges });
        Ok(())
    }
}

/// A set of bytes, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    const EMPTY: ByteSet = ByteSet([0; 4]);
    const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    fn single(byte: u8) -> ByteSet {
        let mut set = ByteSet::EMPTY;
        set.insert(byte);
        set
    }

    fn all_but_slash() -> ByteSet {
        let mut set = ByteSet::EMPTY;
        set.insert(b'/');
        set.0.iter_mut().for_each(|word| *word = !*word);
        set
    }

    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte / 64)] |= 1 << (byte % 64);
    }

    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte / 64)] & (1 << (byte % 64)) != 0
    }

    /// A class as globset's byte-wise regular expression reads it: the
    /// bytes of each character, a range running from the last byte of its
    /// first character to the first byte of its last.
    fn class(negated: bool, ranges: &[(char, char)]) -> ByteSet {
        let mut set = ByteSet::EMPTY;
        for &(from, to) in ranges {
            let (mut from_buf, mut to_buf) = ([0; 4], [0; 4]);
            let from = from.encode_utf8(&mut from_buf).as_bytes();
            let to = to.encode_utf8(&mut to_buf).as_bytes();
            let (Some((&from_last, from_rest)), Some((&to_first, to_rest))) = (from.split_last(), to.split_first())
            else {
                continue;
            };
            if from == to {
                from.iter().for_each(|&b| set.insert(b));
                continue;
            }
            from_rest.iter().chain(to_rest).for_each(|&b| set.insert(b));
            (from_last..=to_first).for_each(|b| set.insert(b));
        }
        if negated {
            set.0.iter_mut().for_each(|word| *word = !*word);
        }
        set
    }
}

#[derive(Debug, Clone)]
enum State {
    /// Consume one byte of the set, go on.
    Byte {
        set: ByteSet,
        next: usize,
    },
    /// Go on both ways without consuming.
    Split(usize, usize),
    Match,
}

/// One glob as a non-deterministic automaton over bytes, matched against
/// the whole path.
#[derive(Debug, Clone)]
struct Automaton {
    states: Vec<State>,
    start: usize,
}

impl Automaton {
    fn compile(tokens: &[Token]) -> Automaton {
        let mut automaton = Automaton { states: vec![State::Match], start: 0 };
        automaton.start = if tokens == [Token::RecursivePrefix] {
            // `**` alone matches everything.
            automaton.repeat(ByteSet::ALL, 0)
        } else {
            automaton.sequence(tokens, 0)
        };
        automaton
    }

    fn add(&mut self, state: State) -> usize {
        self.states.push(state);
        self.states.len() - 1
    }

    /// Bytes of `set`, any number of them, then `next`.
    fn repeat(&mut self, set: ByteSet, next: usize) -> usize {
        let split = self.add(State::Split(next, next));
        let byte = self.add(State::Byte { set, next: split });
        self.states[split] = State::Split(byte, next);
        split
    }

    fn byte(&mut self, byte: u8, next: usize) -> usize {
        self.add(State::Byte { set: ByteSet::single(byte), next })
    }

    /// The tokens, then `next`: built from the end backwards.
    fn sequence(&mut self, tokens: &[Token], next: usize) -> usize {
        tokens.iter().rev().fold(next, |next, token| self.token(token, next))
    }

    fn token(&mut self, token: &Token, next: usize) -> usize {
        match token {
            Token::Literal(c) => c.encode_utf8(&mut [0; 4]).bytes().rev().fold(next, |next, b| self.byte(b, next)),
            Token::Any => self.add(State::Byte { set: ByteSet::all_but_slash(), next }),
            Token::ZeroOrMore => self.repeat(ByteSet::all_but_slash(), next),
            Token::RecursivePrefix => {
                let slash = self.byte(b'/', next);
                let optional_slash = self.add(State::Split(slash, next));
                let anything_then_slash = self.repeat(ByteSet::ALL, slash);
                self.add(State::Split(optional_slash, anything_then_slash))
            }
            Token::RecursiveSuffix => {
                let anything = self.repeat(ByteSet::ALL, next);
                self.byte(b'/', anything)
            }
            Token::RecursiveZeroOrMore => {
                let slash = self.byte(b'/', next);
                let anything_then_slash = self.repeat(ByteSet::ALL, slash);
                let either = self.add(State::Split(next, anything_then_slash));
                self.byte(b'/', either)
            }
            Token::Class { negated, ranges } => self.add(State::Byte { set: ByteSet::class(*negated, ranges), next }),
            Token::Alternates(branches) => {
                // globset leaves out a branch that says nothing: `{,a}`
                // needs the `a`.
                let starts: Vec<usize> = branches
                    .iter()
                    .filter(|branch| !says_nothing(branch))
                    .map(|branch| self.sequence(branch, next))
                    .collect();
                starts.into_iter().reduce(|either, start| self.add(State::Split(either, start))).unwrap_or(next)
            }
        }
    }

    fn is_match(&self, path: &[u8], run: &mut Run) -> bool {
        run.current.clear();
        run.next.clear();
        run.seen.clear();
        run.seen.resize(self.states.len(), 0);
        self.enter(self.start, 1, run);
        std::mem::swap(&mut run.current, &mut run.next);
        for (step, &byte) in (2..).zip(path) {
            for index in 0..run.current.len() {
                if let State::Byte { set, next } = &self.states[run.current[index]] {
                    if set.contains(byte) {
                        self.enter(*next, step, run);
                    }
                }
            }
            if run.next.is_empty() {
                return false;
            }
            std::mem::swap(&mut run.current, &mut run.next);
            run.next.clear();
        }
        run.current.iter().any(|&state| matches!(self.states[state], State::Match))
    }

    /// Adds a state to the next step's, with every state a split leads to
    /// without consuming, each once per step.
    fn enter(&self, state: usize, step: usize, run: &mut Run) {
        run.pending.push(state);
        while let Some(state) = run.pending.pop() {
            if run.seen[state] == step {
                continue;
            }
            run.seen[state] = step;
            match self.states[state] {
                State::Split(a, b) => run.pending.extend([b, a]),
                State::Byte { .. } | State::Match => run.next.push(state),
            }
        }
    }
}

/// The states an automaton is in while it reads a path.
#[derive(Default)]
struct Run {
    current: Vec<usize>,
    next: Vec<usize>,
    pending: Vec<usize>,
    /// The step at which each state was last entered (steps count from 1).
    seen: Vec<usize>,
}

/// Whether a branch of alternatives compiles to nothing at all (globset
/// drops such a branch instead of letting it match the empty string).
fn says_nothing(tokens: &[Token]) -> bool {
    tokens.iter().all(|token| match token {
        Token::Alternates(branches) => branches.iter().all(|branch| says_nothing(branch)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(globs: &[&str]) -> GlobSet {
        GlobSet::new(&globs.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>()).expect("valid globs")
    }

    fn refused(glob: &str) -> String {
        GlobSet::new(&[glob.to_owned()]).expect_err(glob).to_string()
    }

    #[test]
    fn a_star_stays_within_a_directory() {
        let guides = set(&["guides/*.md"]);
        assert!(guides.is_match("guides/a.md") && guides.is_match("guides/.md"));
        assert!(!guides.is_match("guides/x/a.md") && !guides.is_match("a.md"));
    }

    #[test]
    fn a_glob_without_slash_matches_the_name_at_any_depth() {
        let md = set(&["*.md", "./README"]);
        assert!(md.is_match("a.md") && md.is_match("x/y/a.md") && md.is_match("README") && md.is_match("x/README"));
        assert!(!md.is_match("a.mdx") && !md.is_match("a.md/b"));
    }

    #[test]
    fn double_star_crosses_directories_as_a_whole_component() {
        let deep = set(&["guides/**/*.md"]);
        assert!(deep.is_match("guides/a.md") && deep.is_match("guides/x/y/a.md"));
        assert!(!deep.is_match("other/guides/a.md"));
        let under = set(&["api/**"]);
        assert!(under.is_match("api/x") && under.is_match("api/x/y") && !under.is_match("api"));
        // Not a whole component: an ordinary star.
        let glued = set(&["a**/b"]);
        assert!(glued.is_match("ax/b") && !glued.is_match("ax/y/b"));
        assert!(set(&["**"]).is_match("any/thing"));
    }

    #[test]
    fn question_marks_and_classes() {
        let one = set(&["p?.md", "[a-c]x.md", "[!a-c]y.md", "[]]z"]);
        assert!(one.is_match("p1.md") && !one.is_match("p12.md") && !one.is_match("p/.md"));
        assert!(one.is_match("bx.md") && !one.is_match("dx.md"));
        assert!(one.is_match("dy.md") && !one.is_match("ay.md"));
        assert!(one.is_match("]z"));
        // Bytes, as globset: `?` is one byte of UTF-8.
        assert!(!set(&["?.md"]).is_match("é.md") && set(&["??.md"]).is_match("é.md"));
    }

    #[test]
    fn braces_hold_alternatives() {
        let either = set(&["*.{md,yml}", "docs/{a,b/{c,d}}.txt", "x{,y}"]);
        assert!(either.is_match("a.md") && either.is_match("d/a.yml") && !either.is_match("a.yaml"));
        assert!(either.is_match("docs/a.txt") && either.is_match("docs/b/d.txt") && !either.is_match("docs/b.txt"));
        // An empty alternative is dropped, as globset does.
        assert!(either.is_match("xy") && !either.is_match("x"));
    }

    #[test]
    fn escapes_are_literal() {
        let escaped = set(&["\\*.md", "a\\{b"]);
        assert!(escaped.is_match("*.md") && !escaped.is_match("x.md") && escaped.is_match("a{b"));
    }

    #[test]
    fn bad_globs_are_refused_with_the_glob_as_written() {
        assert_eq!(refused("docs/["), "`docs/[`: a `[` class is never closed by `]`");
        assert_eq!(refused("[z-a]"), "`[z-a]`: the class range `z-a` runs backwards");
        assert_eq!(refused("*.{md"), "`*.{md`: a `{` is never closed by `}` (write `[{]` for the character)");
        assert_eq!(refused("a}"), "`a}`: a `}` closes no `{` (write `[}]` for the character)");
        assert_eq!(refused("a\\"), "`a\\`: it ends in a lone `\\`");
        assert!(refused(&"{".repeat(100)).ends_with("nest more than 64 deep"));
        for glob in ["[]", "[!]", "{a,{b,c}", "[z--]"] {
            assert!(GlobSet::new(&[glob.to_owned()]).is_err(), "{glob}");
        }
    }

    /// The paths of [`GLOBSET_MATCHED`].
    const PATHS: &[&str] = &[
        "a.md",
        "x/a.md",
        "guides/a.md",
        "guides/x/a.md",
        "api",
        "api/x/y",
        "ax/b",
        "ax/y/b",
        "a/b",
        "a/x/y/b",
        "b/c.txt",
        "a.txt",
        "x",
        "xy",
        "bé.md",
        "é",
        "*",
        "x/é",
        "README.md",
        "docs/a.png",
        "ab",
        ".md",
        "b",
        "]x",
        "-x",
        "x/",
        "x/y/",
        "c",
        "ä",
    ];

    /// What globset (0.4.19, literal separator, behind the same `**/`
    /// for a glob without `/`) answered for each glob on [`PATHS`],
    /// recorded before it was replaced (globset, a dev-dependency, checks
    /// random globs too: `matches_as_globset_on_random_globs_and_paths`).
    const GLOBSET_MATCHED: &[(&str, &[&str])] = &[
        ("*.md", &["a.md", "x/a.md", "guides/a.md", "guides/x/a.md", "bé.md", "README.md", ".md"]),
        ("guides/*.md", &["guides/a.md"]),
        ("guides/**/*.md", &["guides/a.md", "guides/x/a.md"]),
        ("**", PATHS),
        ("api/**", &["api/x/y"]),
        ("a**/b", &["ax/b", "a/b"]),
        ("**/a", &[]),
        ("a/**/b", &["a/b", "a/x/y/b"]),
        ("*.{md,yml}", &["a.md", "x/a.md", "guides/a.md", "guides/x/a.md", "bé.md", "README.md", ".md"]),
        ("{a,b/{c,d}}.txt", &["b/c.txt", "a.txt"]),
        ("x{,y}", &["xy"]),
        ("[a-c]?.md", &[]),
        ("[!a-c]*", &["api/x/y", "x", "xy", "é", "*", "x/é", "README.md", ".md", "]x", "-x", "ä"]),
        ("[]-]x", &["]x", "-x"]),
        ("[é]", &[]),
        ("?", &["api/x/y", "ax/b", "ax/y/b", "a/b", "a/x/y/b", "x", "*", "b", "c"]),
        ("\\*", &["*"]),
        ("{**/a,b}", &["b"]),
        ("{a/**,c}", &["a/b", "a/x/y/b", "c"]),
        ("/README.md", &["README.md"]),
        ("./docs/*.png", &["docs/a.png"]),
        ("a{}b", &["ab"]),
        ("x/**/", &["x/", "x/y/"]),
        ("[à-é]", &[]),
        ("**/**", PATHS),
    ];

    /// Random globs over the syntax's every piece, each matched against
    /// random paths by this matcher and by globset (0.4.19, literal
    /// separator, behind the same `**/` for a glob without `/`): the same
    /// globs refused, the same paths matched.
    #[test]
    fn matches_as_globset_on_random_globs_and_paths() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

        const GLOB_PIECES: &[&str] = &[
            "a", "b", "é", ".", "-", "/", "./", "*", "**", "**/", "/**", "?", "[a-c]", "[!a]", "[^b-]", "[]a]", "[é]",
            "{", "}", ",", "{a,b}", "{,a}", "\\", "\\*", "[", "]",
        ];
        const PATH_PIECES: &[&str] = &["a", "b", "c", "é", ".", "-", "/", "*", "]", "ab", "md"];
        fn joined(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(pieces), 0..max).prop_map(|p| p.concat())
        }
        let reference = |glob: &str| {
            // What `GlobSet::new` does before parsing, as docsync did with globset.
            let anchored = glob.trim_start_matches("./").trim_start_matches('/');
            let pattern = if anchored.contains('/') { anchored.to_owned() } else { format!("**/{anchored}") };
            let glob = globset::GlobBuilder::new(&pattern).literal_separator(true).build()?;
            globset::GlobSetBuilder::new().add(glob).build()
        };
        let config = Config {
            cases: 3_000,
            max_shrink_iters: 256,
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..Config::default()
        };
        let cases = (joined(GLOB_PIECES, 7), prop::collection::vec(joined(PATH_PIECES, 7), 1..16));
        let result = TestRunner::new(config).run(&cases, |(glob, paths)| {
            let ours = GlobSet::new(std::slice::from_ref(&glob));
            match (ours, reference(&glob)) {
                (Ok(ours), Ok(theirs)) => {
                    // git refuses a `..` component in a tree (and globset
                    // never matches a name `..` by its literal strategies),
                    // so no path docsync matches holds one.
                    for path in paths.iter().filter(|path| !path.split('/').any(|part| part == "..")) {
                        prop_assert_eq!(ours.is_match(path), theirs.is_match(path), "{:?} on {:?}", glob, path);
                    }
                }
                (Err(_), Err(_)) => {}
                (ours, theirs) => {
                    prop_assert!(false, "{glob:?}: ours {:?}, globset {:?}", ours.err(), theirs.err());
                }
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }

    #[test]
    fn matches_as_globset_did() {
        for (glob, expected) in GLOBSET_MATCHED {
            let ours = set(&[glob]);
            let matched: Vec<&str> = PATHS.iter().copied().filter(|path| ours.is_match(path)).collect();
            assert_eq!(&matched, expected, "{glob}");
        }
    }
}
