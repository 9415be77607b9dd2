//! Differential test against Debian's `strip-nondeterminism` (apt package of that name): random
//! zip, jar, gzip, ar and png files generated here are normalised by both tools with the same
//! options, and the bytes must agree. Skipped, with a notice, when the tool is not installed.
//!
//! The normaliser is named on both sides (`--type`): which files the Perl tool picks depends on
//! `file(1)`'s wording (a `.zip` whose first bytes look like a JAR to file(1) is skipped by the
//! zip handler), which zt approximates with magic bytes; this test compares the normalisers.

// Test helpers abort the test on a failed setup step, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use zt_build::normalize::{Kind, Options, normalize_file};

/// Skips a test whose tool is missing, except under CI, which installs every tool
/// (`.ci/run`) and must run every test.
#[allow(clippy::print_stderr)] // the notice is the point
fn skip_outside_ci(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run this test: {why}"
    );
    eprintln!("NOTICE: {why}; test skipped");
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

fn tool() -> Option<&'static str> {
    let ok = Command::new("strip-nondeterminism")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some("strip-nondeterminism")
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn crc(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(data);
    h.finalize()
}

fn extra(rng: &mut Rng, local: bool) -> Vec<u8> {
    let mut x = Vec::new();
    if rng.chance(60) {
        let n = if local { 1 + rng.below(3) as usize } else { 1 };
        x.extend_from_slice(&[0x55, 0x54]);
        x.extend_from_slice(&((1 + 4 * n) as u16).to_le_bytes());
        x.push(if n == 1 { 1 } else { 7 });
        for _ in 0..n {
            x.extend_from_slice(&(1_600_000_000u32 + rng.below(1000) as u32).to_le_bytes());
        }
    }
    if rng.chance(50) {
        x.extend_from_slice(&[0x75, 0x78, 11, 0, 1, 4]);
        x.extend_from_slice(&1000u32.to_le_bytes());
        x.push(4);
        x.extend_from_slice(&1000u32.to_le_bytes());
    }
    if rng.chance(20) {
        x.extend_from_slice(&[0x0a, 0x00, 32, 0, 0, 0, 0, 0, 1, 0, 24, 0]);
        x.extend_from_slice(&rng.bytes(24));
    }
    if rng.chance(20) {
        x.extend_from_slice(&[0xfe, 0xca, 0, 0]);
    }
    x
}

/// A random zip in the shapes real tools write (Info-ZIP, Java, Python).
fn random_zip(rng: &mut Rng, jar: bool) -> Vec<u8> {
    random_zip_of(rng, jar, 0)
}

/// A random zip; with `big` > 0, that many members of up to 12 KiB under unsorted names (a few
/// MiB: `zt normalize` maps such a file instead of reading it).
fn random_zip_of(rng: &mut Rng, jar: bool, big: usize) -> Vec<u8> {
    let pool = [
        "META-INF/",
        "META-INF/MANIFEST.MF",
        "b.txt",
        "a/",
        "a/x.class",
        "z.clj",
        "dir/",
        "dir/sub/",
        "dir/sub/f",
        "empty",
        "run.sh",
        "data.bin",
        "Ä.txt",
        "javac.sh",
        "page.html",
    ];
    let mut names: Vec<String> = if big > 0 {
        (0..big)
            .map(|k| format!("d{}/f{k}.bin", rng.below(20)))
            .collect()
    } else {
        let n = 1 + rng.below(pool.len() as u64) as usize;
        (0..n)
            .map(|_| pool[rng.below(pool.len() as u64) as usize].to_owned())
            .collect()
    };
    names.dedup();
    let max_len = if big > 0 { 12_000 } else { 3000 };
    let mut out = Vec::new();
    if !jar && rng.chance(10) {
        out.extend_from_slice(b"#!garbage prefix\n");
    }
    let base = out.len();
    let mut central = Vec::new();
    for name in &names {
        let is_dir = name.ends_with('/');
        let contents: Vec<u8> = if is_dir || name == "empty" {
            Vec::new()
        } else if name == "META-INF/MANIFEST.MF" {
            b"Manifest-Version: 1.0\r\nCreated-By: test\r\n\r\n".to_vec()
        } else if name == "page.html" {
            b"<html>\n<head>\n<title>x</title>\n</head>\n".to_vec()
        } else {
            let len = rng.below(max_len) as usize;
            if rng.chance(50) {
                rng.bytes(len)
            } else {
                "text ".repeat(len / 5 + 1).into_bytes()
            }
        };
        let deflated = !contents.is_empty() && rng.chance(60);
        let stored_empty_deflated = contents.is_empty() && !is_dir && rng.chance(30);
        let method: u16 = if deflated || stored_empty_deflated {
            8
        } else {
            0
        };
        let data = if deflated {
            deflate(&contents)
        } else if stored_empty_deflated {
            vec![3, 0]
        } else {
            contents.clone()
        };
        let dd = method == 8 && rng.chance(30);
        let utf8 = !name.is_ascii();
        let flag: u16 = (if dd { 8 } else { 0 }) | (if utf8 { 0x800 } else { 0 });
        let unix = rng.chance(70);
        let mode: u32 = if is_dir {
            0o40755
        } else if rng.chance(30) {
            0o100775
        } else {
            0o100664
        };
        let external = if unix {
            (mode << 16) | if is_dir { 0x10 } else { 0 }
        } else if is_dir {
            0x10
        } else {
            0x20
        };
        let time = 0x4a21_6000u32 + rng.below(100_000) as u32;
        let lextra = extra(rng, true);
        let cextra = extra(rng, false);
        let offset = (out.len() - base) as u32;
        let c = crc(&contents);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&(if method == 8 { 20u16 } else { 10 }).to_le_bytes());
        out.extend_from_slice(&flag.to_le_bytes());
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&time.to_le_bytes());
        for v in if dd {
            [0, 0, 0]
        } else {
            [c, data.len() as u32, contents.len() as u32]
        } {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(lextra.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&lextra);
        out.extend_from_slice(&data);
        if dd {
            if rng.chance(50) {
                out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
            }
            for v in [c, data.len() as u32, contents.len() as u32] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let comment: &[u8] = if rng.chance(20) { b"file comment" } else { b"" };
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[30, if unix { 3 } else { 0 }]);
        central.extend_from_slice(&(if method == 8 { 20u16 } else { 10 }).to_le_bytes());
        central.extend_from_slice(&flag.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&time.to_le_bytes());
        for v in [c, data.len() as u32, contents.len() as u32] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            name.len() as u16,
            cextra.len() as u16,
            comment.len() as u16,
            0,
            if rng.chance(50) { 1 } else { 0 },
        ] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&external.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&cextra);
        central.extend_from_slice(comment);
    }
    let cd_offset = (out.len() - base) as u32;
    out.extend_from_slice(&central);
    let comment: &[u8] = if rng.chance(30) {
        b"archive comment"
    } else {
        b""
    };
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(names.len() as u16).to_le_bytes());
    out.extend_from_slice(&(names.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

fn random_gzip(rng: &mut Rng) -> Vec<u8> {
    let flags = (rng.below(32) as u8) & !1;
    let mtime: u32 = if rng.chance(20) {
        0
    } else {
        1_600_000_000 + rng.below(1000) as u32
    };
    let mut g = vec![0x1f, 0x8b, 8, flags];
    g.extend_from_slice(&mtime.to_le_bytes());
    g.extend_from_slice(&[0, 3]);
    if flags & 4 != 0 {
        g.extend_from_slice(&[4, 0, b'A', b'B', 0, 0]);
    }
    if flags & 8 != 0 {
        g.extend_from_slice(b"name.txt\0");
    }
    if flags & 16 != 0 {
        g.extend_from_slice(b"a comment\0");
    }
    if flags & 2 != 0 {
        g.extend_from_slice(&[0x12, 0x34]);
    }
    let body = rng.bytes(100);
    g.extend_from_slice(&deflate(&body));
    g.extend_from_slice(&crc(&body).to_le_bytes());
    g.extend_from_slice(&100u32.to_le_bytes());
    g
}

fn random_ar(rng: &mut Rng) -> Vec<u8> {
    let mut a = b"!<arch>\n".to_vec();
    let n = 1 + rng.below(5);
    for i in 0..n {
        let size = 1 + rng.below(40) as usize;
        let name = if i == 0 && rng.chance(50) {
            "/".to_string()
        } else {
            format!("m{i}.o/")
        };
        let mode = if rng.chance(30) { "100755" } else { "100644" };
        a.extend(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{mode:<8}{size:<10}`\n",
                1_600_000_000 + rng.below(100),
                1000,
                1000
            )
            .into_bytes(),
        );
        a.extend(rng.bytes(size));
        if size % 2 == 1 {
            a.push(b'\n');
        }
    }
    a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

fn random_png(rng: &mut Rng) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut p, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    if rng.chance(60) {
        png_chunk(
            &mut p,
            b"tIME",
            &[
                0x07,
                0xe0,
                1 + rng.below(12) as u8,
                1 + rng.below(28) as u8,
                3,
                4,
                5,
            ],
        );
    }
    if rng.chance(50) {
        png_chunk(&mut p, b"tEXt", b"date:create\x002016-01-02T03:04:05+00:00");
    }
    if rng.chance(30) {
        png_chunk(&mut p, b"tEXt", b"Creation Time\x00yesterday");
    }
    if rng.chance(30) {
        png_chunk(&mut p, b"tEXt", b"Comment\x00kept");
    }
    png_chunk(&mut p, b"IDAT", &deflate(&[0, 0]));
    png_chunk(&mut p, b"IEND", b"");
    p
}

fn compare(
    tool: &str,
    dir: &Path,
    name: &str,
    input: &[u8],
    opts: &Options,
    args: &[&str],
) -> Result<(), String> {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let kind = match ext {
        "zip" => Kind::Zip,
        "jar" => Kind::Jar,
        "gz" => Kind::Gzip,
        "a" => Kind::Ar,
        _ => Kind::Png,
    };
    let opts = &Options {
        kind: Some(kind),
        ..opts.clone()
    };
    let ours = dir.join("ours").join(name);
    let theirs = dir.join("theirs").join(name);
    fs_err::create_dir_all(ours.parent().unwrap()).unwrap();
    fs_err::create_dir_all(theirs.parent().unwrap()).unwrap();
    fs_err::write(&ours, input).unwrap();
    fs_err::write(&theirs, input).unwrap();
    let ours_result = normalize_file(&ours, opts);
    let st = Command::new(tool)
        .args(args)
        .args(["--normalizers=+all", "--type", kind.name()])
        .arg(&theirs)
        .output()
        .unwrap();
    if !st.status.success() {
        // The Perl tool died (malformed input): zt must refuse as well and leave the file alone.
        return match ours_result {
            Err(_) if fs_err::read(&ours).unwrap() == input => Ok(()),
            other => Err(format!(
                "{name}: strip-nondeterminism failed ({}) but zt gave {other:?}",
                String::from_utf8_lossy(&st.stderr)
            )),
        };
    }
    ours_result.map_err(|e| format!("{name}: zt failed: {e}"))?;
    let (a, b) = (fs_err::read(&ours).unwrap(), fs_err::read(&theirs).unwrap());
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let keep = dir.join(format!("failing-{name}"));
        fs_err::write(&keep, input).unwrap();
        return Err(format!(
            "{name} ({args:?}): zt {} bytes vs {} bytes, first difference at {at}",
            a.len(),
            b.len()
        ));
    }
    Ok(())
}

#[test]
fn agrees_with_strip_nondeterminism_on_generated_archives() {
    let Some(tool) = tool() else {
        skip_outside_ci(
            "strip-nondeterminism is not installed (apt-get install strip-nondeterminism)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed);
    let mut failures = Vec::new();
    let mut count = 0;
    let variants: [(Option<i64>, bool); 3] = [
        (Some(1_423_159_771), false),
        (Some(1_600_000_500), true),
        (None, false),
    ];
    for i in 0..40 {
        let (ts, clamp) = variants[i % 3];
        let opts = Options {
            timestamp: ts,
            clamp,
            ..Options::default()
        };
        let ts_arg = ts.map(|t| format!("--timestamp={t}"));
        let mut args: Vec<&str> = ts_arg.iter().map(String::as_str).collect();
        if clamp {
            args.push("--clamp-timestamp");
        }
        let cases: Vec<(String, Vec<u8>)> = vec![
            (format!("z{i}.zip"), random_zip(&mut rng, false)),
            (format!("j{i}.jar"), random_zip(&mut rng, true)),
            (format!("g{i}.gz"), random_gzip(&mut rng)),
            (format!("l{i}.a"), random_ar(&mut rng)),
            (format!("p{i}.png"), random_png(&mut rng)),
        ];
        for (name, input) in cases {
            count += 1;
            if let Err(e) = compare(tool, dir.path(), &name, &input, &opts, &args) {
                failures.push(e);
            }
        }
    }
    // Large enough to be mapped (≥ 1 MiB), with unchanged member data written straight from the
    // mapping.
    for (i, ts) in [Some(1_423_159_771), None].into_iter().enumerate() {
        let input = random_zip_of(&mut rng, i == 1, 400);
        assert!(input.len() > 1 << 20, "{}", input.len());
        let opts = Options {
            timestamp: ts,
            ..Options::default()
        };
        let ts_arg = ts.map(|t| format!("--timestamp={t}"));
        let args: Vec<&str> = ts_arg.iter().map(String::as_str).collect();
        let name = if i == 1 { "big.jar" } else { "big.zip" };
        count += 1;
        if let Err(e) = compare(tool, dir.path(), name, &input, &opts, &args) {
            failures.push(e);
        }
    }
    if !failures.is_empty() {
        let kept = dir.keep();
        panic!(
            "{} of {count} differ (inputs kept in {}):\n{}",
            failures.len(),
            kept.display(),
            failures.join("\n")
        );
    }
    eprintln!("{count} of {count} generated files byte-identical to strip-nondeterminism");
}
