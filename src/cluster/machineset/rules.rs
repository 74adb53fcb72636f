//! Every rule `gild machineset check` applies, with a stable id (output,
//! SARIF, docs), a default severity and a help text. The sources of each
//! fact are cited where the rule is checked.

use crate::cluster::rule;
use crate::report::{Rule, Severity};

use Severity::{Error, Warning};

// Input
pub const INPUT_UNREADABLE: Rule = rule(
    "input-unreadable",
    Error,
    "The file cannot be read.",
    "check the path and permissions; manifests must be UTF-8",
);
pub const INPUT_TOO_LARGE: Rule = rule(
    "input-too-large",
    Error,
    "The file is larger than 4 MiB and is not parsed.",
    "a MachineSet is a few kilobytes; check that this is the right file",
);
pub const YAML_SYNTAX: Rule = rule(
    "yaml-syntax",
    Error,
    "The file is not valid YAML.",
    "fix the YAML at the position shown; `oc apply` refuses it as well",
);
pub const DUPLICATE_KEY: Rule = rule(
    "duplicate-key",
    Error,
    "A mapping has the same key twice.",
    "keep one of the two; the API server's strict decoding refuses duplicate fields",
);
pub const UNSUPPORTED_KIND: Rule = rule("unsupported-kind", Error, "A document that is neither a MachineSet nor the operator.openshift.io Network.", "pass MachineSets (machine.openshift.io/v1beta1) and the cluster's Network.operator.openshift.io object only");
pub const PLACEHOLDER: Rule = rule(
    "placeholder",
    Error,
    "A `<placeholder>` from the documentation's sample is still in the file.",
    "replace it with the real value (the seed's sample MachineSet cannot be applied as is)",
);

// The MachineSet CRD
pub const API_VERSION: Rule = rule(
    "api-version",
    Error,
    "A MachineSet that is not machine.openshift.io/v1beta1.",
    "use `apiVersion: machine.openshift.io/v1beta1` and `kind: MachineSet`",
);
pub const CRD_SCHEMA: Rule = rule(
    "crd-schema",
    Error,
    "A value the MachineSet CRD's openAPIV3Schema refuses.",
    "fix the value to the type or form the message names; the API server refuses the object",
);
pub const UNKNOWN_FIELD: Rule = rule("unknown-field", Error, "A field the MachineSet CRD does not declare.", "check the spelling and nesting: the API server prunes unknown fields, and `oc apply` (--validate=strict, the default) refuses them");

// MachineSet rules the CRD cannot express
pub const NAMESPACE: Rule = rule("namespace", Error, "The MachineSet is not in namespace openshift-machine-api.", "set `metadata.namespace: openshift-machine-api`: the Machine API controllers only watch that namespace");
pub const NAME_LENGTH: Rule = rule("name-length", Error, "The MachineSet name is longer than 9 characters.", "use at most 9 characters: vSphere machine names (and the Windows computer names) are derived from it");
pub const NAME_DNS_LABEL: Rule = rule(
    "name-dns-label",
    Error,
    "The MachineSet name is not a DNS label.",
    "use lowercase letters, digits and `-`, starting and ending with a letter or digit",
);
pub const SELECTOR_LABELS: Rule = rule("selector-labels", Error, "The selector's labels are not all on the machine template.", "every spec.selector.matchLabels entry must appear, with the same value, in spec.template.metadata.labels");
pub const MACHINESET_LABEL: Rule = rule(
    "machineset-label",
    Error,
    "machine.openshift.io/cluster-api-machineset is not the MachineSet's name.",
    "set the label to metadata.name in spec.selector.matchLabels and spec.template.metadata.labels",
);
pub const OS_ID: Rule = rule("os-id", Error, "The machine template is not labelled machine.openshift.io/os-id: Windows.", "add `machine.openshift.io/os-id: Windows` to spec.template.metadata.labels: WMCO only configures machines with it");
pub const INFRASTRUCTURE_ID: Rule = rule("infrastructure-id", Error, "The infrastructure id is missing from, or differs between, the three places it belongs.", "set machine.openshift.io/cluster-api-cluster to the same id in metadata.labels, spec.selector.matchLabels and spec.template.metadata.labels");
pub const INFRASTRUCTURE_ID_CLUSTER: Rule = rule(
    "infrastructure-id-cluster",
    Error,
    "The infrastructure id is not the cluster's.",
    "use the id `oc get infrastructure cluster -o jsonpath='{.status.infrastructureName}'` prints",
);
pub const ROLE_LABELS: Rule = rule("role-labels", Warning, "The machine template has no worker role and type labels.", "add machine.openshift.io/cluster-api-machine-role: worker and machine.openshift.io/cluster-api-machine-type: worker");
pub const NODE_WORKER_LABEL: Rule = rule("node-worker-label", Warning, "Nodes will not carry node-role.kubernetes.io/worker.", "add `node-role.kubernetes.io/worker: \"\"` to spec.template.spec.metadata.labels so the Windows nodes are workers");

// VSphereMachineProviderSpec
pub const PROVIDER_KIND: Rule = rule("provider-kind", Error, "providerSpec.value is not a VSphereMachineProviderSpec.", "set apiVersion vsphereprovider.openshift.io/v1beta1 (or machine.openshift.io/v1beta1) and kind VSphereMachineProviderSpec");
pub const PROVIDER_SCHEMA: Rule = rule(
    "provider-schema",
    Error,
    "A provider spec value of the wrong type or form.",
    "use the type openshift/api's VSphereMachineProviderSpec gives the field",
);
pub const PROVIDER_UNKNOWN_FIELD: Rule = rule(
    "provider-unknown-field",
    Warning,
    "A provider spec field VSphereMachineProviderSpec does not have.",
    "check the spelling: the vSphere machine controller ignores unknown fields silently",
);
pub const TEMPLATE_REQUIRED: Rule = rule("template-required", Error, "providerSpec.value.template is missing or empty.", "set template to the full inventory path of the published gild template, e.g. /dc1/vm/templates/win2022-wmco");
pub const TEMPLATE_PATH: Rule = rule("template-path", Warning, "The template is not a full inventory path.", "write the full path /<datacenter>/vm/<folder>/<template>: a bare name must be unique in vCenter, a relative path depends on the datacenter");
pub const TEMPLATE_IS_SOURCE: Rule = rule("template-is-source-vm", Error, "The template is the pipeline's source VM.", "point template at the published template, never the original VM: machines cloned from a VM that has been powered on do not configure");
pub const TEMPLATE_DATACENTER: Rule = rule(
    "template-datacenter",
    Error,
    "The template path is in another datacenter than workspace.datacenter.",
    "clone from a template in the workspace's datacenter",
);
pub const NETWORK_DEVICES: Rule = rule("network-devices", Error, "network.devices is missing, empty, or has more than one NIC.", "give exactly one device with networkName, the VM network the Linux workers use (WMCO does not support dual NICs)");
pub const TAG_IDS: Rule = rule("tag-ids", Error, "A tag id that is not in URN form, or more than 10 of them.", "write tag ids as urn:vmomi:InventoryServiceTag:<uuid>:GLOBAL (`govc tags.info` shows them), at most 10");
pub const LINKED_CLONE: Rule = rule(
    "linked-clone-snapshot",
    Error,
    "cloneMode linkedClone without a snapshot.",
    "name the template's snapshot in `snapshot`, or use cloneMode fullClone",
);
pub const DATA_DISKS: Rule = rule(
    "data-disks",
    Error,
    "More than 29 data disks, or two with the same name.",
    "at most 29 data disks fit beside the OS disk on the controllers; give each a unique name",
);
pub const CPU_TOPOLOGY: Rule = rule(
    "cpu-topology",
    Error,
    "numCPUs is not a multiple of numCoresPerSocket.",
    "choose numCPUs as sockets x numCoresPerSocket (e.g. 4 CPUs with 1, 2 or 4 cores per socket)",
);
pub const DISK_SIZE: Rule = rule("disk-size", Warning, "diskGiB differs from the template's disk.", "grow the Windows partition in the image (or in unattend.xml): a bigger VMDK does not grow it, and a smaller one fails the clone");
pub const USER_DATA_SECRET: Rule = rule("user-data-secret", Error, "userDataSecret is not windows-user-data.", "set userDataSecret.name: windows-user-data (WMCO creates it; worker-user-data is Linux Ignition)");
pub const CREDENTIALS_SECRET: Rule = rule("credentials-secret", Warning, "credentialsSecret is not vsphere-cloud-credentials.", "set credentialsSecret.name: vsphere-cloud-credentials unless the cluster keeps vCenter credentials elsewhere");
pub const WORKSPACE: Rule = rule("workspace", Warning, "The workspace is incomplete or points outside its datacenter.", "set server, datacenter, datastore and folder (/<datacenter>/vm/...), and resourcePool under /<datacenter>/host/");

// Network.operator.openshift.io (hybrid networking)
pub const NETWORK_NAME: Rule = rule(
    "network-name",
    Error,
    "The Network operator object is not named `cluster`.",
    "the cluster network operator reads only Network.operator.openshift.io `cluster`",
);
pub const NETWORK_OVN: Rule = rule("network-ovn-kubernetes", Error, "The default network is not OVN-Kubernetes.", "WMCO needs OVN-Kubernetes with hybrid networking (defaultNetwork.type OVNKubernetes, defaultNetwork.ovnKubernetesConfig)");
pub const HYBRID_OVERLAY: Rule = rule("hybrid-overlay", Error, "hybridOverlayConfig.hybridClusterNetwork is missing or an entry lacks cidr/hostPrefix.", "add ovnKubernetesConfig.hybridOverlayConfig.hybridClusterNetwork: [{cidr: 10.132.0.0/14, hostPrefix: 23}]");
pub const HYBRID_OVERLAP: Rule = rule(
    "hybrid-overlap",
    Error,
    "A hybridClusterNetwork CIDR overlaps the cluster or service network.",
    "pick a hybrid CIDR outside clusterNetwork and serviceNetwork",
);
pub const VXLAN_PORT: Rule = rule("vxlan-port", Error, "hybridOverlayVXLANPort is missing, or is 4789 or 6081.", "set hybridOverlayVXLANPort to an open port other than 4789 (VXLAN) and 6081 (Geneve), e.g. 9898: it is required on vSphere");
pub const VXLAN_PORT_OS_BUILD: Rule = rule(
    "vxlan-port-os-build",
    Error,
    "The Windows image's build cannot use a custom VXLAN port.",
    "use Windows Server 20H2 or later, 2004 from build 19041.450 (1903/1909 need KB4565351, build 18362/18363.1016)",
);

// --online (vCenter look-ups; the diagnostics the online pass emits)
pub const INVENTORY_MISSING: Rule = rule(
    "inventory-missing",
    Error,
    "An inventory object the MachineSet names does not exist in vCenter.",
    "fix the path or name; the machine controller fails every Machine of this set",
);
pub const INVENTORY_AMBIGUOUS: Rule = rule(
    "inventory-ambiguous",
    Error,
    "A name in the MachineSet matches several inventory objects.",
    "write the full inventory path (/DATACENTER/vm/folder/name) so one object is meant",
);
pub const TEMPLATE_NOT_TEMPLATE: Rule = rule(
    "template-not-template",
    Error,
    "providerSpec.value.template names a VM, not a template.",
    "point at the published template (`gild templates list`), which is never powered on",
);

/// Every rule, in documentation order (the SARIF log lists this table).
pub const RULES: &[Rule] = &[
    INPUT_UNREADABLE,
    INPUT_TOO_LARGE,
    YAML_SYNTAX,
    DUPLICATE_KEY,
    UNSUPPORTED_KIND,
    PLACEHOLDER,
    API_VERSION,
    CRD_SCHEMA,
    UNKNOWN_FIELD,
    NAMESPACE,
    NAME_LENGTH,
    NAME_DNS_LABEL,
    SELECTOR_LABELS,
    MACHINESET_LABEL,
    OS_ID,
    INFRASTRUCTURE_ID,
    INFRASTRUCTURE_ID_CLUSTER,
    ROLE_LABELS,
    NODE_WORKER_LABEL,
    PROVIDER_KIND,
    PROVIDER_SCHEMA,
    PROVIDER_UNKNOWN_FIELD,
    TEMPLATE_REQUIRED,
    TEMPLATE_PATH,
    TEMPLATE_IS_SOURCE,
    TEMPLATE_DATACENTER,
    NETWORK_DEVICES,
    TAG_IDS,
    LINKED_CLONE,
    DATA_DISKS,
    CPU_TOPOLOGY,
    DISK_SIZE,
    USER_DATA_SECRET,
    CREDENTIALS_SECRET,
    WORKSPACE,
    NETWORK_NAME,
    NETWORK_OVN,
    HYBRID_OVERLAY,
    HYBRID_OVERLAP,
    VXLAN_PORT,
    VXLAN_PORT_OS_BUILD,
    INVENTORY_MISSING,
    INVENTORY_AMBIGUOUS,
    TEMPLATE_NOT_TEMPLATE,
];

#[cfg(test)]
mod tests {
    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = super::RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len());
    }
}
