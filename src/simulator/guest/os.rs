//! Which Windows build a guest runs, and how vCenter names it.

/// The Windows Server releases the model can impersonate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestOs {
    WindowsServer2019,
    WindowsServer2022,
    WindowsServer2025,
}

impl GuestOs {
    /// The vAPI `GuestOS` enum value vCenter reports (VMware named the 2022
    /// guest type "2021" because it shipped before Microsoft fixed the name).
    pub fn vapi_guest_os(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019 => "WINDOWS_SERVER_2019",
            GuestOs::WindowsServer2022 => "WINDOWS_SERVER_2021",
            GuestOs::WindowsServer2025 => "WINDOWS_SERVER_2025",
        }
    }

    /// The VI `guestId`.
    pub fn guest_id(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019 => "windows2019srv_64Guest",
            GuestOs::WindowsServer2022 => "windows2019srvNext_64Guest",
            GuestOs::WindowsServer2025 => "windows2022srvNext_64Guest",
        }
    }

    /// What the guest (tools) reports as its full name.
    pub fn full_name(&self) -> &'static str {
        match self {
            GuestOs::WindowsServer2019 => "Microsoft Windows Server 2019 Datacenter",
            GuestOs::WindowsServer2022 => "Microsoft Windows Server 2022 Datacenter",
            GuestOs::WindowsServer2025 => "Microsoft Windows Server 2025 Datacenter",
        }
    }

    pub fn build_number(&self) -> u32 {
        match self {
            GuestOs::WindowsServer2019 => 17763,
            GuestOs::WindowsServer2022 => 20348,
            GuestOs::WindowsServer2025 => 26100,
        }
    }

    /// `[Environment]::OSVersion.Version` as PowerShell prints it.
    pub fn version(&self) -> String {
        format!("10.0.{}", self.build_number())
    }

    /// The build revision (UBR, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`)
    /// of the base image the model starts from: the cumulative update of
    /// its baseline month (Microsoft's update history pages: 2019
    /// 17763.2114 is August 2021's KB5005030, 2022 20348.887 August 2022's
    /// KB5016627, 2025 26100.1742 the release build).
    pub fn baseline_ubr(&self) -> u32 {
        match self {
            GuestOs::WindowsServer2019 => 2114,
            GuestOs::WindowsServer2022 => 887,
            GuestOs::WindowsServer2025 => 1742,
        }
    }

    /// The cumulative update "install all available" brings, with the
    /// revision it moves the build to once the guest restarts (October
    /// 2024's: KB5044277 → 17763.6414, KB5044281 → 20348.2762, KB5044284
    /// → 26100.2033, per Microsoft's update history pages).
    pub fn latest_cumulative_update(&self) -> (&'static str, u32) {
        match self {
            GuestOs::WindowsServer2019 => ("KB5044277", 6414),
            GuestOs::WindowsServer2022 => ("KB5044281", 2762),
            GuestOs::WindowsServer2025 => ("KB5044284", 2033),
        }
    }

    /// Cumulative updates a freshly installed image of this release carries.
    pub fn baseline_kbs(&self) -> &'static [&'static str] {
        match self {
            GuestOs::WindowsServer2019 => &["KB4565351", "KB5005112"],
            GuestOs::WindowsServer2022 => &["KB5005039", "KB5012170"],
            GuestOs::WindowsServer2025 => &["KB5043080"],
        }
    }

    /// The vAPI family value.
    pub fn family(&self) -> &'static str {
        "WINDOWS"
    }

    /// Parses a vAPI guest OS value or a VI guest id.
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
