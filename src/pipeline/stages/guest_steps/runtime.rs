//! container_runtime: the Containers feature and the target's runtime.

use super::{collect_facts, reboot_and_wait, run, Build};
use crate::pipeline::config::{ContainerRuntimeOptions, Runtime};
use crate::pipeline::error::StageError;
use crate::pipeline::guest::Arg;

pub async fn container_runtime(
    b: &mut Build<'_>,
    o: &ContainerRuntimeOptions,
) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let target = b.job.pipeline.target;
    let runtime = o.runtime.unwrap_or_else(|| target.default_runtime());
    b.checks.expect(
        "runtime allowed by the target",
        format!("{:?} for {target}", target.allowed_runtimes()),
        format!("{runtime:?}"),
        target.allowed_runtimes().contains(&runtime),
    )?;
    let name = match runtime {
        Runtime::Docker => "docker",
        Runtime::Containerd => "containerd",
        Runtime::None => "none",
    };
    let mut args = vec![Arg::Value("Runtime", name.into())];
    let offline = match (&o.offline_source, runtime) {
        (Some(local), Runtime::Docker | Runtime::Containerd) => {
            let dir = super::offline::upload_source(
                b,
                &vm,
                "container_runtime.offline_source",
                local,
                name,
            )
            .await?;
            args.push(Arg::Value("SourceDir", dir));
            true
        }
        _ => false,
    };
    let result = run(b, &vm, "install-container-runtime.ps1", &args).await?;
    if offline {
        let source = result.details["source"].as_str().unwrap_or("unknown");
        b.checks.expect(
            "runtime installed from the verified offline source",
            "local (or already installed)",
            source,
            source == "local" || source == "already_installed",
        )?;
    }
    let reboot = result
        .details
        .get("reboot_required")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let facts = if reboot {
        reboot_and_wait(b, &vm).await?
    } else {
        collect_facts(b, &vm).await?
    };
    b.checks.expect_eq(
        "Containers feature",
        "Installed",
        facts.feature("Containers"),
    )?;
    match runtime {
        Runtime::None => {
            // WMCO 4.11+ installs containerd itself; a Docker in the image
            // would run beside it.
            b.checks.expect_eq(
                "no Docker in the image",
                "not installed",
                facts.service("docker"),
            )?;
        }
        rt => {
            b.checks.expect_eq(
                format!("{name} service"),
                "Running/Automatic",
                facts.service(name),
            )?;
            b.facts.container_runtime = Some(format!("{rt:?}").to_lowercase());
        }
    }
    Ok(format!(
        "Containers feature Installed, runtime {name}{}",
        if reboot { " (rebooted)" } else { "" }
    ))
}
