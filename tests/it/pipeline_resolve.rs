//! Resolving a pipeline's inventory on the simulator's built-in inventory
//! (dc1: folders builds/templates, cluster1 with pool gild, datastore1,
//! "VM Network", win2022-base; dc2 repeats some names).

use super::pipeline_load::fixture;
use gild::pipeline::config::Pipeline;
use gild::pipeline::resolve::resolve;
use gild::pipeline::{load, Vars};
use gild::simulator::{self, Simulator, SimulatorConfig};
use gild::vsphere::{Client, RetryPolicy, VsphereError};

async fn connect(sim: &Simulator) -> Client {
    let cfg = crate::support::client_config(sim, RetryPolicy::instant(2));
    Client::connect(cfg).await.expect("client connects")
}

fn pipeline() -> Pipeline {
    let mut v = Vars::empty();
    v.set("VC_HOST", "unused");
    load(&fixture("valid.yaml"), &v).unwrap().into_pipeline()
}

#[tokio::test]
async fn every_object_resolves_to_the_ids_vcenter_lists() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let client = connect(&sim).await;
    let r = resolve(&client, &pipeline()).await.unwrap();
    assert_eq!(r.source_vm, client.find_vm("win2022-base").await.unwrap());
    assert_eq!(
        r.datastore,
        client
            .find_datastore("/dc1/datastore/datastore1")
            .await
            .unwrap()
    );
    assert_eq!(
        r.build_folder,
        client.find_folder("/dc1/vm/builds").await.unwrap()
    );
    assert_eq!(
        r.template_folder,
        client.find_folder("/dc1/vm/templates").await.unwrap()
    );
    assert_eq!(
        r.cluster,
        Some(client.find_cluster("cluster1").await.unwrap())
    );
    assert_eq!(
        r.resource_pool,
        client
            .find_resource_pool("/dc1/host/cluster1/Resources")
            .await
            .unwrap()
    );
    assert_ne!(r.build_folder, r.template_folder);
}

#[tokio::test]
async fn every_missing_object_is_listed_not_only_the_first() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let client = connect(&sim).await;
    let mut p = pipeline();
    p.placement.datastore = "nope-ds".into();
    p.placement.network = "ghost-net".into();
    p.placement.cluster = Some("nocluster".into());
    p.source.vm = "ghost-vm".into();
    p.template.folder = "/dc1/vm/nothere".into();
    let err = resolve(&client, &p).await.unwrap_err();
    let fields: Vec<&str> = err.unresolved.iter().map(|u| u.field).collect();
    assert_eq!(
        fields,
        vec![
            "placement.cluster",
            "placement.datastore",
            "placement.network",
            "source.vm",
            "template.folder"
        ]
    );
    assert!(err.unresolved.iter().all(|u| u.is_missing()), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("5 inventory objects not resolved"),
        "{text}"
    );
    assert!(text.contains("datastore \"nope-ds\" (placement.datastore): datastore nope-ds (in datacenter dc1) not found"), "{text}");
    // A missing source VM may be a template: say why gild cannot use it.
    assert!(text.contains("does not list templates"), "{text}");
}

#[tokio::test]
async fn names_are_looked_up_in_the_pipelines_datacenter_only() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let client = connect(&sim).await;
    let mut p = pipeline();
    // `templates` exists in dc1 and dc2: unambiguous inside dc1.
    p.template.folder = "templates".into();
    // dc2's datastore by path is refused: the build VM lives in dc1.
    p.placement.datastore = "/dc2/datastore/datastore2".into();
    let err = resolve(&client, &p).await.unwrap_err();
    assert_eq!(err.unresolved.len(), 1, "{err}");
    let u = &err.unresolved[0];
    assert_eq!(u.field, "placement.datastore");
    assert!(matches!(u.error, VsphereError::InvalidPath { .. }));
    assert!(
        u.to_string()
            .contains("is in datacenter dc2, but placement.datacenter is dc1"),
        "{u}"
    );
    p.placement.datastore = "datastore2".into();
    let err = resolve(&client, &p).await.unwrap_err();
    assert!(err.unresolved[0].error.is_not_found(), "{err}");
}

#[tokio::test]
async fn a_resource_pool_is_used_as_given_and_an_unknown_datacenter_reported() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let client = connect(&sim).await;
    let mut p = pipeline();
    p.placement.cluster = None;
    p.placement.resource_pool = Some("gild".into());
    let r = resolve(&client, &p).await.unwrap();
    assert_eq!(r.cluster, None);
    assert_eq!(
        r.resource_pool,
        client.find_resource_pool("gild").await.unwrap()
    );

    p.placement.datacenter = "dc9".into();
    p.placement.folder = "builds".into();
    p.template.folder = "templates/windows".into();
    p.source.vm = "win2022-base".into();
    let err = resolve(&client, &p).await.unwrap_err();
    let fields: Vec<&str> = err.unresolved.iter().map(|u| u.field).collect();
    // Names are still looked up (everywhere) so their own problems show;
    // `templates/windows` is not a name, and `builds` exists once.
    assert_eq!(
        fields,
        vec!["placement.datacenter", "template.folder"],
        "{err}"
    );
}
