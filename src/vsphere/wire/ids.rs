//! One newtype per vSphere object kind, so a datastore id can never be passed
//! where a VM id is expected. On the wire they are plain strings (`vm-42`).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! vsphere_id {
    ($(#[$doc:meta] $name:ident => $prefix:literal),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix vCenter uses for this kind (`vm-`, `group-`, ...);
            /// the simulator mints ids with it.
            pub const PREFIX: &'static str = $prefix;

            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    )*};
}

vsphere_id! {
    /// A virtual machine or VM template (`vm-42`).
    VmId => "vm-",
    /// A folder of any type (`group-v3`).
    FolderId => "group-",
    /// A datacenter (`datacenter-2`).
    DatacenterId => "datacenter-",
    /// A datastore (`datastore-11`).
    DatastoreId => "datastore-",
    /// A resource pool (`resgroup-9`).
    ResourcePoolId => "resgroup-",
    /// A cluster compute resource (`domain-c7`).
    ClusterId => "domain-c",
    /// A standard or distributed port group (`network-13`, `dvportgroup-20`).
    NetworkId => "network-",
    /// An ESXi host (`host-10`).
    HostId => "host-",
    /// An `/api` or VI task (`task-101`).
    TaskId => "task-",
    /// A content library (uuid).
    LibraryId => "",
    /// A content library item (uuid).
    LibraryItemId => "",
}

/// A guest process id as vCenter returns it (a JSON integer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GuestPid(pub i64);

impl fmt::Display for GuestPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
