//! What a build leaves on disk for people and CI: `manifest.json` (what
//! was built from what, and every check's result), `junit.xml` (the same
//! checks for CI dashboards) and, when configured, the WMCO MachineSet.
//! None of them holds a secret: they are built from the state file, which
//! never holds one either.

use super::engine::BuildJob;
use super::error::{BuildError, StageError};
use super::stages::Build;
use super::state::{BuildState, BuildStatus, StageStatus, TemplateRecord};
use crate::unattend::render::escape_xml;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct Written {
    pub manifest: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub machineset: Option<PathBuf>,
}

// BuildError is large (it carries the stage's whole cause chain) and is
// returned at most once per build: boxing it would buy nothing.
#[allow(clippy::result_large_err)]
pub fn write(
    job: &BuildJob,
    build: &Build<'_>,
    state: &BuildState,
    status: BuildStatus,
    error: Option<&str>,
) -> Result<Written, BuildError> {
    let dir = &job.options.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| BuildError::Output {
        path: dir.clone(),
        source,
    })?;
    let outputs = &job.pipeline.outputs;
    let mut written = Written::default();
    if outputs.manifest.unwrap_or(true) {
        let path = dir.join("manifest.json");
        let text = serde_json::to_string_pretty(&manifest(job, build, state, status, error))
            .unwrap_or_default();
        write_file(&path, text.as_bytes())?;
        written.manifest = Some(path);
    }
    if outputs.junit.unwrap_or(true) {
        let path = dir.join("junit.xml");
        write_file(&path, junit(job, state).as_bytes())?;
        written.junit = Some(path);
    }
    let machineset = dir.join("machineset.yaml");
    if outputs.machineset.is_some() && machineset.exists() && status == BuildStatus::Succeeded {
        written.machineset = Some(machineset);
    }
    Ok(written)
}

#[allow(clippy::result_large_err)]
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |source| BuildError::Output {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

fn manifest(
    job: &BuildJob,
    build: &Build<'_>,
    state: &BuildState,
    status: BuildStatus,
    error: Option<&str>,
) -> serde_json::Value {
    let data = state.data();
    let facts = &build.facts;
    let checks: Vec<_> = data
        .stages
        .iter()
        .flat_map(|s| s.checks.iter().map(move |c| json!({"stage": s.stage, "name": c.name, "expected": c.expected, "observed": c.observed, "passed": c.passed})))
        .collect();
    let stages: Vec<_> = data
        .stages
        .iter()
        .map(|s| json!({"stage": s.stage, "status": s.status, "duration_ms": s.duration_ms, "message": s.message}))
        .collect();
    let scripts: serde_json::Map<String, serde_json::Value> =
        crate::pipeline::guest::shipped_scripts()
            .map(|(name, text)| {
                (
                    name.to_string(),
                    json!(crate::pipeline::guest::sha256_hex(text)),
                )
            })
            .collect();
    json!({
        "gild_version": env!("CARGO_PKG_VERSION"),
        "pipeline": job.pipeline.name,
        "pipeline_file": job.pipeline_path,
        "target": job.pipeline.target.as_str(),
        "status": status,
        "error": error,
        "build_id": data.build_id,
        "vcenter": job.vcenter_url,
        "source_vm": {"name": job.pipeline.source.vm, "id": data.inventory.as_ref().map(|i| i.source_vm.clone())},
        "template": build.template().map(|t| json!({"name": t.name, "id": t.id, "published": t.published, "folder": job.pipeline.template.folder})),
        "build_vm": data.build_vm,
        "started": data.started,
        "finished": chrono::Utc::now(),
        "os": facts.os,
        "installed_kbs": facts.installed_kbs,
        "updates_installed": facts.updates_installed,
        "tools_version": facts.tools_version,
        "hardware_version": facts.hardware_version,
        "ip_address": facts.ip_address,
        "container_runtime": facts.container_runtime,
        "scripts_sha256": scripts,
        "uploaded_sha256": facts.uploaded,
        "answer_file_sha256_password_removed": facts.answer_file_sha256,
        "stages": stages,
        "checks": checks,
    })
}

/// One test suite per build, one test case per check (a stage without
/// checks is one case of its own), skipped stages as skipped cases.
pub fn junit(job: &BuildJob, state: &BuildState) -> String {
    let data = state.data();
    let suite = escape_xml(&job.pipeline.name);
    let mut cases = String::new();
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    let mut total_ms = 0u64;
    for s in &data.stages {
        total_ms += s.duration_ms;
        let class = escape_xml(&format!("{}.{}", job.pipeline.name, s.stage));
        let time = format!("{:.3}", s.duration_ms as f64 / 1000.0);
        if s.status == StageStatus::Skipped {
            tests += 1;
            skipped += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"{class}\" name=\"{}\" time=\"0\"><skipped message=\"{}\"/></testcase>\n",
                escape_xml(&s.stage),
                escape_xml(&s.message)
            ));
            continue;
        }
        let mut stage_failed_by_check = false;
        for c in &s.checks {
            tests += 1;
            let name = escape_xml(&c.name);
            if c.passed {
                // What was seen goes along (a poll count, a version), as
                // the manifest has it: a dashboard shows it without the file.
                let out = escape_xml(&format!("expected {}, saw {}", c.expected, c.observed));
                cases.push_str(&format!(
                    "    <testcase classname=\"{class}\" name=\"{name}\" time=\"{time}\"><system-out>{out}</system-out></testcase>\n"
                ));
            } else {
                failures += 1;
                stage_failed_by_check = true;
                let msg = escape_xml(&format!("expected {}, saw {}", c.expected, c.observed));
                cases.push_str(&format!(
                    "    <testcase classname=\"{class}\" name=\"{name}\" time=\"{time}\"><failure message=\"{msg}\">{msg}</failure></testcase>\n"
                ));
            }
        }
        if s.status == StageStatus::Failed && !stage_failed_by_check {
            tests += 1;
            failures += 1;
            let msg = escape_xml(&s.message);
            cases.push_str(&format!(
                "    <testcase classname=\"{class}\" name=\"{}\" time=\"{time}\"><failure message=\"{msg}\">{msg}</failure></testcase>\n",
                escape_xml(&s.stage)
            ));
        } else if s.checks.is_empty() && s.status == StageStatus::Passed {
            tests += 1;
            cases.push_str(&format!(
                "    <testcase classname=\"{class}\" name=\"{}\" time=\"{time}\"/>\n",
                escape_xml(&s.stage)
            ));
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gild build\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{t:.3}\">\n  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{t:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        t = total_ms as f64 / 1000.0
    )
}

/// The machineset stage's work: the WMCO MachineSet for the published
/// template, written next to the manifest and checked with `gild machineset
/// check`'s own rules before the stage reports success.
pub fn machineset(b: &mut Build<'_>, template: &TemplateRecord) -> Result<String, StageError> {
    use crate::cluster::machineset::{self, GenerateParams, Hardware, Workspace};
    let job = b.job;
    let p = &job.pipeline;
    let cfg = p.outputs.machineset.as_ref().ok_or_else(|| {
        StageError::Precondition(
            "the machineset stage needs `outputs.machineset` (name, infrastructure_id)".into(),
        )
    })?;
    let precondition = |e: crate::cluster::ClusterError| StageError::Precondition(e.to_string());
    let (mut workspace, network): (Workspace, String) =
        Workspace::from_pipeline(p, &job.pipeline_path).map_err(precondition)?;
    // The vCenter the build talked to is the one the template lives in.
    if let Some(host) = url::Url::parse(&job.vcenter_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    {
        workspace.server = host;
    }
    let folder = &p.template.folder;
    let folder = if folder.starts_with('/') {
        folder.trim_end_matches('/').to_string()
    } else {
        format!("/{}/vm/{folder}", p.placement.datacenter)
    };
    let defaults = Hardware::default();
    let params = GenerateParams {
        name: cfg.name.clone(),
        infrastructure_id: cfg.infrastructure_id.clone(),
        template: format!("{folder}/{}", template.name),
        network,
        replicas: cfg.replicas,
        hardware: Hardware {
            num_cpus: cfg.num_cpus.unwrap_or(defaults.num_cpus),
            num_cores_per_socket: defaults.num_cores_per_socket,
            memory_mib: cfg.memory_mib.unwrap_or(defaults.memory_mib),
            disk_gib: cfg.disk_gib.unwrap_or(defaults.disk_gib),
        },
        workspace,
    };
    let yaml = machineset::generate(&params).map_err(precondition)?;
    let path = job.options.out_dir.join("machineset.yaml");
    let shown = path.display().to_string();
    let diags = machineset::check_text(
        &shown,
        &yaml,
        &machineset::CheckOptions {
            source_vm: Some(p.source.vm.clone()),
            ..Default::default()
        },
    );
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == crate::report::Severity::Error)
        .collect();
    b.checks.expect(
        "MachineSet passes `gild machineset check`",
        "no errors",
        if errors.is_empty() {
            format!("no errors, {} other finding(s)", diags.len())
        } else {
            errors
                .iter()
                .map(|d| format!("{}: {}", d.rule_id, d.message))
                .collect::<Vec<_>>()
                .join("; ")
        },
        errors.is_empty(),
    )?;
    std::fs::create_dir_all(&job.options.out_dir)
        .and_then(|_| std::fs::write(&path, &yaml))
        .map_err(|e| StageError::Input {
            what: "machineset output",
            path: path.clone(),
            reason: e.to_string(),
        })?;
    Ok(format!(
        "{shown}: MachineSet {} for {}, passes `gild machineset check`",
        cfg.name, params.template
    ))
}
