//! A small mutation fuzzer that runs as ordinary tests on stable Rust (cargo-fuzz needs nightly): a seedable
//! RNG, mutations aimed at XML, JSON and ZIP parsers, and a runner that catches panics and slow inputs.
//!
//! There is no coverage feedback: every case is seeds mutated afresh, so case `i` of a run depends only on the
//! run's seed and `i`, and any failure reproduces from the two numbers the runner prints.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// SplitMix64: tiny, fast, good enough to pick mutations, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator seeded from the bytes of `input`, so what a target derives from an input reproduces from it.
    pub fn from_input(input: &[u8]) -> Rng {
        // FNV-1a.
        Rng(input.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Fragments that parsers treat specially: markup, entities, namespaces, DTDs, encodings and numbers at the
/// edges of what `f64`, `i64` and decimals hold.
pub const TOKENS: &[&str] = &[
    "<", ">", "</", "/>", "<a>", "</a>", "<a/>", "<a:b>", "xmlns:a=\"x\" ", "xmlns=\"\" ", "xmlns:a=\"\" ", " a=\"1\"",
    " xml:space=\"preserve\"", "&amp;", "&lt;", "&#0;", "&#x10FFFF;", "&#xD800;", "&#13;", "&undefined;",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>", "<![CDATA[", "]]>", "<!---->", "<!--", "-->", "<?pi x?>", "?>",
    "<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?>", "\"", "'", "=", ":", "\u{FEFF}", "\r", "\r\n", "\t", "\0",
    "1e309", "-0", "99999999999999999999", "-99999999999999999999.99", "0.000000001", "1.005", "-1", "NaN",
    "2025-02-30", "2999-12-31T23:59:59Z", "null", "true", "{}", "[]", ",", "\"\":0,", "\\u0000", "\\ud800",
    "PK\u{3}\u{4}", "PK\u{1}\u{2}", "PK\u{5}\u{6}", "\u{ff}\u{ff}\u{ff}\u{ff}",
];

/// Numbers put in place of digits.
const NUMBERS: &[&str] =
    &["1e309", "-0", "99999999999999999999", "0", "-1", "4294967296", "18446744073709551616", "0.005", "1E-400"];

/// Byte sequences that are not UTF-8: a lone continuation, a truncated pair, an overlong NUL, a surrogate.
const INVALID_UTF8: &[&[u8]] = &[&[0xff], &[0x80], &[0xc3], &[0xc0, 0x80], &[0xed, 0xa0, 0x80], &[0xf4, 0x90, 0x80, 0x80]];

/// `input` changed by one to four mutations; `seeds` supply material to splice in.
pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, &mut out, seeds);
    }
    out
}

fn mutate_once(rng: &mut Rng, out: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let at = rng.below(out.len() + 1);
    let byte = at.min(out.len().saturating_sub(1));
    let insert = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.splice(at..at, bytes.iter().copied());
    };
    match rng.below(13) {
        0 if !out.is_empty() => out[byte] ^= 1 << rng.below(8),
        1 if !out.is_empty() => out[byte] = *rng.pick(b"\0\xff\x80<>&\"'=/ \n;0-."),
        2 | 3 => insert(out, rng.pick(TOKENS).as_bytes()),
        4 => insert(out, &rng.pick(INVALID_UTF8)[..]),
        5 => {
            // Long runs: usually tens of kilobytes, now and then the 3 MB an invoice may have.
            let len = if rng.one_in(64) { 3_000_000 } else { 1 + rng.below(50_000) };
            let unit = if rng.one_in(2) { vec![*rng.pick(b"a<>& \n9")] } else { rng.pick(TOKENS).as_bytes().to_vec() };
            insert(out, &unit.repeat(len / unit.len().max(1) + 1)[..len]);
        }
        6 => {
            let n = 1 + rng.below(2000);
            insert(out, &format!("<a{}>", (0..n).map(|i| format!(" b{}=\"{i}\"", i % 3)).collect::<String>()).into_bytes());
        }
        7 => {
            let deep = if rng.one_in(4) { 100_000 } else { 100 };
            let n = 1 + rng.below(deep);
            insert(out, &["<a>".repeat(n), "</a>".repeat(n)].concat().into_bytes());
        }
        8 if !seeds.is_empty() => {
            let other = rng.pick(seeds);
            let from = rng.below(other.len() + 1);
            out.truncate(at);
            out.extend_from_slice(&other[from..]);
        }
        9 => out.truncate(at),
        10 if !out.is_empty() => {
            let start = rng.below(out.len());
            let range = out[start..(start + 1 + rng.below(4096)).min(out.len())].to_vec();
            let to = rng.below(out.len() + 1);
            let times = if rng.one_in(8) { 1 + rng.below(1000) } else { 1 };
            out.splice(to..to, range.repeat(times));
        }
        11 if at < out.len() => {
            let end = (at + 1 + rng.below(256)).min(out.len());
            out.drain(at..end);
        }
        12 => {
            // A run of digits, replaced whole by an extreme number.
            let Some(start) = (at..out.len()).find(|&i| out[i].is_ascii_digit()) else { return };
            let end = (start..out.len()).find(|&i| !out[i].is_ascii_digit() && out[i] != b'.').unwrap_or(out.len());
            out.splice(start..end, rng.pick(NUMBERS).bytes());
        }
        _ => insert(out, rng.pick(TOKENS).as_bytes()),
    }
}

/// The sample invoices in `../shared/fa/samples/{dir}` for each of `dirs` (sorted by name). Absent, they are
/// skipped with a message, so a checkout alone still fuzzes the built-in seeds; under `CI=true` that fails.
pub fn samples(dirs: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fa/samples");
    if !root.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{} is missing under CI=true", root.display());
        eprintln!("SKIP: {} is missing (it ships beside the repository in CI); fuzzing built-in seeds only", root.display());
        return Vec::new();
    }
    let mut files: Vec<PathBuf> =
        dirs.iter().flat_map(|d| std::fs::read_dir(root.join(d)).unwrap()).map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Names the target in reports and in the files its failures are saved to.
    pub name: &'a str,
    /// Longest one input of up to a megabyte may take in a release build (ten times that in a debug build); a
    /// larger one is allowed as much per megabyte, so linear work on a large input passes and worse does not.
    pub bound: Duration,
    /// Where failing inputs are saved: `env!("CARGO_TARGET_TMPDIR")` from a test.
    pub findings: &'a str,
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

impl Target<'_> {
    /// Runs `target` on each seed, then on mutants of them for `FUZZ_SECONDS` (default 3) or exactly
    /// `FUZZ_ITERATIONS` inputs, from seed `FUZZ_SEED` (default: the clock). Fails the test on a panic or on an
    /// input slower than the bound, saving the input (and, for a panic, a shrunk one) and printing how to rerun it.
    /// Returns how many inputs ran.
    pub fn fuzz(&self, seeds: &[Vec<u8>], target: impl Fn(&[u8])) -> u64 {
        let name = self.name;
        assert!(!seeds.is_empty(), "{name}: no seeds");
        let clock = || std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_nanos() as u64;
        let seed = env_number("FUZZ_SEED").unwrap_or_else(clock);
        let iterations = env_number("FUZZ_ITERATIONS");
        let deadline = Instant::now() + Duration::from_secs(env_number("FUZZ_SECONDS").unwrap_or(3));
        // Debug builds run this code several times slower; the bound is about complexity, not constants.
        let bound = if cfg!(debug_assertions) { self.bound * 10 } else { self.bound };
        let (started, mut slowest, mut i) = (Instant::now(), (Duration::ZERO, 0), 0u64);
        while iterations.map_or((i as usize) < seeds.len() || Instant::now() < deadline, |n| i < n) {
            let input = match seeds.get(i as usize) {
                Some(seed) => seed.clone(),
                None => {
                    let mut rng = Rng::new(seed ^ Rng::new(i).next_u64());
                    let base = rng.pick(seeds);
                    mutate(&mut rng, base, seeds)
                }
            };
            let rerun = format!("FUZZ_SEED={seed} FUZZ_ITERATIONS={} (case {i})", i + 1);
            let start = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
            let took = start.elapsed();
            i += 1;
            if let Err(panic) = outcome {
                let saved = self.save(&input, "panic");
                let shrunk = self.save(&shrink(&input, &target), "panic-min");
                let (why, len, shrunk) = (message(&*panic), input.len(), shrunk.display());
                panic!("{name}: panicked ({why}) on {len} bytes saved in {}, shrunk to {shrunk}; rerun with {rerun}", saved.display());
            }
            if took > slowest.0 {
                slowest = (took, input.len());
            }
            let allowed = bound.mul_f64((input.len() as f64 / 1e6).max(1.0));
            if took > allowed {
                let saved = self.save(&input, "slow");
                let len = input.len();
                panic!("{name}: {len} bytes took {took:?}, over {allowed:?} ({bound:?} a megabyte); saved in {}; rerun with {rerun}", saved.display());
            }
        }
        let (took, len) = slowest;
        eprintln!("fuzz {name}: {i} inputs in {:.1?} (FUZZ_SEED={seed}); slowest {took:.1?} for {len} bytes (bound {bound:?})", started.elapsed());
        i
    }

    fn save(&self, input: &[u8], what: &str) -> PathBuf {
        let dir = Path::new(self.findings).join("ksef-fuzz");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}-{what}-{:016x}", self.name, Rng::from_input(input).next_u64()));
        std::fs::write(&path, input).unwrap();
        path
    }
}

/// The start of `text`, to show in a failure without flooding it with a multi-megabyte input.
pub fn head(text: &str) -> String {
    text.chars().take(300).collect()
}

fn message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied());
    text.unwrap_or("no message").chars().take(500).collect()
}

/// A smaller input that still panics: chunks removed, halving their size, for at most 20 seconds.
fn shrink(input: &[u8], target: &impl Fn(&[u8])) -> Vec<u8> {
    // Each try that panics would print its message; one report is enough.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut best = input.to_vec();
    let mut chunk = best.len().div_ceil(2).max(1);
    while chunk >= 1 && Instant::now() < deadline {
        let mut at = 0;
        while at < best.len() && Instant::now() < deadline {
            let candidate = [&best[..at], &best[(at + chunk).min(best.len())..]].concat();
            if catch_unwind(AssertUnwindSafe(|| target(&candidate))).is_err() {
                best = candidate;
            } else {
                at += chunk;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }
    std::panic::set_hook(hook);
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let seeds = vec![b"<a b=\"1\">text 123</a>".to_vec()];
        let run = |seed: u64| (0..200).map(|i| mutate(&mut Rng::new(seed + i), &seeds[0], &seeds)).collect::<Vec<_>>();
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn shrinking_keeps_the_bytes_that_make_the_target_panic() {
        let target = |input: &[u8]| assert!(!input.windows(3).any(|w| w == b"bad"));
        assert_eq!(shrink(b"<a>some bad input</a>", &target), b"bad");
    }
}
