//! Rename detection exactly as `git diff -M` does it (git's
//! `diffcore-rename.c` and `diffcore-delta.c`, for renames without copy or
//! break detection), so that docsync's change set equals git's.
//!
//! libgit2's own `find_similar` measures similarity differently (its scores
//! disagree with git's near the 50% line), so pairing the deleted and added
//! files of the raw tree diff (`diff::tree_changes`) is done here:
//!
//! 1. exact renames: same blob (and the same mode for non-regular files),
//!    preferring an unused source with the same file name;
//! 2. files whose name is unique among the remaining deleted and among the
//!    remaining added files are paired when at least 75% similar;
//! 3. every remaining pair is scored, the best four sources kept per
//!    destination, and pairs taken best first down to 50%; skipped when the
//!    candidates exceed git's `diff.renameLimit` (1000) squared.
//!
//! Not reproduced: `.gitattributes` (git may treat a file as binary by
//! attribute; here only a NUL byte in the first 8000 bytes does).

use std::collections::HashMap;
use std::sync::Arc;

/// git's scale for similarity scores.
const MAX_SCORE: u64 = 60_000;
/// `-M` without a number: 50%.
const MINIMUM_SCORE: u64 = MAX_SCORE / 2;
/// Basename matches need half-way between the minimum and a perfect score.
const MIN_BASENAME_SCORE: u64 = MINIMUM_SCORE + MAX_SCORE / 4;
/// git's default `diff.renameLimit`.
pub(crate) const RENAME_LIMIT: usize = 1000;
const NUM_CANDIDATE_PER_DST: usize = 4;
/// Exact-match alternatives looked at per destination.
const EXACT_ALTERNATIVES: usize = 100;

/// One side of a candidate: a deleted file (source) or an added file
/// (destination).
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub path: String,
    /// The blob id, as bytes (any length; compared for equality only).
    pub id: Vec<u8>,
    /// The git file mode (`0o100644`, `0o120000`…).
    pub mode: u32,
}

pub(crate) fn is_regular(mode: u32) -> bool {
    mode & 0o170000 == 0o100000
}

/// Blob sizes and contents, from the repository.
pub(crate) trait Blobs {
    fn size(&mut self, id: &[u8]) -> Option<u64>;
    /// Lends a blob's content to `read`, without copying it; false when the
    /// blob cannot be read.
    fn content(&mut self, id: &[u8], read: &mut dyn FnMut(&[u8])) -> bool;
}

/// What detection found: `(source index, destination index)` pairs, and
/// whether inexact detection was skipped for exceeding the limit.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Renames {
    pub pairs: Vec<(usize, usize)>,
    pub skipped_inexact: Option<(usize, usize)>,
}

/// Pairs deleted files (`sources`) with added files (`destinations`), both
/// in git's queue order (path order).
pub(crate) fn detect(sources: &[Candidate], destinations: &[Candidate], blobs: &mut dyn Blobs) -> Renames {
    if sources.is_empty() || destinations.is_empty() {
        return Renames::default();
    }
    let mut pairing = Pairing {
        found: Renames::default(),
        src_used: vec![false; sources.len()],
        dst_renamed: vec![false; destinations.len()],
    };
    pair_exact(&mut pairing, sources, destinations);
    let mut similarity = Similarity { sizes: HashMap::new(), spans: HashMap::new() };
    pair_unique_names(&mut pairing, sources, destinations, &mut similarity, blobs);
    pair_by_score(&mut pairing, sources, destinations, &mut similarity, blobs);
    pairing.found
}

/// The pairs found so far, and which sources and destinations they took.
struct Pairing {
    found: Renames,
    src_used: Vec<bool>,
    dst_renamed: Vec<bool>,
}

impl Pairing {
    fn record(&mut self, s: usize, d: usize) {
        self.src_used[s] = true;
        self.dst_renamed[d] = true;
        self.found.pairs.push((s, d));
    }
}

/// 1. Exact renames.
fn pair_exact(pairing: &mut Pairing, sources: &[Candidate], destinations: &[Candidate]) {
    let mut by_id: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (index, source) in sources.iter().enumerate() {
        by_id.entry(source.id.as_slice()).or_default().push(index);
    }
    for (d, destination) in destinations.iter().enumerate() {
        let Some(same) = by_id.get(destination.id.as_slice()) else { continue };
        let mut best: Option<(usize, u8)> = None;
        for &s in same.iter().take(EXACT_ALTERNATIVES) {
            let source = &sources[s];
            if (!is_regular(source.mode) || !is_regular(destination.mode)) && source.mode != destination.mode {
                continue;
            }
            if pairing.src_used[s] {
                continue;
            }
            let score = 1 + u8::from(basename_same(&source.path, &destination.path));
            if best.is_none_or(|(_, best_score)| score > best_score) {
                best = Some((s, score));
                if score == 2 {
                    break;
                }
            }
        }
        if let Some((s, _)) = best {
            pairing.record(s, d);
        }
    }
}

/// 2. Unique file names on both sides.
fn pair_unique_names(
    pairing: &mut Pairing,
    sources: &[Candidate],
    destinations: &[Candidate],
    similarity: &mut Similarity,
    blobs: &mut dyn Blobs,
) {
    let mut source_names: HashMap<&str, Option<usize>> = HashMap::new();
    for (s, source) in sources.iter().enumerate().filter(|(s, _)| !pairing.src_used[*s]) {
        source_names.entry(basename(&source.path)).and_modify(|e| *e = None).or_insert(Some(s));
    }
    let mut destination_names: HashMap<&str, Option<usize>> = HashMap::new();
    for (d, destination) in destinations.iter().enumerate().filter(|(d, _)| !pairing.dst_renamed[*d]) {
        destination_names.entry(basename(&destination.path)).and_modify(|e| *e = None).or_insert(Some(d));
    }
    for (s, source) in sources.iter().enumerate() {
        if pairing.src_used[s] {
            continue;
        }
        let name = basename(&source.path);
        let (Some(Some(unique_src)), Some(Some(d))) = (source_names.get(name), destination_names.get(name)) else {
            continue;
        };
        if *unique_src != s || pairing.dst_renamed[*d] {
            continue;
        }
        let d = *d;
        let score = similarity.estimate(source, &destinations[d], MIN_BASENAME_SCORE, blobs);
        if score >= MIN_BASENAME_SCORE {
            pairing.record(s, d);
        }
    }
}

/// 3. The matrix of every remaining pair.
fn pair_by_score(
    pairing: &mut Pairing,
    sources: &[Candidate],
    destinations: &[Candidate],
    similarity: &mut Similarity,
    blobs: &mut dyn Blobs,
) {
    let remaining_sources: Vec<usize> = (0..sources.len()).filter(|s| !pairing.src_used[*s]).collect();
    let remaining_destinations = pairing.dst_renamed.iter().filter(|renamed| !**renamed).count();
    if remaining_sources.is_empty() || remaining_destinations == 0 {
        return;
    }
    if remaining_destinations.saturating_mul(remaining_sources.len()) > RENAME_LIMIT * RENAME_LIMIT {
        pairing.found.skipped_inexact = Some((remaining_sources.len(), remaining_destinations));
        return;
    }
    // Every remaining pair is scored, so every remaining blob is needed:
    // read them once here, then score the rows in parallel without the
    // repository (which is not shared across threads).
    let remaining_destinations: Vec<usize> = (0..destinations.len()).filter(|d| !pairing.dst_renamed[*d]).collect();
    let source_sigs: Vec<Option<Signature>> =
        remaining_sources.iter().map(|&s| similarity.signature(&sources[s], blobs)).collect();
    let destination_sigs: Vec<Option<Signature>> =
        remaining_destinations.iter().map(|&d| similarity.signature(&destinations[d], blobs)).collect();
    let row = |i: usize| -> [Score; NUM_CANDIDATE_PER_DST] {
        let d = remaining_destinations[i];
        let mut best = [Score::UNUSED; NUM_CANDIDATE_PER_DST];
        for (j, &s) in remaining_sources.iter().enumerate() {
            let score = match (&source_sigs[j], &destination_sigs[i]) {
                (Some(src), Some(dst)) => estimate(src, dst, MINIMUM_SCORE),
                _ => 0,
            };
            let candidate = Score {
                dst: Some(d),
                src: s,
                score,
                name_score: u8::from(basename_same(&sources[s].path, &destinations[d].path)),
            };
            record_if_better(&mut best, candidate);
        }
        best
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, remaining_destinations.len());
    let chunk = remaining_destinations.len().div_ceil(threads);
    let rows: Vec<usize> = (0..remaining_destinations.len()).collect();
    let mut matrix: Vec<Score> = std::thread::scope(|scope| {
        let workers: Vec<_> = rows
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().flat_map(|&i| row(i)).collect::<Vec<Score>>()))
            .collect();
        workers.into_iter().flat_map(|worker| worker.join().expect("a scoring thread panicked")).collect()
    });
    // A stable sort, as git's STABLE_QSORT: ties keep the matrix's order.
    matrix.sort_by(Score::order);
    for candidate in matrix {
        let Some(d) = candidate.dst else { break };
        if candidate.score < MINIMUM_SCORE {
            break;
        }
        if pairing.dst_renamed[d] || pairing.src_used[candidate.src] {
            continue;
        }
        pairing.record(candidate.src, d);
    }
}

#[derive(Debug, Clone, Copy)]
struct Score {
    dst: Option<usize>,
    src: usize,
    score: u64,
    name_score: u8,
}

impl Score {
    const UNUSED: Score = Score { dst: None, src: 0, score: 0, name_score: 0 };

    /// git's `score_compare`: unused last, then higher score, then same name.
    fn order(a: &Score, b: &Score) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (a.dst, b.dst) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            _ if a.score == b.score => b.name_score.cmp(&a.name_score),
            _ => b.score.cmp(&a.score),
        }
    }
}

/// git's `record_if_better`: replace the worst of the kept candidates.
fn record_if_better(kept: &mut [Score; NUM_CANDIDATE_PER_DST], candidate: Score) {
    let mut worst = 0;
    for i in 1..NUM_CANDIDATE_PER_DST {
        if Score::order(&kept[i], &kept[worst]) == std::cmp::Ordering::Greater {
            worst = i;
        }
    }
    if Score::order(&kept[worst], &candidate) == std::cmp::Ordering::Greater {
        kept[worst] = candidate;
    }
}

fn basename(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// git's `basename_same`: the two paths end in the same file name.
fn basename_same(a: &str, b: &str) -> bool {
    basename(a) == basename(b)
}

/// What scoring needs of a regular file: its size and its span hashes
/// (sorted by hash, bytes per hash). The spans are shared with the cache,
/// not copied: on a range with many large images they are most of the
/// memory rename detection holds.
struct Signature {
    size: u64,
    spans: Arc<[Span]>,
}

/// One of a file's span hashes and how many bytes it covers. A `u32` count,
/// as git's `spanhash.cnt`: eight bytes an entry instead of sixteen.
type Span = (u32, u32);

/// git's `estimate_similarity` on two signatures, 0..=60000.
fn estimate(src: &Signature, dst: &Signature, minimum: u64) -> u64 {
    let max_size = src.size.max(dst.size);
    let delta_size = max_size - src.size.min(dst.size);
    // Edits that change the size this much are never renames.
    if max_size * (MAX_SCORE - minimum) < delta_size * MAX_SCORE || dst.size == 0 {
        return 0;
    }
    // Both lists are sorted by hash: walk them together.
    let (mut copied, mut d) = (0u64, 0usize);
    for &(hash, count) in src.spans.iter() {
        while d < dst.spans.len() && dst.spans[d].0 < hash {
            d += 1;
        }
        if d < dst.spans.len() && dst.spans[d].0 == hash {
            copied += u64::from(count.min(dst.spans[d].1));
            d += 1;
        }
    }
    copied * MAX_SCORE / max_size
}

/// Sizes and span hashes per blob, each computed once.
struct Similarity {
    sizes: HashMap<Vec<u8>, Option<u64>>,
    spans: HashMap<Vec<u8>, Option<Arc<[Span]>>>,
}

impl Similarity {
    /// git's `estimate_similarity`: how much of the larger file was copied
    /// from the source, on a 0..=60000 scale.
    fn estimate(&mut self, src: &Candidate, dst: &Candidate, minimum: u64, blobs: &mut dyn Blobs) -> u64 {
        // Symlinks and submodules are renamed only when identical.
        if !is_regular(src.mode) || !is_regular(dst.mode) {
            return 0;
        }
        let (Some(src_size), Some(dst_size)) = (self.size(&src.id, blobs), self.size(&dst.id, blobs)) else {
            return 0;
        };
        let max_size = src_size.max(dst_size);
        let delta_size = max_size - src_size.min(dst_size);
        if max_size * (MAX_SCORE - minimum) < delta_size * MAX_SCORE {
            return 0;
        }
        let (Some(src), Some(dst)) = (self.signature(src, blobs), self.signature(dst, blobs)) else {
            return 0;
        };
        estimate(&src, &dst, minimum)
    }

    /// A regular file's signature; `None` for other modes or unreadable blobs.
    fn signature(&mut self, file: &Candidate, blobs: &mut dyn Blobs) -> Option<Signature> {
        if !is_regular(file.mode) {
            return None;
        }
        let size = self.size(&file.id, blobs)?;
        if !self.spans.contains_key(&file.id) {
            // The content is dropped as soon as its spans are counted.
            let mut spans = None;
            blobs.content(&file.id, &mut |content| spans = Some(Arc::from(span_hashes(content))));
            self.spans.insert(file.id.clone(), spans);
        }
        let spans = Arc::clone(self.spans.get(&file.id)?.as_ref()?);
        Some(Signature { size, spans })
    }

    fn size(&mut self, id: &[u8], blobs: &mut dyn Blobs) -> Option<u64> {
        if let Some(size) = self.sizes.get(id) {
            return *size;
        }
        let size = blobs.size(id);
        self.sizes.insert(id.to_vec(), size);
        size
    }
}

/// git's `hash_chars`: cut the content at each LF or every 64 bytes, hash
/// each chunk, and count the bytes per hash. A CR before an LF is ignored in
/// text; a last chunk without LF is not counted (as in git).
fn span_hashes(content: &[u8]) -> Vec<Span> {
    const HASHBASE: u32 = 107_927;
    let is_text = !content.iter().take(8000).any(|b| *b == 0);
    // At most one chunk per LF, and one per 64 bytes without.
    let lines = content.iter().filter(|b| **b == b'\n').count();
    let mut spans: Vec<Span> = Vec::with_capacity(lines + content.len() / 64 + 1);
    let (mut accum1, mut accum2, mut n) = (0u32, 0u32, 0u32);
    for (i, &byte) in content.iter().enumerate() {
        let c = u32::from(byte);
        if is_text && byte == b'\r' && content.get(i + 1) == Some(&b'\n') {
            continue;
        }
        let old1 = accum1;
        accum1 = (accum1 << 7) ^ (accum2 >> 25);
        accum2 = (accum2 << 7) ^ (old1 >> 25);
        accum1 = accum1.wrapping_add(c);
        n += 1;
        if n < 64 && byte != b'\n' {
            continue;
        }
        spans.push((accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE, n));
        n = 0;
        accum1 = 0;
        accum2 = 0;
    }
    spans.sort_unstable_by_key(|&(hash, _)| hash);
    // Merge equal hashes in place, adding up their bytes (wrapping, as
    // git's unsigned `cnt`).
    spans.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 = kept.1.wrapping_add(next.1);
        }
        same
    });
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Memory(HashMap<Vec<u8>, Vec<u8>>);

    impl Blobs for Memory {
        fn size(&mut self, id: &[u8]) -> Option<u64> {
            self.0.get(id).map(|c| c.len() as u64)
        }
        fn content(&mut self, id: &[u8], read: &mut dyn FnMut(&[u8])) -> bool {
            self.0.get(id).map(|content| read(content)).is_some()
        }
    }

    fn file(path: &str, content: &str, blobs: &mut Memory) -> Candidate {
        let id = content.as_bytes().to_vec();
        blobs.0.insert(id.clone(), content.as_bytes().to_vec());
        Candidate { path: path.to_owned(), id, mode: 0o100644 }
    }

    fn lines(prefix: &str, count: usize) -> String {
        (0..count).map(|i| format!("{prefix} line number {i}\n")).collect()
    }

    #[test]
    fn span_hashes_count_bytes_per_line_and_drop_an_unterminated_tail() {
        let counts = span_hashes(b"abc\nabc\nxy");
        assert_eq!(counts.iter().map(|c| c.1).sum::<u32>(), 8, "two 4-byte lines; the tail without LF is not counted");
        assert_eq!(counts.len(), 1);
        let crlf = span_hashes(b"abc\r\nabc\n");
        assert_eq!(crlf, span_hashes(b"abc\nabc\n"), "CR before LF is ignored in text");
    }

    #[test]
    fn mostly_rewritten_file_is_not_a_rename_but_half_is() {
        // Checked against git 2.47: `git diff -M` says D+A for the first
        // pair and R050, R090 for the others.
        let mut blobs = Memory(HashMap::new());
        let original = lines("same", 10);
        let mostly: String = lines("same", 4) + &lines("new", 6);
        let half: String = lines("same", 5) + &lines("new", 5);
        let small_edit = lines("same", 9) + "changed\n";
        let sources = [file("a.md", &original, &mut blobs)];
        let rewritten = [file("b.md", &mostly, &mut blobs)];
        assert_eq!(detect(&sources, &rewritten, &mut blobs).pairs, vec![]);
        let halfway = [file("b.md", &half, &mut blobs)];
        assert_eq!(detect(&sources, &halfway, &mut blobs).pairs, vec![(0, 0)]);
        let edited = [file("c.md", &small_edit, &mut blobs)];
        assert_eq!(detect(&sources, &edited, &mut blobs).pairs, vec![(0, 0)]);
    }

    #[test]
    fn exact_renames_prefer_an_unused_source_with_the_same_name() {
        let mut blobs = Memory(HashMap::new());
        let content = lines("dup", 3);
        let sources = [file("x/other.md", &content, &mut blobs), file("x/page.md", &content, &mut blobs)];
        let destinations = [file("y/page.md", &content, &mut blobs), file("y/zzz.md", &content, &mut blobs)];
        assert_eq!(detect(&sources, &destinations, &mut blobs).pairs, vec![(1, 0), (0, 1)]);
    }

    #[test]
    fn best_scores_win_and_each_source_is_used_once() {
        let mut blobs = Memory(HashMap::new());
        let base = lines("base", 20);
        let sources = [file("a.md", &base, &mut blobs)];
        let close = lines("base", 19) + "x\n";
        let farther = lines("base", 16) + &lines("y", 4);
        let destinations = [file("b.md", &farther, &mut blobs), file("c.md", &close, &mut blobs)];
        assert_eq!(detect(&sources, &destinations, &mut blobs).pairs, vec![(0, 1)]);
    }

    #[test]
    fn symlinks_are_renamed_only_when_identical() {
        let mut blobs = Memory(HashMap::new());
        let mut link = file("l", "target/one", &mut blobs);
        link.mode = 0o120000;
        let mut moved = file("m", "target/one", &mut blobs);
        moved.mode = 0o120000;
        assert_eq!(detect(&[link.clone()], &[moved], &mut blobs).pairs, vec![(0, 0)]);
        let mut changed = file("n", "target/two", &mut blobs);
        changed.mode = 0o120000;
        assert_eq!(detect(&[link], &[changed], &mut blobs).pairs, vec![]);
    }
}
