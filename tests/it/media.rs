//! Media rows judged from the real C2PA and XMP fixtures through the real
//! binary: our own (fixtures/media/, made by fixtures/tools/media.sh) for the
//! report's media section, its schema and the same bytes at any thread
//! count; and images from the c2pa-rs test suite (fixtures/media/upstream/,
//! SOURCES.md there), signed by others, for the verdicts.

use crate::common;

use std::process::Command;

use common::{Workdir, status, stderr, tools};

const PRODUCTS: &str = "Id,Name,is_synthetic,data_source,PathOnClient
a01,Desk lamp,false,web_form,media/ai-signed.png
a02,Chair,false,web_form,media/camera-signed.jpg
a03,Shelf,false,web_form,media/tampered.jpg
a04,Stool,false,web_form,media/unsigned.png
a05,Table,false,web_form,media/iptc-ai.jpg
a06,Rug,false,web_form,media/gone.png
a07,Vase,false,web_form,https://cdn.example.com/vase.png
";

fn workdir() -> Workdir {
    let wd = Workdir::new();
    wd.fixture_dir("media", "media");
    wd.write("products.csv", PRODUCTS);
    wd.write("crmguard.toml", "[media]\ncolumns = [\"PathOnClient\"]\n");
    wd
}

/// The first field of each record of a CSV without quoted fields: its Ids.
fn ids(csv: &str) -> Vec<&str> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect()
}

#[test]
fn each_fixture_is_judged_with_its_evidence() {
    let wd = workdir();
    let out = wd.run(&["scan", "-q", "--cleanup-plan", "products.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let report = wd.report("crmguard-out/products.report.json");
    let media = &report["media"];
    assert_eq!(media["c2pa"], true);
    let counts: Vec<u64> = [
        "files",
        "missing",
        "invalid",
        "ai_undisclosed",
        "ai_disclosed",
        "unchecked",
    ]
    .iter()
    .map(|k| media[k].as_u64().unwrap())
    .collect();
    assert_eq!(counts, [7, 1, 1, 2, 0, 1]);
    let findings: Vec<(u64, String, String)> = media["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["row"].as_u64().unwrap(),
                f["code"].as_str().unwrap_or("-").to_string(),
                f["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let codes: Vec<(u64, &str)> = findings.iter().map(|(r, c, _)| (*r, c.as_str())).collect();
    assert_eq!(
        codes,
        [
            (1, "UNDISCLOSED_AI_MEDIA"),
            (3, "MEDIA_PROVENANCE_INVALID"),
            (5, "UNDISCLOSED_AI_MEDIA"),
            (6, "MEDIA_MISSING"),
            (7, "-"),
        ]
    );
    let detail = |row: u64| &findings.iter().find(|f| f.0 == row).unwrap().2;
    assert!(
        detail(1).contains("assertion c2pa.actions.v2: c2pa.created digitalSourceType")
            && detail(1).contains("trainedAlgorithmicMedia")
            && detail(1).contains("on no trust list"),
        "{}",
        detail(1)
    );
    assert!(
        detail(3).contains("assertion.dataHash.mismatch"),
        "{}",
        detail(3)
    );
    assert!(detail(5).starts_with("XMP (JPEG APP1)"), "{}", detail(5));
    assert_the_outputs_carry_the_evidence(&wd);

    let Some(python) = tools::python_with(&["jsonschema"]) else {
        return;
    };
    let out = Command::new(&python)
        .arg(tools::script("validate_json.py"))
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join("report.schema.json"),
        )
        .arg("--")
        .arg(wd.join("crmguard-out/products.report.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 documents, 0 errors"), "{text}");
}

/// The quarantine file names the evidence; the cleanup plan lists exactly
/// the quarantined Ids.
fn assert_the_outputs_carry_the_evidence(wd: &Workdir) {
    let quarantine = wd.read_string("crmguard-out/products.quarantine.csv");
    assert!(
        quarantine
            .lines()
            .next()
            .unwrap()
            .ends_with(",crmguard_media")
    );
    assert!(quarantine.contains("MEDIA_MISSING PathOnClient=media/gone.png: no such file"));
    let plan = wd.read_string("crmguard-out/products.cleanup.csv");
    assert_eq!(ids(&plan), ["a01", "a03", "a05", "a06"]);
}

#[test]
fn a_signer_under_a_trust_anchor_is_reported_trusted() {
    let wd = workdir();
    wd.write(
        "crmguard.toml",
        "[media]\ncolumns = [\"PathOnClient\"]\ntrust_anchors = \"media/test-ca.pem\"\n",
    );
    assert_eq!(status(&wd.run(&["scan", "-q", "products.csv"])), 1);
    let quarantine = wd.read_string("crmguard-out/products.quarantine.csv");
    assert!(
        quarantine.contains(r#"signed by ""crmguard test signer"", trusted"#),
        "{quarantine}"
    );
}

#[test]
fn any_thread_count_writes_the_same_bytes() {
    let wd = workdir();
    let mut outputs = Vec::new();
    for j in ["1", "4"] {
        let dir = format!("out{j}");
        let out = wd.run(&["scan", "-q", "-j", j, "--out-dir", &dir, "products.csv"]);
        assert_eq!(status(&out), 1, "{}", stderr(&out));
        outputs.push((
            wd.read(&format!("{dir}/products.clean.csv")),
            wd.read(&format!("{dir}/products.quarantine.csv")),
        ));
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// One row per upstream image (fixtures/media/upstream/SOURCES.md says what
/// each is), none of them disclosed synthetic.
const UPSTREAM: &str = "Id,Name,is_synthetic,data_source,PathOnClient
u01,Poster,false,web_form,media/upstream/ocsp.jpg
u02,Camera,false,web_form,media/upstream/C_with_CAWG_data.jpg
u03,Gradient,false,web_form,media/upstream/C.jpg
u04,Shelf,false,web_form,media/upstream/XCA.jpg
u05,Lamp,false,web_form,media/upstream/no_alg.jpg
u06,Stripped,false,web_form,media/upstream/no_manifest.jpg
u07,Logo,false,web_form,media/upstream/libpng-test.png
u08,Gone,false,web_form,media/upstream/gone.jpg
";

#[test]
fn upstream_images_are_judged_with_their_evidence() {
    let wd = workdir();
    wd.write("upstream.csv", UPSTREAM);
    let out = wd.run(&["scan", "-q", "upstream.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let report = wd.report("crmguard-out/upstream.report.json");
    let findings: Vec<(u64, &str, &str)> = report["media"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["row"].as_u64().unwrap(),
                f["code"].as_str().unwrap(),
                f["detail"].as_str().unwrap(),
            )
        })
        .collect();
    // Adobe's edit of a Firefly text-to-image picture: the active manifest's
    // own actions already say generative AI; its signer's certificate expired
    // in 2025, but the signature's time stamp falls inside its validity.
    let firefly = "C2PA manifest adobe:urn:uuid:f3a46a78-8103-4e04-9f98-abcf03ebab19, \
        assertion c2pa.actions.v2: c2pa.opened digitalSourceType \
        http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia; \
        signed by \"Adobe C2PA\", on no trust list";
    // The test suite's CA.jpg with bytes changed after signing.
    let tampered = "C2PA manifest contentauth:urn:uuid:c2677d4b-0a93-4444-876f-ed2f2d40b8cf: \
        assertion.dataHash.mismatch; signed by \"C2PA Signer\"";
    assert_eq!(
        findings,
        [
            (1, "UNDISCLOSED_AI_MEDIA", firefly),
            (4, "MEDIA_PROVENANCE_INVALID", tampered),
            // A claim with no hash algorithm: the reader refuses the store.
            (
                5,
                "MEDIA_PROVENANCE_INVALID",
                "C2PA manifest store unreadable: unknown algorithm"
            ),
            (8, "MEDIA_MISSING", "no such file"),
        ]
    );
    // A validly signed camera capture, a validly signed algorithmicMedia
    // gradient (not AI: docs/disclosure.md), a file whose manifest was
    // removed and a plain PNG pass: none claims AI.
    let clean = wd.read_string("crmguard-out/upstream.clean.csv");
    assert_eq!(ids(&clean), ["u02", "u03", "u06", "u07"]);
    let counts: Vec<u64> = ["files", "missing", "invalid", "ai_undisclosed", "unchecked"]
        .iter()
        .map(|k| report["media"][k].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [8, 1, 2, 1, 0]);
}

/// A wrong --media-root would make every relative path MEDIA_MISSING: a
/// usage error, said once, not a quarantine of the whole file.
#[test]
fn a_media_root_that_is_not_a_directory_is_refused_before_anything_is_written() {
    let wd = workdir();
    for (root, why) in [
        ("no/such/dir", "no/such/dir: no such directory"),
        ("products.csv", "products.csv: not a directory"),
    ] {
        let out = wd.run(&["scan", "--media-root", root, "products.csv"]);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("--media-root {why}")), "{err}");
        assert!(
            !wd.join("crmguard-out").exists(),
            "{:?}",
            wd.list("crmguard-out")
        );
    }
    let out = wd.run(&["scan", "-q", "--media-root", ".", "products.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
}

/// A `[media] columns` name the file lacks checks nothing: every row would
/// pass with no word. It is a file finding, so `--fail-on warning` fails.
#[test]
fn a_media_column_the_file_lacks_is_a_file_finding() {
    let wd = Workdir::new();
    wd.write("crmguard.toml", "[media]\ncolumns = [\"Pic\"]\n");
    wd.write(
        "p.csv",
        "Name,is_synthetic,data_source,Picture\nAda,false,web_form,a.png\n",
    );
    let record = |key: &str| {
        format!(
            "{{\"Name\":\"Ada\",\"is_synthetic\":false,\"data_source\":\"web\",\"{key}\":\"\"}}\n"
        )
    };
    wd.write("lacks.ndjson", record("Picture"));
    wd.write(
        "has.ndjson",
        format!("{}{}", record("Picture"), record("pic")),
    );
    for (file, found, lacks) in [
        ("p.csv", true, "the file has no column by that name"),
        ("lacks.ndjson", true, "no record has a key by that name"),
        ("has.ndjson", false, ""),
    ] {
        let out = wd.run(&["scan", "--fail-on", "warning", file]);
        assert_eq!(status(&out), i32::from(found), "{file}: {}", stderr(&out));
        let stem = file.split('.').next().unwrap();
        let report = wd.report(&format!("crmguard-out/{stem}.report.json"));
        let findings = report["file_findings"].as_array().unwrap();
        if !found {
            assert!(findings.is_empty(), "{file}: {findings:?}");
            continue;
        }
        assert_eq!(findings.len(), 1, "{file}: {findings:?}");
        assert_eq!(findings[0]["code"], "MEDIA_COLUMN_MISSING");
        let message = format!(
            "warning MEDIA_COLUMN_MISSING: [media] columns names `Pic`, but {lacks}: \
             no media file is checked through it"
        );
        assert!(stderr(&out).contains(&message), "{}", stderr(&out));
        let out = wd.run(&["scan", "-q", file]);
        assert_eq!(status(&out), 0, "{file}: {}", stderr(&out));
    }
}
