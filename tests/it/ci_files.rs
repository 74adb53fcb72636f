//! The CI definitions in `pipelines/ci/`: Tekton objects are well formed
//! (apiVersion, kind, params, workspaces, task references), every `gild`
//! command they and the GitHub/GitLab files run is a real command with real
//! flags (`gild <cmd> --help`), credentials come from secrets, and the
//! Containerfile copies the release binary cargo builds. (actionlint,
//! check-jsonschema and kubernetes-validate check the same files in
//! `.ci/run`.)

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn ci_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pipelines/ci")
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(ci_dir().join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    out.sort();
    out
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

fn tekton_objects() -> Vec<Value> {
    let mut objects: Vec<Value> = files("tekton").iter().flat_map(|p| documents(p)).collect();
    // The PipelineRun the CronJob creates lives in a ConfigMap.
    let embedded: Vec<Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .flat_map(|o| o["data"].as_object().cloned().unwrap_or_default())
        .map(|(_, text)| serde_norway::from_str(text.as_str().unwrap()).unwrap())
        .collect();
    objects.extend(embedded);
    objects.retain(|o| {
        o["apiVersion"]
            .as_str()
            .is_some_and(|a| a.starts_with("tekton.dev/"))
    });
    objects
}

/// Every `$(<kind>.<name>...)` reference in an object.
fn references(value: &Value, kind: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            let needle = format!("$({kind}.");
            let mut rest = s.as_str();
            while let Some(i) = rest.find(&needle) {
                rest = &rest[i + needle.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, kind, out)),
        Value::Object(map) => map.values().for_each(|v| references(v, kind, out)),
        _ => {}
    }
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn tekton_objects_are_v1_and_reference_only_what_they_declare() {
    let objects = tekton_objects();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Pipeline", "Pipeline", "Task", "Task", "PipelineRun"],
        "{kinds:?}"
    );
    for o in &objects {
        let name = o["metadata"]["name"]
            .as_str()
            .or(o["metadata"]["generateName"].as_str())
            .unwrap();
        assert_eq!(o["apiVersion"], "tekton.dev/v1", "{name}");
        let spec = &o["spec"];
        for p in spec["params"].as_array().into_iter().flatten() {
            assert!(
                ["string", "array", "object"].contains(&p["type"].as_str().unwrap_or("string")),
                "{name}: param {p}"
            );
        }
        for (kind, declared) in [
            ("params", names(&spec["params"])),
            ("workspaces", names(&spec["workspaces"])),
        ] {
            let mut used = BTreeSet::new();
            references(spec, kind, &mut used);
            assert!(
                used.is_subset(&declared),
                "{name}: uses {kind} {used:?}, declares {declared:?}"
            );
        }
    }
}

#[test]
fn pipelines_bind_every_task_param_and_workspace() {
    let objects = tekton_objects();
    let by_kind = |kind: &str| -> BTreeMap<String, &Value> {
        objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .filter_map(|o| Some((o["metadata"]["name"].as_str()?.to_string(), o)))
            .collect()
    };
    let tasks = by_kind("Task");
    let pipelines = by_kind("Pipeline");
    for (pname, pipeline) in &pipelines {
        let declared_ws = names(&pipeline["spec"]["workspaces"]);
        for pt in pipeline["spec"]["tasks"].as_array().unwrap() {
            let tname = pt["taskRef"]["name"].as_str().unwrap();
            let task = tasks
                .get(tname)
                .unwrap_or_else(|| panic!("{pname}: no Task {tname}"));
            let mut given = names(&pt["params"]);
            given.extend(names(&pt["matrix"]["params"]));
            let task_params = names(&task["spec"]["params"]);
            assert!(
                given.is_subset(&task_params),
                "{pname}/{tname}: passes {given:?}, Task takes {task_params:?}"
            );
            for p in task["spec"]["params"].as_array().unwrap() {
                if p.get("default").is_none() {
                    assert!(
                        given.contains(p["name"].as_str().unwrap()),
                        "{pname}/{tname}: required param {} not passed",
                        p["name"]
                    );
                }
            }
            // Matrix values fan out arrays of the Pipeline's own params.
            for m in pt["matrix"]["params"].as_array().into_iter().flatten() {
                let v = m["value"].as_str().unwrap();
                let param = v.trim_start_matches("$(params.").trim_end_matches("[*])");
                let decl = pipeline["spec"]["params"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == param);
                assert_eq!(
                    decl.map(|d| &d["type"]),
                    Some(&Value::from("array")),
                    "{pname}: matrix over {v}"
                );
            }
            let bound: BTreeSet<String> = pt["workspaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["name"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                bound,
                names(&task["spec"]["workspaces"]),
                "{pname}/{tname}: workspaces"
            );
            for w in pt["workspaces"].as_array().unwrap() {
                assert!(
                    declared_ws.contains(w["workspace"].as_str().unwrap()),
                    "{pname}: binds undeclared workspace {w}"
                );
            }
        }
    }
    for run in objects.iter().filter(|o| o["kind"] == "PipelineRun") {
        let target = run["spec"]["pipelineRef"]["name"].as_str().unwrap();
        let pipeline = pipelines
            .get(target)
            .unwrap_or_else(|| panic!("PipelineRun of unknown Pipeline {target}"));
        assert_eq!(
            names(&run["spec"]["workspaces"]),
            names(&pipeline["spec"]["workspaces"])
        );
    }
}

#[test]
fn tekton_credentials_come_from_a_secret_and_github_ones_from_repository_secrets() {
    for task in tekton_objects().iter().filter(|o| o["kind"] == "Task") {
        for step in task["spec"]["steps"].as_array().unwrap() {
            for env in step["env"].as_array().unwrap() {
                let name = env["name"].as_str().unwrap();
                if name.ends_with("PASSWORD") {
                    assert!(
                        env["valueFrom"]["secretKeyRef"].is_object(),
                        "{name} is not from a Secret"
                    );
                    assert!(env.get("value").is_none());
                }
            }
        }
    }
    for path in files("github") {
        for doc in documents(&path) {
            for (_, job) in doc["jobs"].as_object().unwrap() {
                for (name, value) in job["env"].as_object().into_iter().flatten() {
                    if name.ends_with("PASSWORD") {
                        assert!(
                            value.as_str().unwrap().starts_with("${{ secrets."),
                            "{}: {name}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}

/// A `gild ...` command line found in a CI file, as words.
#[derive(Debug)]
struct GildCommand {
    file: String,
    words: Vec<String>,
}

/// Splits a shell command line into words (quotes and `\` continuations;
/// enough for the CI files, which use no other shell syntax in gild lines).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, ' ' | '\t' | '\n') => {
                if started || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                started = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if started || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `gild` invocations in shell scripts: each logical line (continuations
/// joined) that runs gild, after any `VAR=value` prefixes; output
/// redirections are dropped.
fn from_script(file: &str, script: &str, out: &mut Vec<GildCommand>) {
    let joined = script.replace("\\\n", " ");
    for line in joined.lines() {
        let mut w = words(line.trim());
        while w
            .first()
            .is_some_and(|x| x.contains('=') && !x.starts_with('-'))
        {
            w.remove(0);
        }
        if w.first().map(String::as_str) != Some("gild") {
            continue;
        }
        if let Some(i) = w.iter().position(|x| x == ">") {
            w.truncate(i);
        }
        out.push(GildCommand {
            file: file.into(),
            words: w,
        });
    }
}

fn ci_commands() -> Vec<GildCommand> {
    let mut out = Vec::new();
    for path in files("github") {
        let file = path.display().to_string();
        for doc in documents(&path) {
            for (_, job) in doc["jobs"].as_object().unwrap() {
                for step in job["steps"].as_array().unwrap() {
                    if let Some(run) = step["run"].as_str() {
                        from_script(&file, run, &mut out);
                    }
                }
            }
        }
    }
    for path in files("gitlab") {
        let file = path.display().to_string();
        for doc in documents(&path) {
            for (_, job) in doc.as_object().unwrap() {
                for key in ["script", "after_script"] {
                    for line in job[key].as_array().into_iter().flatten() {
                        from_script(&file, line.as_str().unwrap(), &mut out);
                    }
                }
            }
        }
    }
    for task in tekton_objects().iter().filter(|o| o["kind"] == "Task") {
        for step in task["spec"]["steps"].as_array().unwrap() {
            let command: Vec<String> = step["command"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            assert_eq!(command, ["gild"], "every Tekton step runs gild");
            let mut words = command;
            words.extend(
                step["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string()),
            );
            out.push(GildCommand {
                file: format!("tekton Task {}", task["metadata"]["name"]),
                words,
            });
        }
    }
    out
}

/// The subcommand words (`render unattend`, `build`) of a command.
fn subcommand(cmd: &GildCommand) -> Vec<String> {
    cmd.words[1..]
        .iter()
        .take_while(|w| !w.starts_with('-') && !w.contains(['/', '.', '$']))
        .cloned()
        .collect()
}

/// Runs `gild <sub> --help` and checks every `--flag` the command uses.
fn assert_real(cmd: &GildCommand) {
    let sub = subcommand(cmd);
    let out = Command::cargo_bin("gild")
        .unwrap()
        .args(&sub)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: `gild {} --help` failed: {}",
        cmd.file,
        sub.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in cmd.words.iter().filter(|w| w.starts_with("--")) {
        let flag = flag.split('=').next().unwrap();
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "{}: `gild {}` has no {flag}",
            cmd.file,
            sub.join(" ")
        );
    }
}

#[test]
fn every_engine_runs_validate_build_and_the_monthly_patch() {
    let cmds = ci_commands();
    let subs: BTreeSet<String> = cmds.iter().map(|c| subcommand(c).join(" ")).collect();
    for want in ["validate", "build", "cleanup", "lint", "render unattend"] {
        assert!(
            subs.contains(want),
            "no CI file runs `gild {want}`: {subs:?}"
        );
    }
    for engine in ["github", "gitlab", "tekton"] {
        let monthly = cmds.iter().any(|c| {
            c.file.contains(engine) && c.words.iter().any(|w| w.ends_with("monthly-patch.yaml"))
        });
        assert!(monthly, "{engine} has no monthly-patch run");
    }
}

#[test]
fn ci_commands_that_exist_on_this_branch_are_real_with_real_flags() {
    let here: Vec<GildCommand> = ci_commands()
        .into_iter()
        .filter(|c| matches!(subcommand(c)[0].as_str(), "lint" | "render"))
        .collect();
    // GitHub and GitLab each render and lint the answer file.
    assert_eq!(here.len(), 4, "{here:#?}");
    for cmd in &here {
        assert_real(cmd);
    }
}

#[test]
fn every_ci_command_is_a_real_gild_command_with_real_flags() {
    for cmd in ci_commands() {
        assert_real(&cmd);
    }
}

/// The Containerfile's instructions, continuation lines joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (cmd, rest) = l.split_once(' ').unwrap_or((l, ""));
            (cmd.to_ascii_uppercase(), rest.trim().to_string())
        })
        .collect()
}

#[test]
fn the_containerfile_copies_the_binary_cargo_builds() {
    let text = std::fs::read_to_string(ci_dir().join("Containerfile")).unwrap();
    let ins = instructions(&text);
    let froms: Vec<&String> = ins
        .iter()
        .filter(|(c, _)| c == "FROM")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    let builder = froms[0].split_whitespace().last().unwrap();
    assert!(froms[0].contains(" AS "), "{}", froms[0]);
    // The build stage's working directory and cargo command.
    let stage2 = ins
        .iter()
        .position(|(c, _)| c == "FROM")
        .map(|i| ins[i + 1..].iter().position(|(c, _)| c == "FROM").unwrap() + i + 1)
        .unwrap();
    let (build, runtime) = ins.split_at(stage2);
    let workdir = &build.iter().find(|(c, _)| c == "WORKDIR").unwrap().1;
    assert!(build
        .iter()
        .any(|(c, r)| c == "RUN" && r.contains("cargo build --release --locked")));
    // src/main.rs builds the package's own binary.
    let binary = format!("{workdir}/target/release/{}", env!("CARGO_PKG_NAME"));
    let copy = runtime
        .iter()
        .find(|(c, r)| c == "COPY" && r.starts_with("--from="))
        .unwrap();
    let parts: Vec<&str> = copy.1.split_whitespace().collect();
    assert_eq!(
        parts,
        [
            format!("--from={builder}").as_str(),
            binary.as_str(),
            "/usr/local/bin/gild"
        ]
    );
    let entry = &runtime.iter().find(|(c, _)| c == "ENTRYPOINT").unwrap().1;
    assert_eq!(entry, "[\"/usr/local/bin/gild\"]");
    assert!(runtime
        .iter()
        .any(|(c, r)| c == "USER" && r != "root" && r != "0"));
    let ignore = std::fs::read_to_string(ci_dir().join("Containerfile.dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim() == "target/"),
        "the build context must leave target/ out"
    );
}
