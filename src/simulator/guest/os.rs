//! Which Windows release a guest runs, and how Windows and vCenter name it.
//!
//! A cumulative update changes the build revision (UBR), never the build,
//! and every release has its own stream of them, so a guest is a release
//! plus a UBR (kept in the guest's update state). Values from Microsoft's
//! release information and update history: 2004 and 20H2 are Semi-Annual
//! Channel releases (Server Core only, caption without a year; 20H2 is the
//! first to write `DisplayVersion`, both write `ReleaseId`, 20H2 as 2009,
//! which 2022 and 2025 kept); vSphere has no guest type of their own, so
//! they run as `windows2019srv_64Guest` like Server 2019.

/// The Windows Server releases the model can impersonate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GuestOs {
    WindowsServer2019,
    /// Windows Server, version 2004 (Semi-Annual Channel, build 19041).
    WindowsServer2004,
    /// Windows Server, version 20H2 (Semi-Annual Channel, build 19042): the seed's OS.
    WindowsServer20H2,
    WindowsServer2022,
    WindowsServer2025,
}

pub const ALL_RELEASES: [GuestOs; 5] = [
    GuestOs::WindowsServer2019,
    GuestOs::WindowsServer2004,
    GuestOs::WindowsServer20H2,
    GuestOs::WindowsServer2022,
    GuestOs::WindowsServer2025,
];

impl GuestOs {
    /// The name inventories use (`os: windows-server-20h2`).
    pub fn release_name(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019 => "windows-server-2019",
            GuestOs::WindowsServer2004 => "windows-server-2004",
            GuestOs::WindowsServer20H2 => "windows-server-20h2",
            GuestOs::WindowsServer2022 => "windows-server-2022",
            GuestOs::WindowsServer2025 => "windows-server-2025",
        }
    }

    pub fn from_release_name(name: &str) -> Option<Self> {
        ALL_RELEASES
            .into_iter()
            .find(|os| os.release_name().eq_ignore_ascii_case(name))
    }

    /// The vAPI `GuestOS` enum value vCenter reports (VMware named the 2022
    /// guest type "2021" because it shipped before Microsoft fixed the name).
    pub fn vapi_guest_os(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019
            | GuestOs::WindowsServer2004
            | GuestOs::WindowsServer20H2 => "WINDOWS_SERVER_2019",
            GuestOs::WindowsServer2022 => "WINDOWS_SERVER_2021",
            GuestOs::WindowsServer2025 => "WINDOWS_SERVER_2025",
        }
    }

    /// The VI `guestId`.
    pub fn guest_id(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019
            | GuestOs::WindowsServer2004
            | GuestOs::WindowsServer20H2 => "windows2019srv_64Guest",
            GuestOs::WindowsServer2022 => "windows2019srvNext_64Guest",
            GuestOs::WindowsServer2025 => "windows2022srvNext_64Guest",
        }
    }

    /// `Win32_OperatingSystem.Caption`, which is also what tools report as
    /// the full name.
    pub fn full_name(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019 => "Microsoft Windows Server 2019 Datacenter",
            GuestOs::WindowsServer2004 | GuestOs::WindowsServer20H2 => {
                "Microsoft Windows Server Datacenter"
            }
            GuestOs::WindowsServer2022 => "Microsoft Windows Server 2022 Datacenter",
            GuestOs::WindowsServer2025 => "Microsoft Windows Server 2025 Datacenter",
        }
    }

    pub fn build_number(&self) -> u32 {
        match self {
            GuestOs::WindowsServer2019 => 17763,
            GuestOs::WindowsServer2004 => 19041,
            GuestOs::WindowsServer20H2 => 19042,
            GuestOs::WindowsServer2022 => 20348,
            GuestOs::WindowsServer2025 => 26100,
        }
    }

    /// `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion` `DisplayVersion`
    /// (absent before 20H2).
    pub fn display_version(&self) -> Option<&'static str> {
        match self {
            GuestOs::WindowsServer2019 | GuestOs::WindowsServer2004 => None,
            GuestOs::WindowsServer20H2 => Some("20H2"),
            GuestOs::WindowsServer2022 => Some("21H2"),
            GuestOs::WindowsServer2025 => Some("24H2"),
        }
    }

    /// The same key's `ReleaseId` (frozen at 2009 since 20H2).
    pub fn release_id(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019 => "1809",
            GuestOs::WindowsServer2004 => "2004",
            _ => "2009",
        }
    }

    /// `[Environment]::OSVersion.Version` as PowerShell prints it.
    pub fn version(&self) -> String {
        format!("10.0.{}", self.build_number())
    }

    /// The build revision (UBR, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`)
    /// of the base image the model starts from: the cumulative update of
    /// its baseline month (the update catalogue in `updates`).
    pub fn baseline_ubr(&self) -> u32 {
        super::updates::baseline(*self).1
    }

    /// The cumulative update "install all available" brings, with the
    /// revision it moves the build to once the guest restarts (the newest
    /// non-optional cumulative update in the release's catalogue).
    pub fn latest_cumulative_update(&self) -> (&'static str, u32) {
        super::updates::latest(*self)
    }

    /// The vAPI family value.
    pub fn family(&self) -> &'static str {
        "WINDOWS"
    }

    /// Parses a vAPI guest OS value or a VI guest id. Several releases share
    /// a guest type; this gives the LTSC release of that type.
    pub fn from_vapi(name: &str) -> Option<Self> {
        [
            GuestOs::WindowsServer2019,
            GuestOs::WindowsServer2022,
            GuestOs::WindowsServer2025,
        ]
        .into_iter()
        .find(|os| {
            os.vapi_guest_os().eq_ignore_ascii_case(name)
                || os.guest_id().eq_ignore_ascii_case(name)
        })
    }
}
