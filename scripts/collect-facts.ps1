<#
.SYNOPSIS
    Reads back the state a golden-image build checks before publishing.
.DESCRIPTION
    Changes nothing. Reports hostname; OS caption, version, build and
    revision (UBR: cumulative updates supersede each other, so the build
    revision, not a KB id, says how patched the image is), DisplayVersion
    and ReleaseId; the display (UI) language and the install language; the
    last boot time (a reboot shows as a new value); the build-relevant
    services, features and capabilities, firewall rules, installed KBs,
    pending reboot and why, tools.conf's exclude-nics,
    administrators_authorized_keys (exists, ASCII, ACL), OpenSSH host keys
    and the sysprep rearm budget and image state. Writes a JSON result to
    -ResultPath (see README.md) and exits 1 on failure.
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

# A value of HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion, or $null
# where this release does not write it (DisplayVersion starts with 20H2).
function Get-CurrentVersionValue($Key, [string]$Name) {
    if ($null -eq $Key.PSObject.Properties[$Name]) { return $null }
    $Key.$Name
}

Invoke-GildScript $ResultPath 'collect-facts' {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $current = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $services = @('VMTools', 'WinRM', 'W32Time', 'sshd', 'ssh-agent', 'docker', 'containerd' | ForEach-Object {
            Get-GildServiceState $_
        } | Where-Object { $_ })
    $features = @(
        [ordered]@{ name = 'Containers'; state = ConvertTo-InstallState "$((Get-WindowsFeature -Name Containers).InstallState)" }
        foreach ($cap in 'OpenSSH.Client~~~~0.0.1.0', 'OpenSSH.Server~~~~0.0.1.0') {
            [ordered]@{ name = $cap; state = ConvertTo-InstallState "$((Get-WindowsCapability -Online -Name $cap).State)" }
        }
    )
    # Built-in rules have fixed Names; gild's (and WMCO's) are found by DisplayName.
    $rules = @(
        foreach ($name in 'WINRM-HTTP-In-TCP', 'OpenSSH-Server-In-TCP') {
            Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue | ForEach-Object { Get-GildFirewallRuleState $_ }
        }
        foreach ($displayName in 'ContainerLogsPort', 'OverlayTraffic4789UDP') {
            Get-NetFirewallRule -DisplayName $displayName -ErrorAction SilentlyContinue | ForEach-Object { Get-GildFirewallRuleState $_ }
        }
    )

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

    $sshDir = Join-Path $env:ProgramData 'ssh'
    $keys = Join-Path $sshDir 'administrators_authorized_keys'
    $keysExist = Test-Path -LiteralPath $keys
    $keysAscii = $null
    $keysAcl = @()
    if ($keysExist) {
        $keysAscii = -not (@([IO.File]::ReadAllBytes($keys)) | Where-Object { $_ -gt 127 })
        $keysAcl = Get-GildAclSummary $keys
    }
    $hostKeys = @(Get-GildHostKeyNames)

    $licensing = Get-CimInstance -ClassName SoftwareLicensingService
    $imageState = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State').ImageState
    $rebootSources = Get-GildRebootPending

    @{ changed = $false; details = ([ordered]@{
            hostname               = $env:COMPUTERNAME
            os                     = [ordered]@{
                caption         = $os.Caption
                version         = $os.Version
                build           = [int]$os.BuildNumber
                ubr             = [int](Get-CurrentVersionValue $current 'UBR')
                display_version = Get-CurrentVersionValue $current 'DisplayVersion'
                release_id      = Get-CurrentVersionValue $current 'ReleaseId'
            }
            # The display language of the account the build runs as, and the
            # language Windows was installed in (they differ when a language
            # pack was added); WMCO supports en-US only.
            language               = (Get-UICulture).Name
            install_language       = [Globalization.CultureInfo]::InstalledUICulture.Name
            last_boot_time         = $os.LastBootUpTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ')
            services               = $services
            features               = $features
            firewall_rules         = $rules
            installed_kbs          = @(Get-HotFix | ForEach-Object { $_.HotFixID } | Sort-Object)
            reboot_pending         = $rebootSources.Count -gt 0
            reboot_pending_sources = $rebootSources
            tools_conf             = [ordered]@{ exists = (Test-Path -LiteralPath $toolsConf); exclude_nics = $excludeNics }
            authorized_keys        = [ordered]@{ exists = $keysExist; ascii = $keysAscii; acl = $keysAcl }
            ssh_host_keys          = $hostKeys
            sysprep                = [ordered]@{ rearms_left = [int]$licensing.RemainingWindowsReArmCount; image_state = $imageState }
        }) }
}
