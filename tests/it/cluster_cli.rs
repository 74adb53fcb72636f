//! The cluster commands end to end: exit codes and formats as `gild lint`,
//! generate piped into check, and the infrastructure id read through the
//! Kubernetes API from a small in-process fake API server (plain HTTP,
//! bearer token checked, the responses a real API server gives).

use assert_cmd::Command;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::path::PathBuf;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cluster")
        .join(path)
}

fn gild() -> Command {
    let mut c = Command::cargo_bin("gild").unwrap();
    c.env_remove("RUST_LOG").env_remove("KUBECONFIG");
    c
}

#[test]
fn check_exit_codes_follow_lint() {
    let seed = fixture("machineset/seed-filled.yaml");
    let dir = tempfile::tempdir().unwrap();
    let warn = dir.path().join("warn.yaml");
    let text = std::fs::read_to_string(&seed).unwrap();
    std::fs::write(
        &warn,
        text.replace("machine-role: worker", "machine-role: infra"),
    )
    .unwrap();
    let plan = fixture("netplan/seed.yaml");
    let missing = PathBuf::from("/nonexistent/input.yaml");
    let cases: [(&[&str], &PathBuf, i32); 7] = [
        (&["machineset", "check"], &seed, 0),
        (
            &["machineset", "check"],
            &fixture("machineset/seed-sample.yaml"),
            1,
        ),
        (&["machineset", "check"], &missing, 2),
        // A warning fails only with --deny-warnings.
        (&["machineset", "check"], &warn, 0),
        (&["machineset", "check", "--deny-warnings"], &warn, 1),
        (&["netplan", "check"], &plan, 0),
        (&["netplan", "check"], &missing, 2),
    ];
    for (args, file, code) in cases {
        gild().args(args).arg(file).assert().code(code);
    }
}

#[test]
fn json_lines_and_sarif_carry_the_rule_and_position() {
    let out = gild()
        .args(["machineset", "check", "--format", "json"])
        .arg(fixture("machineset/seed-sample.yaml"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let first: Value =
        serde_json::from_str(String::from_utf8(out).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["rule_id"].as_str(), first["line"].as_u64()),
        (Some("placeholder"), Some(7))
    );
    let out = gild()
        .args(["machineset", "check", "--format", "sarif"])
        .arg(fixture("machineset/seed-sample.yaml"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let sarif: Value = serde_json::from_slice(&out).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../data/sarif-2.1.0-rtm.5.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&sarif));
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|r| r["id"] == "vxlan-port"));
}

#[test]
fn generate_from_a_pipeline_file_pipes_into_check() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.yaml");
    std::fs::write(&pipeline, crate::cluster_machineset::PIPELINE).unwrap();
    let out = dir.path().join("ms.yaml");
    gild()
        .args([
            "machineset",
            "generate",
            "--template",
            "/dc1/vm/templates/win20h2-wmco",
            "--name",
            "winworker",
        ])
        .args(["--infrastructure-id", "ocp49-x7k2p", "--workspace-from"])
        .arg(&pipeline)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(0);
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(yaml.contains("folder: /dc1/vm/gild-builds"), "{yaml}");
    gild()
        .args([
            "machineset",
            "check",
            "--template-disk-gib",
            "128",
            "--deny-warnings",
            "--pipeline",
        ])
        .arg(&pipeline)
        .arg(&out)
        .assert()
        .code(0);
    // The pipeline's source VM is never a valid template.
    gild()
        .args([
            "machineset",
            "check",
            "--source-vm",
            "/dc1/vm/templates/win20h2-wmco",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("template-is-source-vm"));
    gild()
        .args([
            "machineset",
            "generate",
            "--template",
            "t",
            "--name",
            "windows-workers",
            "--infrastructure-id",
            "x",
            "--network",
            "n",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("longer than 9"));
}

// --- a fake Kubernetes API server ---------------------------------------

const TOKEN: &str = "sha256~fake-token";

#[derive(Clone)]
struct Fake {
    /// `.status.infrastructureName`, or None for a plain Kubernetes cluster
    /// (the resource type does not exist: 404).
    infrastructure_name: Option<&'static str>,
}

/// GET /apis/config.openshift.io/v1/infrastructures/cluster as the API
/// server answers it: 401 Status without the token, 404 Status when the
/// type is unknown, else the object.
async fn infrastructure(State(fake): State<Fake>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let status = |code: StatusCode, reason: &str, message: &str| {
        (
            code,
            Json(
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()}),
            ),
        )
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    match fake.infrastructure_name {
        None => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        ),
        Some(name) => (
            StatusCode::OK,
            Json(json!({
                "apiVersion": "config.openshift.io/v1",
                "kind": "Infrastructure",
                "metadata": {"name": "cluster", "uid": "6c7e1d3a-3f2b-4bb1-9a4e-1f2a3b4c5d6e", "resourceVersion": "512"},
                "spec": {"cloudConfig": {"name": ""}, "platformSpec": {"type": "VSphere"}},
                "status": {
                    "apiServerURL": "https://api.ocp49.example.com:6443",
                    "apiServerInternalURI": "https://api-int.ocp49.example.com:6443",
                    "infrastructureName": name,
                    "platform": "VSphere",
                    "platformStatus": {"type": "VSphere"}
                }
            })),
        ),
    }
}

/// Starts the fake on a free loopback port; returns a kubeconfig for it.
async fn fake_cluster(fake: Fake, dir: &tempfile::TempDir, token: &str) -> PathBuf {
    let app = Router::new()
        .route(
            "/apis/config.openshift.io/v1/infrastructures/cluster",
            get(infrastructure),
        )
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: admin\n  context:\n    cluster: fake\n    user: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user:\n    token: {token}\n"
        ),
    )
    .unwrap();
    kubeconfig
}

#[tokio::test]
async fn the_infrastructure_id_is_read_through_the_kubernetes_api() {
    let dir = tempfile::tempdir().unwrap();
    let kc = fake_cluster(
        Fake {
            infrastructure_name: Some("ocp49-x7k2p"),
        },
        &dir,
        TOKEN,
    )
    .await;
    let id = gild::cluster::kubeconfig::infrastructure_id(Some(&kc))
        .await
        .unwrap();
    assert_eq!(id, "ocp49-x7k2p");
}

/// The error and its causes, as the CLI prints them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

#[tokio::test]
async fn a_cluster_without_the_openshift_type_or_a_bad_token_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = fake_cluster(
        Fake {
            infrastructure_name: None,
        },
        &dir,
        TOKEN,
    )
    .await;
    let err = gild::cluster::kubeconfig::infrastructure_id(Some(&kc))
        .await
        .unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("reading infrastructure.config.openshift.io/cluster from http://127.0.0.1"),
        "{text}"
    );
    assert!(
        text.contains("could not find the requested resource"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let kc = fake_cluster(
        Fake {
            infrastructure_name: Some("x"),
        },
        &dir,
        "wrong",
    )
    .await;
    let text = chain(
        &gild::cluster::kubeconfig::infrastructure_id(Some(&kc))
            .await
            .unwrap_err(),
    );
    assert!(text.contains("Unauthorized"), "{text}");

    let missing = dir.path().join("nope");
    let text = chain(
        &gild::cluster::kubeconfig::infrastructure_id(Some(&missing))
            .await
            .unwrap_err(),
    );
    assert!(text.contains("loading the kubeconfig"), "{text}");
}

#[tokio::test]
async fn check_compares_the_machineset_with_the_clusters_id() {
    let dir = tempfile::tempdir().unwrap();
    let kc = fake_cluster(
        Fake {
            infrastructure_name: Some("ocp49-other"),
        },
        &dir,
        TOKEN,
    )
    .await;
    let ms = fixture("machineset/seed-filled.yaml");
    let out = tokio::task::spawn_blocking(move || {
        gild()
            .args(["machineset", "check", "--infrastructure-id-from-kubeconfig"])
            .arg(&kc)
            .arg(&ms)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("error[infrastructure-id-cluster]: spec.template.metadata.labels[\"machine.openshift.io/cluster-api-cluster\"]: `ocp49-x7k2p` is not the cluster's infrastructure id `ocp49-other`"), "{stdout}");
}
