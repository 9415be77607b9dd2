//! Go modules against the checksum database (`zt deps provenance --ecosystem go`, `zt deps
//! intake --provenance DIR`), end to end with real `sum.golang.org` documents (lookups, tiles)
//! and the real module zips (see `tests/data/provenance/SOURCES.md`), and tampered copies:
//! each is refused with its reason.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{text, zt};

const CAMELCASE: &str = "github.com/fatih/camelcase@v1.0.0";
const CAMELCASE_H1: &str = "h1:hxNvNX/xYBp0ovncs8WyWZrOrpBNub/JfaMvbURyft8=";
const LOOKUP: &str = "lookup/github.com/fatih/camelcase@v1.0.0";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/provenance/go")
        .join(rel)
}

fn run(dir: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let o = zt(dir).args(args).output().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o, v)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs_err::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A writable copy of the saved database documents.
fn sumdb_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sum.golang.org");
    fs_err::create_dir_all(&db).unwrap();
    copy_dir(&data("sum.golang.org"), &db);
    (dir, db)
}

fn provenance(d: &Path, package: &str, zip: &Path, document: &Path) -> (Output, serde_json::Value) {
    run(
        d,
        &[
            "deps",
            "provenance",
            package,
            "--ecosystem",
            "go",
            "--archive",
            zip.to_str().unwrap(),
            "--document",
            document.to_str().unwrap(),
            "--json",
        ],
    )
}

#[test]
fn real_modules_are_proved_logged_by_sum_golang_org_from_saved_documents() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zip = data("github.com-fatih-camelcase@v1.0.0.zip");
    let (o, v) = provenance(d, CAMELCASE, &zip, &data("sum.golang.org"));
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(v["kind"], "go-checksum-database");
    assert_eq!(v["database"], "sum.golang.org");
    assert_eq!(v["hash"], CAMELCASE_H1);
    assert_eq!(
        v["go_mod_hash"],
        "h1:yN2Sb0lFhZJUdVvtELVWefmrXpuZESvPmqwoZc+/fpc="
    );
    assert_eq!(v["record_id"], 3445);
    assert_eq!(v["tree_size"], 42587522);
    assert_eq!(
        v["tree_root"],
        "eZgyHJ6f9gOlaH2cWOOg0dK877llk5WBnpDAjIu4lHM="
    );
    // log2(42587522) rounded up, give or take the right edge
    assert!(v["proof_hashes"].as_u64().unwrap() >= 25, "{v}");

    // go-isatty's proof goes through partial tiles at levels 0, 1 and 2; the lookup file
    // itself names the database directory above `lookup/`.
    let zip = data("github.com-mattn-go-isatty@v0.0.20.zip");
    let lookup = data("sum.golang.org/lookup/github.com/mattn/go-isatty@v0.0.20");
    let (o, v) = provenance(d, "github.com/mattn/go-isatty@v0.0.20", &zip, &lookup);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(v["hash"], "h1:xfD0iDuEKnDkl03q4limB+vH+GxLEtL/jb4xVJSWWEY=");
    assert_eq!(v["record_id"], 20103885);

    // human output
    let o = zt(d)
        .args([
            "deps",
            "provenance",
            CAMELCASE,
            "--ecosystem",
            "go",
            "--archive",
            data("github.com-fatih-camelcase@v1.0.0.zip")
                .to_str()
                .unwrap(),
            "--document",
            data("sum.golang.org").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("{CAMELCASE} {CAMELCASE_H1} logged by sum.golang.org: record 3445 in the signed tree of size 42587522")),
        "{out}"
    );
}

/// Runs `zt deps provenance` for camelcase on a tampered copy and returns the error text.
fn refused(db: &Path, zip: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = provenance(dir.path(), CAMELCASE, zip, db);
    let (stdout, stderr) = text(&o);
    assert_ne!(o.status.code(), Some(0), "{stdout}");
    assert!(stderr.contains("help:"), "{stderr}");
    stderr
}

#[test]
fn a_wrong_hash_a_wrong_signature_a_forged_record_tree_or_tile_is_refused() {
    let zip = data("github.com-fatih-camelcase@v1.0.0.zip");

    // Wrong hash: another module's zip offered as camelcase's.
    let (_t, db) = sumdb_copy();
    let e = refused(&db, &data("github.com-mattn-go-isatty@v0.0.20.zip"));
    assert!(
        e.contains(&format!("logged `{CAMELCASE_H1}` for `{CAMELCASE}`, but the module zip hashes to `h1:xfD0iDuEKnDkl03q4limB+vH+GxLEtL/jb4xVJSWWEY=`")),
        "{e}"
    );

    // Wrong signature: one character of the database's signature changed.
    let (_t, db) = sumdb_copy();
    let lookup = fs_err::read_to_string(db.join(LOOKUP)).unwrap();
    let sig = "Az3griVVC2oaluyuTSEiYk5Phk1nA0lS88/nqrZIu6+BGaSLVWzeHziqbfRDqln1BXLSxIaJKaI1WXHH/zIIjH6L5wc=";
    assert!(lookup.contains(sig));
    fs_err::write(
        db.join(LOOKUP),
        lookup.replace(sig, &sig.replacen("Az3griVV", "Az3griVW", 1)),
    )
    .unwrap();
    let e = refused(&db, &zip);
    assert!(
        e.contains("the signature by `sum.golang.org` (key ID 033de0ae) does not verify"),
        "{e}"
    );

    // Forged tree: the signed note's root replaced (a tree the database never signed).
    let (_t, db) = sumdb_copy();
    fs_err::write(
        db.join(LOOKUP),
        lookup.replace(
            "eZgyHJ6f9gOlaH2cWOOg0dK877llk5WBnpDAjIu4lHM=",
            "YJtfURUq8wbWY0HaMPG4Nyg6ZeLZsIr4mF1FCcxSiYc=",
        ),
    )
    .unwrap();
    let e = refused(&db, &zip);
    assert!(e.contains("does not verify"), "{e}");

    // Forged tree signed by another key under the database's name: not the database's key.
    let (_t, db) = sumdb_copy();
    let key = zt_tlog::NoteSigner::new(
        "sum.golang.org",
        zt_tlog::ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
    )
    .unwrap();
    let root = [7u8; 32];
    let forged = zt_tlog::Checkpoint::new("go.sum database tree", 42587522, root)
        .sign(&key)
        .unwrap();
    let (head, _) = lookup.split_once("\n\n").unwrap();
    fs_err::write(db.join(LOOKUP), format!("{head}\n\n{forged}")).unwrap();
    let e = refused(&db, &zip);
    assert!(
        e.contains("the note carries no signature by `sum.golang.org` (key ID 033de0ae)"),
        "{e}"
    );

    // Forged record: the hash in the record replaced by a tampered zip's (isatty's stands in)
    // under the real signed tree: the record is not the one in the tree.
    let (_t, db) = sumdb_copy();
    let isatty_h1 = "h1:xfD0iDuEKnDkl03q4limB+vH+GxLEtL/jb4xVJSWWEY=";
    fs_err::write(db.join(LOOKUP), lookup.replace(CAMELCASE_H1, isatty_h1)).unwrap();
    let e = refused(&db, &data("github.com-mattn-go-isatty@v0.0.20.zip"));
    assert!(
        e.contains(&format!(
            "the checksum database record of `{CAMELCASE}` is not in the signed tree"
        )),
        "{e}"
    );

    // Forged tile: one hash on the proof's path changed.
    let (_t, db) = sumdb_copy();
    let tile = db.join("tile/8/0/013");
    let mut bytes = fs_err::read(&tile).unwrap();
    bytes[32 * 100] ^= 0x80;
    fs_err::write(&tile, bytes).unwrap();
    let e = refused(&db, &zip);
    assert!(e.contains("is not in the signed tree"), "{e}");

    // A tile missing: nothing proves the record.
    let (_t, db) = sumdb_copy();
    fs_err::remove_file(db.join("tile/8/1/649")).unwrap();
    let e = refused(&db, &zip);
    assert!(
        e.contains("tile/8/1/649") || e.contains("no such tile"),
        "{e}"
    );

    // No record at all.
    let (_t, db) = sumdb_copy();
    fs_err::remove_file(db.join(LOOKUP)).unwrap();
    let e = refused(&db, &zip);
    assert!(
        e.contains(&format!(
            "the checksum database has no record of `{CAMELCASE}`"
        )),
        "{e}"
    );
}

/// A Go repository requiring camelcase v1.0.0 (go.mod + go.sum), the zip beside it.
fn go_repo(zt_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs_err::write(
        d.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire github.com/fatih/camelcase v1.0.0\n",
    )
    .unwrap();
    fs_err::write(
        d.join("go.sum"),
        format!("github.com/fatih/camelcase v1.0.0 {CAMELCASE_H1}\ngithub.com/fatih/camelcase v1.0.0/go.mod h1:yN2Sb0lFhZJUdVvtELVWefmrXpuZESvPmqwoZc+/fpc=\n"),
    )
    .unwrap();
    fs_err::copy(
        data("github.com-fatih-camelcase@v1.0.0.zip"),
        d.join("v1.0.0.zip"),
    )
    .unwrap();
    fs_err::write(d.join("zt.toml"), zt_toml).unwrap();
    dir
}

fn intake(d: &Path, provenance: Option<&Path>) -> (Output, serde_json::Value) {
    let mut args = vec![
        "deps",
        "intake",
        CAMELCASE,
        "--ecosystem",
        "go",
        "--archive",
        "v1.0.0.zip",
        "--lockfile",
        "go.mod",
        "--allow-unknown-age",
        "--json",
    ];
    if let Some(p) = provenance {
        args.extend(["--provenance", p.to_str().unwrap()]);
    }
    run(d, &args)
}

#[test]
fn intake_requires_the_checksum_database_and_records_what_it_proved() {
    let dir = go_repo("[deps.provenance]\ngo = \"require\"\n");
    let d = dir.path();
    let (o, v) = intake(d, Some(&data("sum.golang.org")));
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(v["verdict"], "admitted");
    let p = &v["provenance"];
    assert_eq!(p["status"], "verified");
    assert_eq!(p["requirement"], "require");
    assert_eq!(p["repository"], "github.com/fatih/camelcase");
    assert_eq!(p["verified"]["kind"], "go-checksum-database");
    assert_eq!(p["verified"]["hash"], CAMELCASE_H1);
    assert_eq!(p["verified"]["record_id"], 3445);
    assert_eq!(p["verified"]["tree_size"], 42587522);
    assert!(
        p["verified"]["tree_note"]
            .as_str()
            .unwrap()
            .contains("— sum.golang.org Az3gr")
    );
    // the signed decision carries it
    let bundle: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join(v["bundle"].as_str().unwrap())).unwrap())
            .unwrap();
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    let st: serde_json::Value =
        serde_json::from_slice(&zt_core::b64::decode(payload).unwrap()).unwrap();
    assert_eq!(st["predicate"]["provenance"], *p);

    // Without documents the database is asked online; sum.golang.org cannot be reached from
    // here, so `require` rejects: no evidence.
    let dir = go_repo("[deps.provenance]\ngo = \"require\"\n");
    let (o, v) = intake(dir.path(), None);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["verdict"], "rejected");
    let rules: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["provenance-missing"], "{v}");

    // A forged record under the real tree: rejected, with the reason recorded.
    let dir = go_repo("[deps.provenance]\ngo = \"prefer\"\n");
    let (_t, db) = sumdb_copy();
    let lookup = fs_err::read_to_string(db.join(LOOKUP)).unwrap();
    fs_err::write(
        db.join(LOOKUP),
        lookup.replace(
            CAMELCASE_H1,
            "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
    )
    .unwrap();
    let (o, v) = intake(dir.path(), Some(&db));
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["verdict"], "rejected");
    assert_eq!(v["provenance"]["status"], "failed");
    assert!(
        v["provenance"]["error"]
            .as_str()
            .unwrap()
            .contains("is not in the signed tree"),
        "{v}"
    );
    assert_eq!(v["reasons"][0]["rule"], "provenance-invalid");

    // A module expected from another path (a fork's zip passed off as the original, say):
    // held for a person to look at.
    let dir = go_repo(
        "[deps.provenance]\ngo = \"require\"\n[[deps.provenance.package]]\npackage = \"pkg:golang/github.com/fatih/camelcase\"\nrepository = \"https://github.com/someone-else/camelcase\"\n",
    );
    let (o, v) = intake(dir.path(), Some(&data("sum.golang.org")));
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["verdict"], "held", "{v}");
    assert_eq!(v["reasons"][0]["rule"], "provenance-source-changed");

    // `off`: nothing is checked or recorded.
    let dir = go_repo("[deps.provenance]\ngo = \"off\"\n");
    let (o, v) = intake(dir.path(), Some(&db));
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(v["provenance"].is_null(), "{v}");
}

/// Serves `root` over plain HTTP on loopback (GET only; 404 for what is not there) the way
/// the checksum database serves its documents; returns its base URL.
fn serve_dir(root: PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // skip the headers
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let reply = match fs_err::read(root.join(path)) {
                Ok(body) if !path.contains("..") => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend(body);
                    r
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&reply);
        }
    });
    base
}

#[test]
fn online_the_database_is_asked_over_http_and_proves_the_same() {
    let base = serve_dir(data("sum.golang.org"));
    let dir = tempfile::tempdir().unwrap();
    let zip = data("github.com-fatih-camelcase@v1.0.0.zip");
    let (o, v) = provenance(dir.path(), CAMELCASE, &zip, Path::new(&base));
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(
        (v["record_id"].as_u64(), v["hash"].as_str()),
        (Some(3445), Some(CAMELCASE_H1))
    );
    assert_eq!(v["source"], base.as_str());

    // intake without documents asks the database `go_sumdb` names
    let dir = go_repo(&format!(
        "[deps.provenance]\ngo = \"require\"\ngo_sumdb = \"{} {base}\"\n",
        zt_tlog::sumdb::GO_SUMDB_KEY
    ));
    let (o, v) = intake(dir.path(), None);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(v["provenance"]["status"], "verified");
    assert_eq!(v["provenance"]["document"], base.as_str());

    // a database served with a forged tile is refused online too
    let (_t, db) = sumdb_copy();
    let tile = db.join("tile/8/0/013");
    let mut bytes = fs_err::read(&tile).unwrap();
    bytes[32 * 100] ^= 1;
    fs_err::write(&tile, bytes).unwrap();
    let forged = serve_dir(db);
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = provenance(dir.path(), CAMELCASE, &zip, Path::new(&forged));
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not in the signed tree"), "{stderr}");
}
