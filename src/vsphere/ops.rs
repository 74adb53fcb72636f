//! Every request the client can send, in one table.
//!
//! Request building goes only through [`Operation::render`], so this table
//! is the complete list of routes the client may touch. The contract tests
//! check each `/api` entry against VMware's OpenAPI files (path template
//! and method exactly as written there, `?action=` included) and each
//! VI/JSON entry against CONTRACT.md. `idempotent` decides whether the
//! transport may repeat a call after a transient failure on its own.
//!
//! Guest transfer create is marked idempotent on purpose: it only mints a
//! one-time URL and touches nothing in the guest, so a repeat after a lost
//! answer costs an unused URL. The PUT/GET on that URL is never repeated
//! (the URL works once, and an upload body is a stream): after a transient
//! failure the whole transfer starts again with a new URL (`files`).

use super::error::VsphereError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// Which contract an operation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `/api`, present in the 7.0.3 OpenAPI files.
    Rest,
    /// `/api`, added after 7.0.3 (the release that added it).
    RestSince(&'static str),
    /// `/sdk/vim25/{release}/...` (CONTRACT.md, VI/JSON section).
    ViJson,
    /// The one-time URL returned by guest transfer create (`{url}`).
    Transfer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub method: Method,
    pub path_template: &'static str,
    pub idempotent: bool,
    pub api: Api,
}

macro_rules! operations {
    ($($id:ident = $name:literal, $method:ident, $path:literal, $idem:literal, $api:expr;)*) => {
        $(pub const $id: Operation = Operation {
            name: $name, method: Method::$method, path_template: $path, idempotent: $idem, api: $api,
        };)*
        /// Every operation, in the order above.
        pub const OPERATIONS: &[Operation] = &[$($id),*];
    };
}

operations! {
    SESSION_CREATE = "session.create", Post, "/api/session", true, Api::Rest;
    SESSION_DELETE = "session.delete", Delete, "/api/session", true, Api::Rest;
    SESSION_GET = "session.get", Get, "/api/session", true, Api::Rest;
    SYSTEM_HELLO = "system.hello", Post, "/api/vcenter/system?action=hello", true, Api::RestSince("8.0.2.0");

    DATACENTER_LIST = "datacenter.list", Get, "/api/vcenter/datacenter", true, Api::Rest;
    FOLDER_LIST = "folder.list", Get, "/api/vcenter/folder", true, Api::Rest;
    DATASTORE_LIST = "datastore.list", Get, "/api/vcenter/datastore", true, Api::Rest;
    RESOURCE_POOL_LIST = "resource_pool.list", Get, "/api/vcenter/resource-pool", true, Api::Rest;
    CLUSTER_LIST = "cluster.list", Get, "/api/vcenter/cluster", true, Api::Rest;
    NETWORK_LIST = "network.list", Get, "/api/vcenter/network", true, Api::Rest;

    VM_LIST = "vm.list", Get, "/api/vcenter/vm", true, Api::Rest;
    VM_GET = "vm.get", Get, "/api/vcenter/vm/{vm}", true, Api::Rest;
    VM_DELETE = "vm.delete", Delete, "/api/vcenter/vm/{vm}", false, Api::Rest;
    VM_CLONE = "vm.clone", Post, "/api/vcenter/vm?action=clone", false, Api::Rest;
    POWER_GET = "vm.power.get", Get, "/api/vcenter/vm/{vm}/power", true, Api::Rest;
    POWER_START = "vm.power.start", Post, "/api/vcenter/vm/{vm}/power?action=start", false, Api::Rest;
    POWER_STOP = "vm.power.stop", Post, "/api/vcenter/vm/{vm}/power?action=stop", false, Api::Rest;
    GUEST_POWER_GET = "vm.guest.power.get", Get, "/api/vcenter/vm/{vm}/guest/power", true, Api::Rest;
    GUEST_POWER_SHUTDOWN = "vm.guest.power.shutdown", Post, "/api/vcenter/vm/{vm}/guest/power?action=shutdown", false, Api::Rest;
    GUEST_POWER_REBOOT = "vm.guest.power.reboot", Post, "/api/vcenter/vm/{vm}/guest/power?action=reboot", false, Api::Rest;
    HARDWARE_GET = "vm.hardware.get", Get, "/api/vcenter/vm/{vm}/hardware", true, Api::Rest;
    HARDWARE_UPGRADE = "vm.hardware.upgrade", Post, "/api/vcenter/vm/{vm}/hardware?action=upgrade", false, Api::Rest;
    TOOLS_GET = "vm.tools.get", Get, "/api/vcenter/vm/{vm}/tools", true, Api::Rest;
    TOOLS_UPDATE = "vm.tools.update", Patch, "/api/vcenter/vm/{vm}/tools", true, Api::Rest;
    TOOLS_UPGRADE = "vm.tools.upgrade", Post, "/api/vcenter/vm/{vm}/tools?action=upgrade", false, Api::Rest;
    TOOLS_INSTALLER_GET = "vm.tools.installer.get", Get, "/api/vcenter/vm/{vm}/tools/installer", true, Api::Rest;
    TOOLS_INSTALLER_CONNECT = "vm.tools.installer.connect", Post, "/api/vcenter/vm/{vm}/tools/installer?action=connect", false, Api::Rest;
    TOOLS_INSTALLER_DISCONNECT = "vm.tools.installer.disconnect", Post, "/api/vcenter/vm/{vm}/tools/installer?action=disconnect", false, Api::Rest;
    GUEST_IDENTITY = "vm.guest.identity", Get, "/api/vcenter/vm/{vm}/guest/identity", true, Api::Rest;
    GUEST_INTERFACES = "vm.guest.networking.interfaces", Get, "/api/vcenter/vm/{vm}/guest/networking/interfaces", true, Api::Rest;
    GUEST_OPERATIONS = "vm.guest.operations", Get, "/api/vcenter/vm/{vm}/guest/operations", true, Api::Rest;

    PROCESS_CREATE = "guest.processes.create", Post, "/api/vcenter/vm/{vm}/guest/processes?action=create", false, Api::Rest;
    PROCESS_GET = "guest.processes.get", Post, "/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get", true, Api::Rest;
    PROCESS_LIST = "guest.processes.list", Post, "/api/vcenter/vm/{vm}/guest/processes?action=list", true, Api::Rest;
    PROCESS_DELETE = "guest.processes.delete", Post, "/api/vcenter/vm/{vm}/guest/processes/{pid}?action=delete", false, Api::Rest;

    TRANSFER_CREATE = "guest.filesystem.transfer.create", Post, "/api/vcenter/vm/{vm}/guest/filesystem?action=create", true, Api::Rest;
    TRANSFER_PUT = "guest.filesystem.transfer.put", Put, "{url}", false, Api::Transfer;
    TRANSFER_GET = "guest.filesystem.transfer.get", Get, "{url}", false, Api::Transfer;
    DIRECTORY_CREATE = "guest.filesystem.directories.create", Post, "/api/vcenter/vm/{vm}/guest/filesystem/directories?action=create", false, Api::Rest;
    DIRECTORY_DELETE = "guest.filesystem.directories.delete", Post, "/api/vcenter/vm/{vm}/guest/filesystem/directories?action=delete", false, Api::Rest;
    FILE_GET = "guest.filesystem.files.get", Post, "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}?action=get", true, Api::Rest;
    FILE_DELETE = "guest.filesystem.files.delete", Post, "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}?action=delete", false, Api::Rest;
    FILE_LIST = "guest.filesystem.files.list", Post, "/api/vcenter/vm/{vm}/guest/filesystem/files?action=list", true, Api::Rest;

    VI_SERVICE_CONTENT = "vi.service_instance.content", Get, "/sdk/vim25/{release}/ServiceInstance/ServiceInstance/content", true, Api::ViJson;
    VI_LOGIN = "vi.session_manager.login", Post, "/sdk/vim25/{release}/SessionManager/{moId}/Login", true, Api::ViJson;
    VI_LOGOUT = "vi.session_manager.logout", Post, "/sdk/vim25/{release}/SessionManager/{moId}/Logout", true, Api::ViJson;
    VI_VM_CONFIG = "vi.vm.config", Get, "/sdk/vim25/{release}/VirtualMachine/{moId}/config", true, Api::ViJson;
    VI_MARK_AS_TEMPLATE = "vi.vm.mark_as_template", Post, "/sdk/vim25/{release}/VirtualMachine/{moId}/MarkAsTemplate", false, Api::ViJson;
    VI_RENAME = "vi.vm.rename", Post, "/sdk/vim25/{release}/VirtualMachine/{moId}/Rename_Task", false, Api::ViJson;
    VI_DESTROY = "vi.vm.destroy", Post, "/sdk/vim25/{release}/VirtualMachine/{moId}/Destroy_Task", false, Api::ViJson;
    VI_TASK_INFO = "vi.task.info", Get, "/sdk/vim25/{release}/Task/{moId}/info", true, Api::ViJson;
    VI_VM_RECONFIGURE = "vi.vm.reconfigure", Post, "/sdk/vim25/{release}/VirtualMachine/{moId}/ReconfigVM_Task", false, Api::ViJson;
    VI_FOLDER_CHILDREN = "vi.folder.child_entity", Get, "/sdk/vim25/{release}/Folder/{moId}/childEntity", true, Api::ViJson;
    VI_FOLDER_MOVE_INTO = "vi.folder.move_into", Post, "/sdk/vim25/{release}/Folder/{moId}/MoveIntoFolder_Task", false, Api::ViJson;
    VI_SEARCH_FIND_CHILD = "vi.search_index.find_child", Post, "/sdk/vim25/{release}/SearchIndex/{moId}/FindChild", true, Api::ViJson;
    VI_SEARCH_FIND_BY_UUID = "vi.search_index.find_by_uuid", Post, "/sdk/vim25/{release}/SearchIndex/{moId}/FindByUuid", true, Api::ViJson;
    // A repeated create leaves one more collector (or filter) on the
    // wait's own collector, which reports the same changes and goes with
    // the session; a repeated destroy finds nothing (handled as done).
    VI_PC_CREATE = "vi.property_collector.create", Post, "/sdk/vim25/{release}/PropertyCollector/{moId}/CreatePropertyCollector", true, Api::ViJson;
    VI_PC_CREATE_FILTER = "vi.property_collector.create_filter", Post, "/sdk/vim25/{release}/PropertyCollector/{moId}/CreateFilter", true, Api::ViJson;
    VI_PC_WAIT = "vi.property_collector.wait_for_updates_ex", Post, "/sdk/vim25/{release}/PropertyCollector/{moId}/WaitForUpdatesEx", true, Api::ViJson;
    VI_PC_DESTROY = "vi.property_collector.destroy", Post, "/sdk/vim25/{release}/PropertyCollector/{moId}/DestroyPropertyCollector", true, Api::ViJson;
}

/// Path segments are encoded strictly: a guest file path such as
/// `C:\Temp\a b.ps1` must stay one segment, so `/`, `\`, `:` and spaces are
/// all escaped. Only RFC 3986 unreserved characters pass through.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Operation {
    /// The operation called `name`, if the table has it.
    pub fn by_name(name: &str) -> Option<&'static Operation> {
        OPERATIONS.iter().find(|op| op.name == name)
    }

    /// The placeholders of the path template (`["vm", "pid"]`).
    pub fn placeholders(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut rest = self.path_template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push(&rest[open + 1..open + close]);
            rest = &rest[open + close + 1..];
        }
        out
    }

    /// The concrete URL: `base`'s scheme, host and port, the template's path
    /// with each `{name}` replaced by its percent-encoded value from
    /// `params`, the template's own query (`action=...`), then `query`
    /// (list filters, repeated keys allowed). A transfer operation's
    /// `{url}` is taken as a whole absolute URL.
    pub fn render(
        &self,
        base: &Url,
        params: &[(&str, &str)],
        query: &[(String, String)],
    ) -> Result<Url, VsphereError> {
        let value_of = |name: &str| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    VsphereError::config(
                        "operation",
                        format!("{} needs a value for {{{name}}}", self.name),
                    )
                })
        };
        if self.api == Api::Transfer {
            let raw = value_of("url")?;
            return Url::parse(raw).map_err(|e| {
                let shown = raw.split('?').next().unwrap_or_default();
                VsphereError::config_caused(
                    "transfer url",
                    format!("{shown:?} (query left out: it holds the ticket) is not a URL"),
                    e,
                )
            });
        }
        let (path_t, query_t) = match self.path_template.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.path_template, None),
        };
        let mut path = String::with_capacity(path_t.len() + 16);
        let mut rest = path_t;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .unwrap_or(rest.len() - 1);
            path.push_str(&rest[..open]);
            let value = value_of(&rest[open + 1..close])?;
            path.extend(utf8_percent_encode(value, SEGMENT));
            rest = &rest[close + 1..];
        }
        path.push_str(rest);
        let mut url = base.clone();
        url.set_path(&path);
        url.set_query(query_t);
        url.set_fragment(None);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://vc.example:8443/ignored/path?x=1").unwrap()
    }

    #[test]
    fn render_fills_placeholders_and_keeps_the_action_query() {
        let url = PROCESS_GET
            .render(&base(), &[("vm", "vm-42"), ("pid", "7")], &[])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://vc.example:8443/api/vcenter/vm/vm-42/guest/processes/7?action=get"
        );
    }

    #[test]
    fn render_encodes_a_windows_path_as_one_segment() {
        let url = FILE_GET
            .render(
                &base(),
                &[("vm", "vm-1"), ("path", r"C:\Temp\a b.ps1")],
                &[],
            )
            .unwrap();
        assert_eq!(
            url.path(),
            "/api/vcenter/vm/vm-1/guest/filesystem/files/C%3A%5CTemp%5Ca%20b.ps1"
        );
        assert_eq!(url.query(), Some("action=get"));
    }

    #[test]
    fn render_appends_repeated_list_filters() {
        let q = vec![
            ("names".to_string(), "a".to_string()),
            ("names".to_string(), "b c".to_string()),
        ];
        let url = VM_LIST.render(&base(), &[], &q).unwrap();
        assert_eq!(
            url.as_str(),
            "https://vc.example:8443/api/vcenter/vm?names=a&names=b+c"
        );
    }

    #[test]
    fn render_without_a_needed_value_is_an_error_not_a_panic() {
        let e = VM_GET.render(&base(), &[], &[]).unwrap_err().to_string();
        assert!(e.contains("vm.get") && e.contains("{vm}"), "{e}");
    }

    #[test]
    fn vi_json_paths_carry_the_release() {
        let url = VI_MARK_AS_TEMPLATE
            .render(&base(), &[("release", "8.0.3.0"), ("moId", "vm-9")], &[])
            .unwrap();
        assert_eq!(
            url.path(),
            "/sdk/vim25/8.0.3.0/VirtualMachine/vm-9/MarkAsTemplate"
        );
    }

    #[test]
    fn operation_names_are_unique_and_placeholders_are_listed() {
        let mut names: Vec<_> = OPERATIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        assert_eq!(PROCESS_DELETE.placeholders(), vec!["vm", "pid"]);
        assert_eq!(Operation::by_name("vm.clone"), Some(&VM_CLONE));
    }
}
