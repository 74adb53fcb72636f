//! The pipeline checks' rule table (`gild validate`, and the loader every
//! command shares): a stable `pipeline-*` id per check, its default
//! severity, and a help text saying how to fix what it finds. SARIF logs
//! list this table; every rule has a failing and a passing fixture in
//! `tests/it/pipeline_validate.rs`.

use crate::report::{Rule, Severity};

const fn rule(
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    help: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        summary,
        help,
    }
}

use Severity::{Error, Note, Warning};

// --- found while loading: the file cannot be used at all (exit 2) ---
pub const UNREADABLE: Rule = rule(
    "pipeline-unreadable",
    Error,
    "The pipeline file cannot be read.",
    "check the path and permissions; pipeline files are UTF-8 YAML of at most 1 MiB",
);
pub const SYNTAX: Rule = rule("pipeline-syntax", Error, "The file is not a single well-formed YAML document.",
    "fix the YAML at the position shown (duplicate keys, tabs, unclosed brackets and a second `---` document are refused)");
pub const LITERAL_SECRET: Rule = rule("pipeline-literal-secret", Error, "A password, token or private key is written in the pipeline file.",
    "remove it (and rotate it: it may be in version control); secrets come from the environment or a file: vcenter.password_env, guest.password_env, unattend.admin_password_env (or the matching *_file; `-` reads stdin)");
pub const UNDEFINED_VAR: Rule = rule("pipeline-undefined-var", Error, "A `${VAR}` reference that no variable defines, or a malformed one.",
    "export the variable, pass --var NAME=VALUE or --var-file FILE, or write `$${` for a literal `${`");
pub const SECRET_VAR: Rule = rule("pipeline-secret-var", Error, "A `${VAR}` reference whose name looks like a secret.",
    "secrets are not interpolated into the pipeline; use `password_env: VAR` where the secret is needed");
pub const UNKNOWN_KEY: Rule = rule("pipeline-unknown-key", Error, "A key that the pipeline format does not have at this place.",
    "check the spelling (a suggestion is given when one is close); `gild schema` prints every allowed key");
pub const SCHEMA: Rule = rule(
    "pipeline-schema",
    Error,
    "A value of the wrong type, an unknown choice, or a missing required field.",
    "use a value of the type the message names; `gild schema` prints the format",
);
pub const UNUSED_VAR: Rule = rule(
    "pipeline-unused-var",
    Note,
    "A --var / --var-file variable this pipeline does not reference.",
    "drop it, or check the spelling of the `${...}` reference that should use it",
);

// --- found by validation: the file loads but would not build right (exit 1) ---
pub const NAME: Rule = rule("pipeline-name", Error, "The pipeline name is not a DNS-label-like name.",
    "use lowercase letters, digits and `-` (a DNS label: at most 63 characters, starting with a letter); it is part of VM, template and state file names");
pub const TEMPLATE_NAME: Rule = rule("pipeline-template-name", Error, "The template name pattern is malformed, or renders a name vSphere does not accept as is.",
    "use {name}, {date}, {target} and {git_sha} with literal text; vSphere names are at most 80 characters and gild refuses `%`, `/` and `\\` (vCenter escapes them)");
pub const TEMPLATE_UNSCOPED: Rule = rule("pipeline-template-unscoped", Error, "The template name pattern does not contain {name}.",
    "put {name} in the pattern: publish and `templates prune` find this pipeline's templates by it, and would otherwise touch other pipelines' templates");
pub const TEMPLATE_NOT_UNIQUE: Rule = rule("pipeline-template-not-unique", Warning, "The template name pattern renders the same name on every build.",
    "add {date} or {git_sha}, or every build after the first fails at preflight because the name is taken");
pub const BUILD_VM_NAME: Rule = rule(
    "pipeline-build-vm-name",
    Error,
    "The build VM name (`<name>-build-<timestamp>`) would be longer than vSphere allows.",
    "shorten the pipeline name",
);
pub const SECRET_SOURCE: Rule = rule("pipeline-secret-source", Error, "A secret has no source, two sources, or a source file that is missing or readable by everyone.",
    "give exactly one of `*_env` (an environment variable name) or `*_file` (a path, `-` for stdin; chmod 600)");
pub const SECRET_UNSET: Rule = rule("pipeline-secret-unset", Warning, "A secret's environment variable is not set here.",
    "export it before `gild build`; this is a warning so pull-request CI without credentials can validate (an error with --online)");
pub const FILE_MISSING: Rule = rule(
    "pipeline-file-missing",
    Error,
    "A file or folder the pipeline names does not exist.",
    "paths are relative to the pipeline file's folder; check the path",
);
pub const NODE_FILE_STAND_IN: Rule = rule(
    "pipeline-node-file-stand-in",
    Warning,
    "A Kubernetes node file named .exe is not a Windows executable (no MZ header): a stand-in, or a damaged download.",
    "put the release binaries in the folder (see pipelines/k8s-node/README.md) and regenerate SHA256SUMS",
);
pub const VCENTER: Rule = rule("pipeline-vcenter", Error, "The vCenter URL or TLS settings are malformed or contradictory.",
    "use https://HOST/ without credentials in it; give at most one of ca_file, thumbprint (SHA-256, hex) and insecure");
pub const INSECURE: Rule = rule(
    "pipeline-insecure",
    Warning,
    "Certificate checking of vCenter is off, or the URL is plain http.",
    "trust vCenter's CA with ca_file, or pin its certificate with thumbprint",
);
pub const PLACEMENT: Rule = rule("pipeline-placement", Error, "Placement names both a cluster and a resource pool, neither, or a bad subnet.",
    "give exactly one of `cluster` and `resource_pool`; expected_subnet is IPv4 CIDR such as 10.0.0.0/24");
pub const UNATTEND: Rule = rule("pipeline-unattend", Error, "The answer file cannot be rendered, or its section and stage do not go together.",
    "fix the template or values named in the message; the unattend stage needs an `unattend:` section");
pub const UNATTEND_LINT: Rule = rule("pipeline-unattend-lint", Error, "The rendered answer file has lint findings (the rule is named in the message).",
    "fix the template or values; `gild render unattend` and `gild lint` show the rendered file and the finding");
pub const RUNTIME: Rule = rule("pipeline-runtime", Error, "The container runtime is not one the target accepts.",
    "WMCO 4.9/4.10 images carry Docker; WMCO 4.11+ images carry none (WMCO installs containerd); Kubernetes takes containerd or Docker");
pub const VXLAN: Rule = rule(
    "pipeline-vxlan",
    Error,
    "A Kubernetes (Flannel VXLAN) image without UDP 4789 open.",
    "add a firewall stage and leave `vxlan` unset or true",
);
pub const HARDWARE: Rule = rule(
    "pipeline-hardware",
    Error,
    "The minimum virtual hardware version is below what the target needs.",
    "OpenShift needs vmx-15 or later: set min_version to 15 or more",
);
pub const TOOLS: Rule = rule(
    "pipeline-tools",
    Error,
    "The minimum VMware Tools version is malformed or below 11.0.6.",
    "write a dotted version such as \"11.0.6\" (quoted) of at least 11.0.6",
);
pub const SSH_KEY: Rule = rule("pipeline-ssh-key", Error, "The OpenSSH public key does not parse, or does not pair with the private key.",
    "use the `.pub` file ssh-keygen wrote (one `ssh-ed25519 AAAA... comment` line) and the private key WMCO holds, in OpenSSH format");
pub const STAGE_ORDER: Rule = rule("pipeline-stage-order", Error, "Stages in an order that cannot work, or a stage listed twice.",
    "preflight first, clone before guest stages, Tools before guest operations, unattend before sysprep, then template, publish, machineset");
pub const STAGE_MISSING: Rule = rule(
    "pipeline-stage-missing",
    Error,
    "A stage the target needs is not in the pipeline.",
    "add the stage; SPEC's stage table lists what each target's image must have proven",
);
pub const STAGE_OPTIONS: Rule = rule(
    "pipeline-stage-options",
    Error,
    "A stage option that cannot work (a zero timeout, zero rounds or polls).",
    "use a positive value, or leave the option out for the default",
);
pub const MACHINESET: Rule = rule("pipeline-machineset", Error, "The MachineSet output and stage do not go together, or the MachineSet name is invalid.",
    "a machineset stage needs outputs.machineset (WMCO targets only); its name is a DNS label of at most 9 characters");
pub const KEEP: Rule = rule(
    "pipeline-keep",
    Error,
    "template.keep is 0: publish would delete the template it just built.",
    "keep at least 1",
);
pub const ONLINE_LOGIN: Rule = rule(
    "pipeline-online-login",
    Error,
    "`--online`: cannot log in to vCenter.",
    "check the URL, TLS trust and credentials; the message has vCenter's answer",
);
pub const ONLINE_MISSING: Rule = rule("pipeline-online-missing", Error, "`--online`: an inventory object the pipeline names is missing or ambiguous.",
    "check the name, or give the inventory path (/DATACENTER/vm/folder/NAME) to pick one of several");

/// Every rule, in documentation order.
pub const RULES: &[Rule] = &[
    UNREADABLE,
    SYNTAX,
    LITERAL_SECRET,
    UNDEFINED_VAR,
    SECRET_VAR,
    UNKNOWN_KEY,
    SCHEMA,
    UNUSED_VAR,
    NAME,
    TEMPLATE_NAME,
    TEMPLATE_UNSCOPED,
    TEMPLATE_NOT_UNIQUE,
    BUILD_VM_NAME,
    SECRET_SOURCE,
    SECRET_UNSET,
    FILE_MISSING,
    NODE_FILE_STAND_IN,
    VCENTER,
    INSECURE,
    PLACEMENT,
    UNATTEND,
    UNATTEND_LINT,
    RUNTIME,
    VXLAN,
    HARDWARE,
    TOOLS,
    SSH_KEY,
    STAGE_ORDER,
    STAGE_MISSING,
    STAGE_OPTIONS,
    MACHINESET,
    KEEP,
    ONLINE_LOGIN,
    ONLINE_MISSING,
];

/// The rules whose findings mean the file could not be loaded: `gild
/// validate` exits 2 for them, as `gild build` does.
pub fn is_load_rule(id: &str) -> bool {
    [
        UNREADABLE.id,
        SYNTAX.id,
        LITERAL_SECRET.id,
        UNDEFINED_VAR.id,
        SECRET_VAR.id,
        UNKNOWN_KEY.id,
        SCHEMA.id,
    ]
    .contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_prefixed() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert!(ids.iter().all(|id| id.starts_with("pipeline-")));
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
