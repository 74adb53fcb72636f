//! The pipelines shipped in pipelines/: each loads, validates with no
//! error (unset secret variables are warnings here, as in pull-request
//! CI), is valid against `gild schema`, and says what its image is for.

use super::pipeline_cli::as_json;
use gild::pipeline::config::{Runtime, StageConfig};
use gild::pipeline::target::Target;
use gild::pipeline::validate::{check_file, Options};
use gild::pipeline::{load, LoadedPipeline, Vars};
use gild::report::Severity;
use std::path::{Path, PathBuf};

const SHIPPED: [&str; 4] = [
    "wmco-ws2022.yaml",
    "monthly-patch.yaml",
    "wmco-4.9-20h2-docker.yaml",
    "k8s-flannel-node.yaml",
];

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name)
}

fn vars() -> Vars {
    let mut v = Vars::empty();
    v.set("GILD_VCENTER_URL", "https://vcenter.example/")
        .set("GILD_VCENTER_USER", "gild@vsphere.local");
    v
}

pub(crate) fn loaded(name: &str) -> LoadedPipeline {
    load(&shipped(name), &vars()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_shipped_pipeline_validates_without_errors() {
    for name in SHIPPED {
        let report = check_file(&shipped(name), &vars(), Options::default());
        let unexpected: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error || d.rule_id != "pipeline-secret-unset")
            // Its node files are text stand-ins, and validate says so.
            .filter(|d| {
                !(name == "k8s-flannel-node.yaml" && d.rule_id == "pipeline-node-file-stand-in")
            })
            .collect();
        assert!(unexpected.is_empty(), "{name}: {unexpected:#?}");
    }
}

#[test]
fn every_shipped_pipeline_is_valid_against_gild_schema() {
    let schema = gild::cli::schema::pipeline_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in SHIPPED {
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&shipped(name)))
            .map(|e| format!("{}: {e}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

fn runtime(p: &LoadedPipeline) -> Option<Runtime> {
    p.pipeline().stages.iter().find_map(|s| match s {
        StageConfig::ContainerRuntime(o) => o.runtime,
        _ => None,
    })
}

#[test]
fn the_seed_pipeline_is_20h2_with_docker_tools_11_0_6_and_the_authorized_key() {
    let p = loaded("wmco-4.9-20h2-docker.yaml");
    let pl = p.pipeline();
    assert_eq!(pl.target, Target::Wmco4_9);
    // 20H2 is build 19042, which contains KB4565351.
    assert!(pl.target.accepts_os(19042, 0).is_ok());
    assert!(
        pl.target.accepts_os(17763, 9999).is_err(),
        "2019 lacks KB4565351"
    );
    assert_eq!(runtime(&p), Some(Runtime::Docker));
    let stage_names: Vec<&str> = pl.stages.iter().map(StageConfig::name).collect();
    for needed in ["tools", "tools_conf", "firewall", "openssh"] {
        assert!(stage_names.contains(&needed), "{needed}");
    }
    assert!(pl.stages.iter().any(|s| matches!(
        s,
        StageConfig::Tools(o) if o.min_version.as_deref() == Some("11.0.6")
    )));
    assert!(pl.stages.iter().any(|s| matches!(
        s,
        StageConfig::Openssh(o) if o.public_key_file == Path::new("wmco-admin_ed25519.pub")
    )));
}

#[test]
fn the_current_wmco_pipelines_carry_no_runtime_and_the_monthly_one_updates_and_keeps_3() {
    let ws = loaded("wmco-ws2022.yaml");
    assert_eq!(ws.pipeline().target, Target::Wmco4_11Plus);
    assert_eq!(runtime(&ws), Some(Runtime::None));
    assert!(ws.pipeline().target.accepts_os(20348, 681).is_ok());
    let monthly = loaded("monthly-patch.yaml");
    assert_eq!(monthly.pipeline().target, Target::Wmco4_11Plus);
    assert_eq!(monthly.pipeline().template.keep, 3);
    assert!(monthly
        .pipeline()
        .stages
        .iter()
        .any(|s| matches!(s, StageConfig::WindowsUpdate(_))));
    assert_ne!(
        monthly.pipeline().name,
        ws.pipeline().name,
        "their templates must not mix"
    );
}

#[test]
fn the_flannel_pipeline_has_a_runtime_and_udp_4789() {
    let k = loaded("k8s-flannel-node.yaml");
    assert_eq!(k.pipeline().target, Target::Kubernetes);
    assert_eq!(runtime(&k), Some(Runtime::Containerd));
    assert!(k.pipeline().stages.iter().any(|s| matches!(
        s,
        StageConfig::Firewall(o) if o.vxlan == Some(true)
    )));
    // The node stage, after the firewall, with its files and address plan.
    let names: Vec<&str> = k.pipeline().stages.iter().map(StageConfig::name).collect();
    let node = names.iter().position(|n| *n == "kubernetes_node");
    assert!(
        node > names.iter().position(|n| *n == "firewall"),
        "{names:?}"
    );
    let Some(StageConfig::KubernetesNode(o)) = node.map(|i| &k.pipeline().stages[i]) else {
        panic!("no kubernetes_node stage: {names:?}");
    };
    assert!(k.resolve_path(&o.binaries).join("SHA256SUMS").is_file());
    assert!(k.resolve_path(&o.netplan).is_file());
    assert!(o.kubeconfig.is_none() && !o.allow_admin_kubeconfig);
}

#[test]
fn only_the_public_half_of_the_shipped_key_is_in_the_repository() {
    for entry in std::fs::read_dir(shipped("")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(!text.contains("PRIVATE KEY"), "{}", path.display());
        }
    }
    let pubkey = std::fs::read_to_string(shipped("wmco-admin_ed25519.pub")).unwrap();
    assert!(pubkey.starts_with("ssh-ed25519 "));
}
