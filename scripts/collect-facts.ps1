<#
.SYNOPSIS
    Reads back the state a golden-image build checks before publishing.
.DESCRIPTION
    Changes nothing. Reports hostname, OS caption/version/build, display
    language, the build-relevant services, features and capabilities,
    firewall rules, installed KBs, pending reboot, tools.conf's exclude-nics,
    administrators_authorized_keys (exists, ASCII, ACL) and the sysprep rearm
    budget and image state. Writes a JSON result to -ResultPath (see
    README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

# Capabilities report NotPresent; features Available. Both mean "not installed".
function ConvertTo-InstallState([string]$State) {
    if ($State -in 'Installed', 'InstallPending') { $State } else { 'Available' }
}

Invoke-GildScript $ResultPath 'collect-facts' {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    # The build revision: cumulative updates change it, never BuildNumber,
    # so it is what says how patched the image is.
    $ubr = [int](Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion').UBR
    $services = @('VMTools', 'WinRM', 'W32Time', 'sshd', 'ssh-agent', 'docker', 'containerd' | ForEach-Object {
            $s = Get-Service -Name $_ -ErrorAction SilentlyContinue
            if ($s) { [ordered]@{ name = $s.Name; status = "$($s.Status)"; start_type = "$($s.StartType)" } }
        })
    $features = @(
        [ordered]@{ name = 'Containers'; state = ConvertTo-InstallState "$((Get-WindowsFeature -Name Containers).InstallState)" }
        foreach ($cap in 'OpenSSH.Client~~~~0.0.1.0', 'OpenSSH.Server~~~~0.0.1.0') {
            [ordered]@{ name = $cap; state = ConvertTo-InstallState "$((Get-WindowsCapability -Online -Name $cap).State)" }
        }
    )
    $rules = @('WINRM-HTTP-In-TCP', 'OpenSSH-Server-In-TCP', 'ContainerLogsPort', 'OverlayTraffic4789UDP' | ForEach-Object {
            $rule = Get-NetFirewallRule -Name $_ -ErrorAction SilentlyContinue
            if ($rule) {
                $filter = $rule | Get-NetFirewallPortFilter
                [ordered]@{ name = $rule.Name; protocol = "$($filter.Protocol)"; local_port = [int]"$($filter.LocalPort)"
                    direction = "$($rule.Direction)"; enabled = "$($rule.Enabled)" -eq 'True' }
            }
        })

    $toolsConf = Join-Path $env:ProgramData 'VMware\VMware Tools\tools.conf'
    $excludeNics = $null
    if (Test-Path -LiteralPath $toolsConf) {
        $section = ''
        foreach ($line in Get-Content -LiteralPath $toolsConf) {
            $t = $line.Trim()
            if ($t -match '^\[(.+)\]$') { $section = $Matches[1].Trim().ToLowerInvariant() }
            elseif ($section -eq 'guestinfo' -and $null -eq $excludeNics -and $t -match '^exclude-nics\s*=(.*)$') { $excludeNics = $Matches[1].Trim() }
        }
    }

    $keys = Join-Path $env:ProgramData 'ssh\administrators_authorized_keys'
    $keysExist = Test-Path -LiteralPath $keys
    $keysAscii = $null
    $keysAcl = @()
    if ($keysExist) {
        $keysAscii = -not (@([IO.File]::ReadAllBytes($keys)) | Where-Object { $_ -gt 127 })
        $keysAcl = @((Get-Acl -LiteralPath $keys).Access | ForEach-Object {
                $rights = if ("$($_.FileSystemRights)" -eq 'FullControl') { 'F' } else { "$($_.FileSystemRights)" }
                "$($_.IdentityReference):($rights)"
            })
    }

    $licensing = Get-CimInstance -ClassName SoftwareLicensingService
    $imageState = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State').ImageState

    @{ changed = $false; details = ([ordered]@{
            hostname        = $env:COMPUTERNAME
            os              = [ordered]@{ caption = $os.Caption; version = $os.Version; build = [int]$os.BuildNumber; ubr = $ubr }
            language        = [Globalization.CultureInfo]::InstalledUICulture.Name
            services        = $services
            features        = $features
            firewall_rules  = $rules
            installed_kbs   = @(Get-HotFix | ForEach-Object { $_.HotFixID } | Sort-Object)
            reboot_pending  = [bool](Test-GildRebootPending)
            tools_conf      = [ordered]@{ exists = (Test-Path -LiteralPath $toolsConf); exclude_nics = $excludeNics }
            authorized_keys = [ordered]@{ exists = $keysExist; ascii = $keysAscii; acl = $keysAcl }
            sysprep         = [ordered]@{ rearms_left = [int]$licensing.RemainingWindowsReArmCount; image_state = $imageState }
        }) }
}
