//! Container images end to end: a real registry (Debian's `docker-registry`, the CNCF
//! distribution registry 2.8) started on loopback by the test, an image pushed with zt's own
//! client, signed and attested by `zt`, verified, then tampered with — each verdict asserted.
//! And real cosign signatures of public images (tests/data/oci, see SOURCE.md) verified from
//! an OCI image layout.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{skip_outside_ci, text, zt};
use serde_json::Value;
use zt_core::Digest;
use zt_oci::manifest::{self, Descriptor, Manifest};
use zt_oci::{Client, Options, Reference, Repository};

/// A `docker-registry` serving a fresh storage directory on a free loopback port.
struct Registry {
    child: Child,
    host: String,
    storage: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Option<Registry> {
        let bin = ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        let Some(bin) = bin else {
            skip_outside_ci("docker-registry is not installed (apt-get install docker-registry)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let storage = dir.path().join("data");
        let config = dir.path().join("config.yml");
        fs_err::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.display()
            ),
        )
        .unwrap();
        let registry = Registry {
            child: Command::new(bin)
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
            host: format!("127.0.0.1:{port}"),
            storage,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(&registry.host).is_ok() {
                return Some(registry);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not start on {}", registry.host);
    }

    /// Where the registry keeps the bytes of a blob (manifests are blobs too).
    fn blob_file(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushes a one-layer image with zt's client; returns its manifest digest.
fn push_image(r: &Reference, layer: &[u8]) -> Digest {
    let repo = Client::new(Options::default()).repo(r);
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    repo.push_blob(config).unwrap();
    repo.push_blob(layer).unwrap();
    let m = Manifest::image(
        Descriptor::of(manifest::OCI_CONFIG, config),
        vec![Descriptor::of(manifest::OCI_LAYER_GZIP, layer)],
    );
    repo.push_manifest(&m.to_bytes(), manifest::OCI_MANIFEST, r.tag.as_deref())
        .unwrap();
    Digest::sha256(&m.to_bytes())
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = zt(dir).args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let (code, stdout, stderr) = run(dir, args);
    assert_eq!(code, Some(0), "zt {args:?}\n{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn forms(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["form"].as_str().unwrap(),
                f["predicate_type"].as_str().unwrap_or("-")
            )
        })
        .collect();
    v.sort();
    v
}

const JUNIT: &str = r#"<testsuite name="unit" tests="2" failures="0"><testcase name="a"/><testcase name="b"/></testsuite>"#;
const LCOV: &str = "SF:a.c\nDA:1,1\nDA:2,0\nend_of_record\n";
const SLSA: &str = "https://slsa.dev/provenance/v1";

#[test]
fn images_in_a_real_registry_are_signed_attested_verified_and_tampering_is_caught() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = format!("{}/demo/app", registry.host);
    let r = Reference::parse(&format!("{image}:v1")).unwrap();
    let digest = push_image(&r, b"layer one");
    let pinned = format!("{image}@{digest}");

    run(d, &["key", "generate", "--type", "p256", "--out", "k"]);
    run(
        d,
        &["key", "generate", "--type", "ed25519", "--out", "other"],
    );
    fs_err::write(d.join("junit.xml"), JUNIT).unwrap();
    fs_err::write(d.join("lcov.info"), LCOV).unwrap();
    fs_err::write(
        d.join("provenance.json"),
        r#"{"buildDefinition":{"buildType":"https://zt.dev/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://zt.dev/builder"}}}"#,
    )
    .unwrap();

    // Signing a tag resolves it, warns, and signs the digest.
    let (code, stdout, stderr) = run(d, &["sign", &format!("{image}:v1"), "--key", "k", "--json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let signed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(signed["digest"], digest.to_string());
    assert_eq!(signed["image"], pinned);
    assert_eq!(signed["cosign_tag"], format!("sha256-{}.sig", digest.hex()));
    assert!(stderr.contains("resolved to"), "{stderr}");

    // Three attestations, by digest.
    for args in [
        vec!["--type", "test-results", "--from", "junit.xml"],
        vec!["--type", "coverage", "--from", "lcov.info"],
        vec!["--predicate-type", SLSA, "--predicate", "provenance.json"],
    ] {
        let mut full = vec!["attest", pinned.as_str()];
        full.extend(args);
        full.extend(["--key", "k", "--json"]);
        let v = ok_json(d, &full);
        assert_eq!(v["cosign_tag"], format!("sha256-{}.att", digest.hex()));
    }

    // Distribution 2.8 has no referrers API: zt keeps the `sha256-<hex>` tag index instead.
    let api = Client::new(Options::default())
        .repo(&r)
        .referrers_api(&digest, None)
        .unwrap();
    assert!(
        api.is_none(),
        "docker-registry 2.8 answered the referrers API"
    );

    let v = ok_json(d, &["verify", &pinned, "--key", "k.pub", "--json"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["digest"], digest.to_string());
    assert_eq!(v["referrers_via"], "tag-schema");
    assert_eq!(forms(&v["signatures"]), ["cosign:-", "referrer:-"]);
    let att = forms(&v["attestations"]);
    assert_eq!(att.len(), 6, "{att:?}");
    for form in ["cosign", "referrer"] {
        for p in [
            "https://in-toto.io/attestation/test-result/v0.1",
            "https://zt.dev/attestation/coverage/v1",
            SLSA,
        ] {
            assert!(att.contains(&format!("{form}:{p}")), "{form} {p}: {att:?}");
        }
    }
    assert!(v["refused"].as_array().unwrap().is_empty(), "{v}");
    for f in v["signatures"].as_array().unwrap() {
        assert_eq!(f["tlog_verified"], true, "{f}");
    }
    // The tag and the `oci://` form name the same image.
    ok_json(
        d,
        &[
            "verify",
            &format!("oci://{image}:v1"),
            "--key",
            "k.pub",
            "--json",
        ],
    );
    // Verified evidence joins the ledger like file verification's: the gate sees it.
    let human = run(d, &["verify", &pinned, "--key", "k.pub"]);
    assert_eq!(human.0, Some(0));
    assert!(human.1.contains("verified"), "{}", human.1);
    assert!(human.2.contains("tag index"), "{}", human.2);

    // Another signer's key: nothing verifies.
    let (code, _, stderr) = run(d, &["verify", &pinned, "--key", "other.pub"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("no valid signature") && stderr.contains("help:"),
        "{stderr}"
    );

    let repo = Client::new(Options::default()).repo(&r);

    // Tamper: the cosign signature's annotation is changed. That signature is refused; the
    // referrer still verifies.
    let sig_tag = format!("sha256-{}.sig", digest.hex());
    let mut sig = zt_oci::resolve(&repo, &sig_tag).unwrap().manifest;
    let annotation = sig.layers[0]
        .annotations
        .get_mut(zt_oci::artifacts::COSIGN_SIGNATURE)
        .unwrap();
    *annotation = zt_core::b64::encode(b"forged signature bytes, not a signature");
    repo.push_manifest(&sig.to_bytes(), manifest::OCI_MANIFEST, Some(&sig_tag))
        .unwrap();
    let v = ok_json(d, &["verify", &pinned, "--key", "k.pub", "--json"]);
    assert_eq!(forms(&v["signatures"]), ["referrer:-"]);
    let refused = v["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{v}");
    assert_eq!(refused[0]["form"], "cosign");

    // Tamper: the signature referrer is deleted too: no valid signature is left.
    let index = zt_oci::resolve(&repo, &format!("sha256-{}", digest.hex())).unwrap();
    let signature_referrer = index
        .manifest
        .manifests
        .iter()
        .find(|m| {
            m.annotations
                .get(zt_oci::artifacts::BUNDLE_CONTENT)
                .map(String::as_str)
                == Some("message-signature")
        })
        .unwrap()
        .digest
        .clone();
    repo.delete_manifest(&signature_referrer).unwrap();
    let (code, stdout, stderr) = run(d, &["verify", &pinned, "--key", "k.pub"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("no valid signature"), "{stderr}");

    // Signing again restores it.
    ok_json(d, &["sign", &pinned, "--key", "k", "--json"]);
    ok_json(d, &["verify", &pinned, "--key", "k.pub", "--json"]);

    // Tamper: the tag is moved to another image (a replaced layer makes another manifest).
    let evil = push_image(&r, b"layer one, replaced");
    assert_ne!(evil, digest);
    let (code, _, stderr) = run(d, &["verify", &format!("{image}:v1"), "--key", "k.pub"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&evil.to_string()), "{stderr}");
    // The signed digest still verifies.
    ok_json(d, &["verify", &pinned, "--key", "k.pub", "--json"]);

    // Tamper: a layer's bytes are replaced in the registry's storage: the client refuses them.
    let layer = Digest::sha256(b"layer one");
    fs_err::write(registry.blob_file(&layer), b"layer two").unwrap();
    let err = repo.blob(&layer).unwrap_err();
    assert!(matches!(err, zt_oci::Error::DigestMismatch { .. }), "{err}");

    // Tamper: the manifest's bytes are replaced in storage: verification fails closed.
    let stored = registry.blob_file(&digest);
    let mut bytes = fs_err::read(&stored).unwrap();
    bytes.extend_from_slice(b" ");
    fs_err::write(&stored, &bytes).unwrap();
    let (code, _, stderr) = run(d, &["verify", &pinned, "--key", "k.pub"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("does not match its name"), "{stderr}");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/oci")
        .join(name)
}

#[test]
fn real_cosign_signatures_of_public_images_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Keyless: a Fulcio certificate for a GitHub Actions workflow, a Rekor v1 entry (SET).
    let keyless = fixture("cosign-keyless");
    let image = format!(
        "oci-layout:{}@sha256:adce22cdd04fa2b012209f2d048c883c66b7ab89eaadf4f596899fde52d3b0bd",
        keyless.display()
    );
    let identity = "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.14";
    let issuer = "https://token.actions.githubusercontent.com";
    let v = ok_json(
        d,
        &[
            "verify",
            &image,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "--json",
        ],
    );
    assert_eq!(forms(&v["signatures"]), ["cosign:-"]);
    assert_eq!(v["signatures"][0]["signer"], identity);
    assert_eq!(v["signatures"][0]["tlog_verified"], true);
    assert_eq!(v["manifest_present"], false);
    // Another identity: refused.
    let (code, _, stderr) = run(
        d,
        &[
            "verify",
            &image,
            "--certificate-identity",
            "https://github.com/someone/else",
            "--certificate-oidc-issuer",
            issuer,
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");

    // A cosign key: the public key from the Rekor entry.
    let key = fixture("cosign-key");
    let image = format!(
        "oci-layout:{}@sha256:e583dc0e018fc11d659da7d1957c60ad8a523eafc142a9de391516eb45594e6f",
        key.display()
    );
    let pub_key = fixture("cosign-key.pub");
    let v = ok_json(
        d,
        &[
            "verify",
            &image,
            "--key",
            &pub_key.to_string_lossy(),
            "--json",
        ],
    );
    assert_eq!(forms(&v["signatures"]), ["cosign:-"]);
    assert_eq!(v["signatures"][0]["tlog_verified"], true);

    // The same signature asked about another digest: there is none.
    let other = format!("oci-layout:{}@{}", key.display(), Digest::sha256(b"other"));
    let (code, _, stderr) = run(d, &["verify", &other, "--key", &pub_key.to_string_lossy()]);
    assert_eq!(code, Some(1), "{stderr}");

    // Tamper: the layout's copy with the signature annotation changed is refused.
    let copy = d.join("tampered");
    copy_dir(&key, &copy);
    let layout = zt_oci::layout::Layout::open(&copy).unwrap();
    let tag = "sha256-e583dc0e018fc11d659da7d1957c60ad8a523eafc142a9de391516eb45594e6f.sig";
    let mut m = zt_oci::resolve(&layout, tag).unwrap().manifest;
    let sig = m.layers[0]
        .annotations
        .get_mut(zt_oci::artifacts::COSIGN_SIGNATURE)
        .unwrap();
    *sig = sig.replacen('M', "N", 1);
    layout
        .push_manifest(&m.to_bytes(), manifest::OCI_MANIFEST, Some(tag))
        .unwrap();
    let image = format!(
        "oci-layout:{}@sha256:e583dc0e018fc11d659da7d1957c60ad8a523eafc142a9de391516eb45594e6f",
        copy.display()
    );
    let (code, _, stderr) = run(d, &["verify", &image, "--key", &pub_key.to_string_lossy()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no valid signature"), "{stderr}");
}

fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), target).unwrap();
        }
    }
}

/// The Python with sigstore installed: `.ci/run` makes it (`$HOME/.cache/sigstore-venv`).
fn sigstore_python() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let python = Path::new(&home).join(".cache/sigstore-venv/bin/python");
    let works = Command::new(&python)
        .args(["-c", "import sigstore"])
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(python)
}

#[test]
fn sigstore_python_verifies_the_bundles_zt_attached_to_an_image() {
    let Some(python) = sigstore_python() else {
        skip_outside_ci(
            "sigstore-python is not installed (`.ci/run` makes ~/.cache/sigstore-venv)",
        );
        return;
    };
    let Some(registry) = Registry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = Reference::parse(&format!("{}/interop/app:v1", registry.host)).unwrap();
    let digest = push_image(&r, b"interop layer");
    let pinned = format!("{}/interop/app@{digest}", registry.host);
    run(d, &["key", "generate", "--type", "p256", "--out", "k"]);
    fs_err::write(d.join("junit.xml"), JUNIT).unwrap();
    ok_json(d, &["sign", &pinned, "--key", "k", "--json"]);
    ok_json(
        d,
        &[
            "attest",
            &pinned,
            "--type",
            "test-results",
            "--from",
            "junit.xml",
            "--key",
            "k",
            "--json",
        ],
    );
    let (code, root, stderr) = run(d, &["log", "trusted-root"]);
    assert_eq!(code, Some(0), "{stderr}");
    fs_err::write(d.join("trusted_root.json"), root).unwrap();

    // The bundles as the registry holds them: every Sigstore-bundle referrer of the image.
    let repo = Client::new(Options::default()).repo(&r);
    let referrers =
        zt_oci::referrers(&repo, &digest, Some(zt_oci::artifacts::SIGSTORE_BUNDLE)).unwrap();
    assert_eq!(referrers.manifests.len(), 2);
    let mut args = vec![
        fixture("sigstore_python_check.py"),
        d.join("trusted_root.json"),
        d.join("k.pub"),
        PathBuf::from(digest.hex()),
    ];
    for (i, m) in referrers.manifests.iter().enumerate() {
        let artifact = zt_oci::resolve(&repo, &m.digest.to_string())
            .unwrap()
            .manifest;
        let bundle = repo.blob(&artifact.layers[0].digest).unwrap();
        let path = d.join(format!("referrer-{i}.sigstore.json"));
        fs_err::write(&path, bundle).unwrap();
        args.push(path);
    }
    let out = Command::new(&python).args(&args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let kinds: Vec<String> = serde_json::from_str(stdout.trim()).unwrap();
    assert!(kinds.contains(&"signature".to_string()), "{kinds:?}");
    assert!(
        kinds.contains(&"https://in-toto.io/attestation/test-result/v0.1".to_string()),
        "{kinds:?}"
    );

    // A bundle for another image fails sigstore-python's check.
    let out = Command::new(&python)
        .args(&args[..3])
        .arg(Digest::sha256(b"another image").hex())
        .args(&args[4..])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{:?}", text(&out));
}

/// POSTs an AdmissionReview with curl (as the API server would); the reply's JSON.
fn review(url: &str, image: &str) -> Value {
    let body = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0d7c6a52-1f3e-4c1b-9d1e-0a5c2b7e9f10",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "name": "web", "namespace": "shop", "operation": "CREATE",
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                       "spec": {"containers": [{"name": "web", "image": image}]}},
            "dryRun": false
        }
    });
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
        ])
        .arg(body.to_string())
        .arg(format!("{url}/admission/v1"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn deploy_admission_resolves_tags_and_judges_with_the_registrys_evidence() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = common::example_repo(dir.path(), "shop");
    let tagged = format!("{}/shop/web:v1", registry.host);
    let digest = push_image(&Reference::parse(&tagged).unwrap(), b"web layer");

    // Without configuration a tag is denied: pin by digest.
    let plain = common::Serve::start(&repo, &[], &[]);
    let v = review(&plain.url, &tagged);
    let message = v["response"]["status"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(v["response"]["allowed"], false);
    assert!(message.contains("pin by digest"), "{message}");
    drop(plain);

    let serve = common::Serve::start(
        &repo,
        &["--admission-resolve-tags", "--admission-registry-evidence"],
        &[],
    );
    // The tag is resolved; the digest has no evidence yet.
    let v = review(&serve.url, &tagged);
    let message = v["response"]["status"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(v["response"]["allowed"], false);
    assert!(!message.contains("pin by digest"), "{message}");
    assert!(message.contains("provenance.missing"), "{message}");

    // Provenance about the image, signed with the pipeline's key and logged in the
    // repository's log, but made elsewhere: it lives in the registry, not in the ledger.
    let elsewhere = dir.path().join("elsewhere");
    fs_err::create_dir_all(&elsewhere).unwrap();
    fs_err::write(
        elsewhere.join("provenance.json"),
        r#"{"buildDefinition":{"buildType":"https://zt.dev/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://zt.dev/builder"}}}"#,
    )
    .unwrap();
    let key = repo.join(".zt/keys/pipeline");
    let log = repo.join(".zt/log");
    let (code, stdout, stderr) = run(
        &elsewhere,
        &[
            "attest",
            &format!("{}/shop/web@{digest}", registry.host),
            "--predicate-type",
            SLSA,
            "--predicate",
            "provenance.json",
            "--key",
            &key.to_string_lossy(),
            "--log-dir",
            &log.to_string_lossy(),
        ],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    // Admission reads it from the registry and verifies it.
    let v = review(&serve.url, &tagged);
    let message = v["response"]["status"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(!message.contains("provenance.missing"), "{v}");
    drop(serve);
    // Without `--admission-registry-evidence` the ledger alone is consulted: still missing.
    let ledger_only = common::Serve::start(&repo, &["--admission-resolve-tags"], &[]);
    let v = review(&ledger_only.url, &tagged);
    let message = v["response"]["status"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("provenance.missing"), "{message}");
    let serve = ledger_only;

    // A tag that does not resolve is denied with the reason.
    let v = review(&serve.url, &format!("{}/shop/web:nope", registry.host));
    assert_eq!(v["response"]["allowed"], false);
    let message = v["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("could not be resolved"), "{message}");
}

/// The (name, version, arch) of every package a dpkg database records as installed, as
/// Debian's own `dpkg-query` reads it: the peer for zt's dpkg reader.
fn dpkg_query(admindir: &Path) -> Option<std::collections::BTreeSet<(String, String, String)>> {
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n",
        ])
        .output()
        .ok()?;
    assert!(out.status.success(), "{out:?}");
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.as_bytes().get(1) == Some(&b'i'))
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                (f[1].to_string(), f[2].to_string(), f[3].to_string())
            })
            .collect(),
    )
}

/// The (name, version, arch) of the `pkg:deb` components of a CycloneDX document.
fn deb_components(doc: &Value) -> std::collections::BTreeSet<(String, String, String)> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["purl"].as_str().unwrap().starts_with("pkg:deb/"))
        .map(|c| {
            let purl: zt_core::purl::Purl = c["purl"].as_str().unwrap().parse().unwrap();
            (
                c["name"].as_str().unwrap().to_string(),
                c["version"].as_str().unwrap_or("").to_string(),
                purl.qualifiers.get("arch").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

fn purls(doc: &Value, prefix: &str) -> std::collections::BTreeSet<String> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .filter(|p| p.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn an_image_zt_builds_is_reproducible_gets_an_sbom_from_its_layers_and_verifies_in_a_registry() {
    let status = Path::new("/var/lib/dpkg/status");
    if !status.is_file() {
        skip_outside_ci("this machine has no dpkg database to build a Debian root layer from");
        return;
    }
    let Some(registry) = Registry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repo = d.join("repo");

    // A Debian root made of this machine's real dpkg database and os-release, plus one entry
    // dpkg keeps for a removed package (only its config files left: not installed), and the
    // workspace's own Cargo.lock as an application's lockfile.
    let root = repo.join("rootfs");
    fs_err::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    fs_err::create_dir_all(root.join("etc")).unwrap();
    fs_err::create_dir_all(root.join("app")).unwrap();
    let mut db = fs_err::read_to_string(status).unwrap();
    db.push_str("\nPackage: zt-removed-example\nStatus: deinstall ok config-files\nPriority: optional\nArchitecture: amd64\nVersion: 1.0-1\nConffiles:\n /etc/zt-removed-example.conf 0123456789abcdef0123456789abcdef\n");
    fs_err::write(root.join("var/lib/dpkg/status"), &db).unwrap();
    fs_err::write(
        root.join("etc/os-release"),
        fs_err::read("/etc/os-release").unwrap(),
    )
    .unwrap();
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    fs_err::copy(&lock, root.join("app/Cargo.lock")).unwrap();
    // A requirements file the top layer deletes with a whiteout: its package must not show.
    fs_err::write(root.join("app/requirements.txt"), "deleted-package==1.0\n").unwrap();
    fs_err::write(
        repo.join("zt.toml"),
        r#"[build.image]
layout = "image"
name = "example.org/demo/debian-app"
entrypoint = ["/usr/local/bin/hello"]
env = ["PATH=/usr/local/bin:/usr/bin:/bin"]
labels = { "org.opencontainers.image.source" = "https://example.org/demo" }

[[build.image.layers]]
from = "out/rootfs"
to = "/"

[[build.image.layers]]
from = "out/top"
to = "/"
"#,
    )
    .unwrap();
    let script = "mkdir -p out/top/app out/top/usr/local/bin && cp -R rootfs out/rootfs \
                  && touch out/top/app/.wh.requirements.txt \
                  && printf '#!/bin/sh\\necho hello\\n' > out/top/usr/local/bin/hello \
                  && chmod 755 out/top/usr/local/bin/hello";
    let build = |extra: &[&str]| -> Value {
        let _ = fs_err::remove_dir_all(repo.join("out"));
        let mut args = vec![
            "build",
            "--allow-dirty",
            "--source-date-epoch",
            "1700000000",
            "--json",
        ];
        args.extend(extra);
        args.extend(["--", "sh", "-c", script]);
        ok_json(&repo, &args)
    };

    // Built twice with variations: the outputs compare equal, and so the image.
    let first = build(&["--rebuild", "2"]);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["repro"]["reproducible"], true, "{first}");
    let digest: Digest = first["image"]["digest"].as_str().unwrap().parse().unwrap();
    assert_eq!(first["image"]["layers"].as_array().unwrap().len(), 2);
    // The manifest digest is a subject of the signed provenance.
    let provenance: Value =
        serde_json::from_slice(&fs_err::read(first["provenance"].as_str().unwrap()).unwrap())
            .unwrap();
    assert!(
        provenance["subject"].as_array().unwrap().iter().any(|s| {
            s["name"] == "example.org/demo/debian-app" && s["digest"]["sha256"] == digest.hex()
        }),
        "{provenance}"
    );
    // An independent build (another run, its own sandbox) gives the same digest.
    let second = build(&[]);
    assert_eq!(second["image"]["digest"], digest.to_string());

    // The layout holds it; `zt sbom` reads it from there.
    let layout_arg = format!("oci-layout:{}", repo.join("image").display());
    let local = ok_json(d, &["sbom", &layout_arg, "--json"]);
    assert_eq!(local["digest"], digest.to_string());

    // Pushed to the registry by `zt push` (no daemon), every blob checked on the way.
    let image = format!("{}/demo/debian-app", registry.host);
    let pushed = ok_json(d, &["push", &layout_arg, &format!("{image}:v1"), "--json"]);
    assert_eq!(pushed["digest"], digest.to_string());
    assert_eq!(pushed["tag"], "v1");
    let pinned = format!("{image}@{digest}");
    assert_eq!(pushed["destination"], pinned);
    // A destination pinned to another digest is refused.
    let other = format!("{image}@sha256:{}", "0".repeat(64));
    let (code, _, stderr) = run(d, &["push", &layout_arg, &other]);
    assert_eq!(code, Some(2), "{stderr}");
    // And back into another layout, air-gapped: the same digest.
    let back = ok_json(
        d,
        &[
            "push",
            &format!("{image}:v1"),
            &format!("oci-layout:{}:copy", d.join("copied").display()),
            "--json",
        ],
    );
    assert_eq!(back["digest"], digest.to_string());

    run(d, &["key", "generate", "--type", "p256", "--out", "k"]);
    let (code, stdout, stderr) = run(d, &["sign", &pinned, "--key", "k", "--json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");

    // The SBOM from the registry's layers, attached as an attestation.
    let (code, stdout, stderr) = run(
        d,
        &[
            "sbom",
            &format!("{image}:v1"),
            "--attest",
            "--key",
            "k",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["digest"], digest.to_string());
    assert_eq!(v["layers"].as_array().unwrap().len(), 2);
    assert_eq!(v["distro"], "Debian GNU/Linux 12 (bookworm)", "{v}");
    let sources: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["/app/Cargo.lock", "/var/lib/dpkg/status"]);
    let doc = &v["sbom"];
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(
        purls(doc, "pkg:"),
        purls(&local["sbom"], "pkg:"),
        "the layout and the registry disagree"
    );

    // The peer: Debian's dpkg-query over the same database lists the same installed packages.
    let peer = dpkg_query(&root.join("var/lib/dpkg")).expect("dpkg-query runs on Debian");
    let ours = deb_components(doc);
    assert_eq!(ours.len(), peer.len());
    assert_eq!(ours, peer);
    assert!(!ours.iter().any(|(n, _, _)| n == "zt-removed-example"));
    let deb = purls(doc, "pkg:deb/");
    assert!(
        deb.iter()
            .all(|p| p.starts_with("pkg:deb/debian/") && p.contains("distro=debian-12")),
        "{deb:?}"
    );
    // The application's lockfile: the same packages `zt sbom DIR` finds in it.
    let app = d.join("app");
    fs_err::create_dir_all(&app).unwrap();
    fs_err::copy(&lock, app.join("Cargo.lock")).unwrap();
    let (code, dir_sbom, stderr) = run(d, &["sbom", "app"]);
    assert_eq!(code, Some(0), "{stderr}");
    let dir_doc: Value = serde_json::from_str(&dir_sbom).unwrap();
    assert_eq!(purls(doc, "pkg:cargo/"), purls(&dir_doc, "pkg:cargo/"));
    assert!(!purls(doc, "pkg:cargo/").is_empty());
    // The whiteout in the top layer removed the requirements file of the layer below.
    assert!(
        purls(doc, "pkg:pypi/").is_empty(),
        "{:?}",
        purls(doc, "pkg:pypi/")
    );
    assert_eq!(v["attached"]["predicate_type"], "https://cyclonedx.org/bom");

    // `zt verify IMAGE`: the signature, and the SBOM in both stored forms.
    let verified = ok_json(d, &["verify", &pinned, "--key", "k.pub", "--json"]);
    assert_eq!(
        forms(&verified["attestations"]),
        [
            "cosign:https://cyclonedx.org/bom",
            "referrer:https://cyclonedx.org/bom"
        ]
    );
    assert_eq!(forms(&verified["signatures"]).len(), 2);

    // SPDX too, from the same layers.
    let spdx = ok_json(d, &["sbom", &pinned, "--format", "spdx", "--json"]);
    assert_eq!(spdx["sbom"]["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["packages"], v["packages"]);
}
