//! One pass through every operation of gild's client against the simulator,
//! error cases included (404, 400 ALREADY_EXISTS, 400 NOT_ALLOWED, 401, 503),
//! with every exchange recorded by the [`Recorder`] proxy. The contract
//! tests then judge the recording; this file only makes the calls and
//! checks that each error case did fail (so the recording holds it).

use super::recorder::Recorder;
use gild::secret::Secret;
use gild::simulator::{self, FaultSpec, Simulator, SimulatorConfig};
use gild::vsphere::wire::{
    CloneSpec, GuestCredentials, ProcessSpec, ToolsUpdateSpec, ToolsUpgradePolicy, ToolsUpgradeSpec,
};
use gild::vsphere::{Client, ClientConfig, ListFilter, RetryPolicy, Timeouts};
use std::time::Duration;

pub struct Recorded {
    pub sim: Simulator,
    pub recorder: Recorder,
}

const WAIT: Duration = Duration::from_secs(20);

pub fn client_config(recorder: &Recorder, sim: &Simulator, password: Secret) -> ClientConfig {
    let mut cfg = ClientConfig::new(recorder.base_url.clone(), sim.user(), password);
    cfg.retry = RetryPolicy::instant(3);
    cfg.timeouts = Timeouts::for_tests();
    cfg
}

/// Starts a plain-HTTP simulator (instant timing) behind a recorder. The
/// simulator refuses the /api token on VI/JSON (pre-8.0U3 behaviour) so the
/// client's SessionManager login path is on the wire too.
pub async fn start() -> Recorded {
    let config = SimulatorConfig {
        tls: false,
        accept_api_token_for_vi: false,
        ..SimulatorConfig::default()
    };
    let sim = simulator::start(config).await.expect("start the simulator");
    let recorder = Recorder::start(sim.base_url()).await;
    Recorded { sim, recorder }
}

fn expect_err<T: std::fmt::Debug>(
    r: Result<T, gild::vsphere::VsphereError>,
    what: &str,
) -> gild::vsphere::VsphereError {
    match r {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Drives every operation gild's client can send.
pub async fn drive_every_client_operation(rec: &Recorded) {
    let sim = &rec.sim;
    let wrong = Client::connect(client_config(
        &rec.recorder,
        sim,
        Secret::new("not-the-password"),
    ))
    .await;
    assert!(expect_err(wrong, "login with a wrong password").is_unauthenticated());

    let client = Client::connect(client_config(&rec.recorder, sim, sim.password().clone()))
        .await
        .expect("login");
    client.session_info().await.expect("session get");
    let creds = GuestCredentials {
        user_name: sim.guest_user().to_owned(),
        password: sim.guest_password().clone(),
    };

    // Inventory, by name and by path.
    client.find_datacenter("dc1").await.expect("datacenter");
    let folder = client
        .find_folder("/dc1/vm/builds")
        .await
        .expect("folder by path");
    let datastore = client
        .find_datastore("/dc1/datastore/datastore1")
        .await
        .expect("datastore by path");
    let pool = client
        .find_resource_pool("/dc1/host/cluster1/Resources/gild")
        .await
        .expect("pool by path");
    client.find_cluster("cluster1").await.expect("cluster");
    client.find_network("VM Network").await.expect("network");
    let source = client
        .find_vm("/dc1/vm/win2022-base")
        .await
        .expect("source VM by path");
    client
        .list_vms(&ListFilter::new().power_state(gild::vsphere::wire::PowerState::PoweredOff))
        .await
        .expect("vm list");
    let missing = gild::vsphere::wire::VmId::new("vm-999999");
    assert!(expect_err(client.vm(&missing).await, "get a missing VM").is_not_found());

    // Clone, and clone onto a taken name.
    let placement = gild::vsphere::wire::ClonePlacement {
        folder: Some(folder),
        datastore: Some(datastore),
        resource_pool: Some(pool),
        ..Default::default()
    };
    let spec = CloneSpec {
        source: source.clone(),
        name: "contract-build".into(),
        placement: Some(placement),
        power_on: Some(false),
    };
    let vm = client.clone_vm(&spec).await.expect("clone");
    assert!(
        expect_err(client.clone_vm(&spec).await, "clone onto a taken name").is_already_exists()
    );
    client.vm(&vm).await.expect("vm get");

    // Powered off: hardware upgrade allowed, guest info unavailable (503).
    client.hardware(&vm).await.expect("hardware get");
    client
        .upgrade_hardware(&vm, None)
        .await
        .expect("hardware upgrade while off");
    let no_tools = expect_err(
        client.guest_identity(&vm).await,
        "guest identity with the VM off",
    );
    assert_eq!(
        no_tools.status(),
        Some(503),
        "guest info without tools: {no_tools}"
    );

    client.power_on(&vm).await.expect("power on");
    client.power(&vm).await.expect("power get");
    assert!(
        expect_err(client.delete_vm(&vm).await, "delete a powered-on VM").status() == Some(400)
    );
    client
        .wait_for_guest_operations(&vm, WAIT)
        .await
        .expect("guest operations ready");
    client.wait_for_ip(&vm, WAIT).await.expect("IP address");
    client.guest_identity(&vm).await.expect("guest identity");
    client
        .guest_interfaces(&vm)
        .await
        .expect("guest interfaces");
    client.guest_power(&vm).await.expect("guest power");
    client.tools(&vm).await.expect("tools get");
    client
        .update_tools(
            &vm,
            &ToolsUpdateSpec {
                upgrade_policy: Some(ToolsUpgradePolicy::Manual),
            },
        )
        .await
        .expect("tools update policy");
    client
        .tools_installer(&vm)
        .await
        .expect("tools installer get");
    client
        .connect_tools_installer(&vm)
        .await
        .expect("installer connect");
    client
        .disconnect_tools_installer(&vm)
        .await
        .expect("installer disconnect");
    client
        .upgrade_tools(&vm, &ToolsUpgradeSpec::default())
        .await
        .expect("tools upgrade");

    // An injected 503 on an idempotent read: the client retries, the
    // recording holds the 503 body.
    sim.admin().set_faults(
        FaultSpec::parse("unavailable route=/api/vcenter/vm/{vm}/power method=GET next=1")
            .expect("fault spec"),
    );
    client.power(&vm).await.expect("power get after one 503");
    sim.admin().clear_faults();

    // Guest processes.
    let exit0 = ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some("/c exit 0".into()),
        ..Default::default()
    };
    let done = client
        .run_program(&vm, &creds, &exit0, WAIT)
        .await
        .expect("run cmd.exe");
    assert_eq!(done.exit_code, 0);
    client
        .list_processes(&vm, &creds)
        .await
        .expect("process list");
    sim.admin()
        .set_faults(FaultSpec::parse("process-hang=args:ping").expect("fault spec"));
    let hang = ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some("/c ping -t localhost".into()),
        ..Default::default()
    };
    let pid = client
        .start_process(&vm, &creds, &hang)
        .await
        .expect("start a hanging process");
    client
        .kill_process(&vm, &creds, pid)
        .await
        .expect("process delete");
    sim.admin().clear_faults();
    let bad_creds = GuestCredentials {
        user_name: creds.user_name.clone(),
        password: Secret::new("wrong"),
    };
    let refused = expect_err(
        client.list_processes(&vm, &bad_creds).await,
        "process list with bad guest credentials",
    );
    assert!(refused.is_unauthenticated(), "{refused}");

    // Guest filesystem.
    let dir = r"C:\gild-contract";
    client
        .create_directory(&vm, &creds, dir, true)
        .await
        .expect("directory create");
    let file = r"C:\gild-contract\hello.txt";
    client
        .upload_bytes(&vm, &creds, &b"hello contract\r\n"[..], file, true)
        .await
        .expect("upload");
    let back = client
        .download_bytes(&vm, &creds, file)
        .await
        .expect("download");
    assert_eq!(&back[..], b"hello contract\r\n");
    client.file_info(&vm, &creds, file).await.expect("file get");
    client
        .list_files(&vm, &creds, dir)
        .await
        .expect("files list");
    client
        .delete_file(&vm, &creds, file)
        .await
        .expect("file delete");
    assert!(expect_err(
        client.file_info(&vm, &creds, file).await,
        "get a deleted file"
    )
    .is_not_found());
    client
        .delete_directory(&vm, &creds, dir, true)
        .await
        .expect("directory delete");

    // Guest power, then a hard stop.
    client.guest_reboot(&vm).await.expect("guest reboot");
    client
        .wait_for_guest_operations(&vm, WAIT)
        .await
        .expect("guest operations after reboot");
    client.guest_shutdown(&vm).await.expect("guest shutdown");
    wait_powered_off(&client, &vm).await;
    client.power_on(&vm).await.expect("power on again");
    client.power_off(&vm).await.expect("power off");

    // VI/JSON: template check, rename, mark as template, destroy.
    assert!(!client.is_template(&vm).await.expect("is_template"));
    let task = client
        .rename(&vm, "contract-build-renamed")
        .await
        .expect("rename");
    client.wait_task(&task, WAIT).await.expect("rename task");
    client
        .mark_as_template(&vm)
        .await
        .expect("mark as template");
    assert!(client
        .is_template(&vm)
        .await
        .expect("is_template after marking"));
    // Templates: annotation, listing a folder, finding by name, moving.
    client
        .set_annotation(&vm, "gild contract annotation")
        .await
        .expect("set annotation");
    let folder = client
        .find_folder("/dc1/vm/templates")
        .await
        .expect("template folder");
    let here = client.vm_config(&vm).await.expect("vm config");
    assert_eq!(here.annotation, "gild contract annotation");
    let task = client
        .move_into_folder(&folder, &vm)
        .await
        .expect("move into folder");
    client.wait_task(&task, WAIT).await.expect("move task");
    let children = client.child_vms(&folder).await.expect("child entity");
    assert!(children.iter().any(|c| c.vm == vm && c.template));
    assert_eq!(
        client
            .find_child_vm(&folder, "contract-build-renamed")
            .await
            .expect("find child"),
        Some(vm.clone())
    );
    assert_eq!(
        client
            .find_child_vm(&folder, "no-such-vm")
            .await
            .expect("find child"),
        None
    );
    let uuid = client
        .vm(&vm)
        .await
        .expect("vm get")
        .identity
        .expect("identity")
        .instance_uuid;
    assert_eq!(
        client
            .find_vm_by_instance_uuid(&uuid, None)
            .await
            .expect("find by uuid"),
        Some(vm.clone())
    );
    let spec2 = CloneSpec {
        source,
        name: "contract-destroy".into(),
        placement: None,
        power_on: None,
    };
    let vm2 = client.clone_vm(&spec2).await.expect("second clone");
    let task = client.destroy(&vm2).await.expect("destroy");
    client.wait_task(&task, WAIT).await.expect("destroy task");
    let vm3 = client
        .clone_vm(&CloneSpec {
            name: "contract-delete".into(),
            ..spec2
        })
        .await
        .expect("third clone");
    client.delete_vm(&vm3).await.expect("vm delete");

    client.logout().await.expect("logout");
}

/// Through the PropertyCollector (create, filter, wait, destroy).
async fn wait_powered_off(client: &Client, vm: &gild::vsphere::wire::VmId) {
    use gild::vsphere::wire::PowerState;
    let seen = client
        .wait_vm(
            vm,
            &[gild::vsphere::VmProperty::PowerState],
            "power off after guest shutdown",
            WAIT,
            |p| p.power == Some(PowerState::PoweredOff),
        )
        .await
        .expect("powered off after guest shutdown");
    assert_eq!(seen.power, Some(PowerState::PoweredOff));
}
