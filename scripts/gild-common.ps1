<#
.SYNOPSIS
    Shared by every gild guest script; each dot-sources it from its own folder.
.DESCRIPTION
    Strict mode, stop-on-error, TLS 1.2 and no progress bar for Windows
    PowerShell 5.1, and Invoke-GildScript: runs a script body and writes the
    result file every script promises (see README.md), exiting 0 on success
    and 1 on failure (2 when -ResultPath is not absolute). Also the helpers
    several scripts share: service state, pending reboot, ACL summary and
    SHA256SUMS verification of uploaded files. Not a script to run on its own.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Windows PowerShell 5.1 runs on .NET Framework 4.x, whose default protocol
# list (Ssl3, Tls) is refused by download.docker.com and github.com; -bor
# keeps whatever else the machine already allows.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
# The progress bar makes Invoke-WebRequest and Add-WindowsCapability many
# times slower in a host without a console, and nobody can see it here.
$ProgressPreference = 'SilentlyContinue'

# Guest operations start a process in vmtoolsd's working directory
# (C:\Windows\System32) unless the caller names one, so a relative result
# path would land where the caller never looks: refuse it before anything runs.
function Assert-GildResultPath([string]$Path) {
    if ($Path -notmatch '^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)') {
        [Console]::Error.WriteLine("-ResultPath must be an absolute path like C:\gild\result.json, not '$Path'")
        exit 2
    }
}

function Save-GildResult([string]$Path, [string]$Script, [bool]$Ok, [bool]$Changed, [string]$Err, $Details) {
    $result = [ordered]@{
        script  = $Script
        success = $Ok
        changed = $Changed
        error   = $(if ($Err) { $Err } else { $null })
        details = $Details
    }
    New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path) | Out-Null
    # UTF-8 without BOM: Set-Content -Encoding UTF8 would add one.
    [IO.File]::WriteAllText($Path, ($result | ConvertTo-Json -Depth 8), [Text.UTF8Encoding]::new($false))
}

# Runs $Body, which returns @{ changed = [bool]; details = ... } as its last
# output, and turns the outcome into the result file and the exit code.
function Invoke-GildScript([string]$ResultPath, [string]$Script, [scriptblock]$Body) {
    Assert-GildResultPath $ResultPath
    try {
        $outcome = & $Body | Select-Object -Last 1
        Save-GildResult $ResultPath $Script $true ([bool]$outcome.changed) '' $outcome.details
        exit 0
    } catch {
        Save-GildResult $ResultPath $Script $false $false $_.Exception.Message @{}
        exit 1
    }
}

function Get-GildServiceState([string]$Name) {
    $s = Get-Service -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $s) { return $null }
    [ordered]@{ name = $s.Name; status = "$($s.Status)"; start_type = "$($s.StartType)" }
}

# Why a reboot is owed, if it is: component servicing (features), Windows
# Update's registry flag, and the update installer's own RebootRequired
# (Microsoft.Update.SystemInfo), which is set before the registry flag is.
function Get-GildRebootPending {
    $sources = @()
    if (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
        $sources += 'component_based_servicing'
    }
    $wu = Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    try {
        if ((New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired) { $wu = $true }
    } catch {
        # Not every caller may create the object; the registry flag still counts.
    }
    if ($wu) { $sources += 'windows_update' }
    , $sources
}

function Test-GildRebootPending {
    (Get-GildRebootPending).Count -gt 0
}

# OpenSSH's host keys (ssh_host_*) in C:\ProgramData\ssh, sorted by name:
# sshd creates them at its first start and sysprep keeps them.
function Get-GildHostKeyNames {
    $dir = Join-Path $env:ProgramData 'ssh'
    if (Test-Path -LiteralPath $dir) {
        Get-ChildItem -Path $dir -Filter 'ssh_host_*' -File | ForEach-Object { $_.Name } | Sort-Object
    }
}

# "principal:(rights)" per entry, icacls style (FullControl is F).
function Get-GildAclSummary([string]$Path) {
    @((Get-Acl -LiteralPath $Path).Access | ForEach-Object {
            $rights = if ("$($_.FileSystemRights)" -eq 'FullControl') { 'F' } else { "$($_.FileSystemRights)" }
            "$($_.IdentityReference):($rights)"
        })
}

# Files the pipeline uploaded from a local folder come with SHA256SUMS, in
# the format sha256sum writes ("<64 hex>  <name>", '*' before the name in
# binary mode; names relative to the folder). Every listed file must exist
# and match, and each of $Required must be listed. Returns what was checked.
function Test-GildManifest([string]$Dir, [string[]]$Required) {
    $manifestPath = Join-Path $Dir 'SHA256SUMS'
    if (-not (Test-Path -LiteralPath $manifestPath -PathType Leaf)) {
        throw "$Dir has no SHA256SUMS manifest; upload the files with their checksums"
    }
    $manifest = [ordered]@{}
    $lineNumber = 0
    foreach ($line in Get-Content -LiteralPath $manifestPath) {
        $lineNumber++
        if ($line.Trim() -eq '') { continue }
        if ($line -notmatch '^([0-9A-Fa-f]{64}) [ *](.+)$') {
            throw "SHA256SUMS line ${lineNumber}: expected '<sha256>  <file>', got '$line'"
        }
        $manifest[$Matches[2].Trim().Replace('/', '\')] = $Matches[1].ToLowerInvariant()
    }
    foreach ($name in $Required) {
        if (-not $manifest.Contains($name)) { throw "SHA256SUMS in $Dir does not list $name" }
    }
    @(foreach ($name in $manifest.Keys) {
            $file = Join-Path $Dir $name
            if (-not (Test-Path -LiteralPath $file -PathType Leaf)) { throw "$file is listed in SHA256SUMS but was not uploaded" }
            $actual = (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($actual -ne $manifest[$name]) { throw "$file has SHA-256 $actual but SHA256SUMS says $($manifest[$name])" }
            [ordered]@{ file = $name; sha256 = $actual; size = (Get-Item -LiteralPath $file).Length }
        })
}

# WMCO's documented command creates ContainerLogsPort by DisplayName only
# (New-NetFirewallRule -DisplayName ContainerLogsPort ...), which gives the
# rule a GUID as its Name, so rules are looked up by DisplayName. Every rule
# of that DisplayName is brought to the wanted state: a disabled or Block
# duplicate left beside a new Allow rule would keep the port shut (Block
# rules take precedence). Returns whether anything changed.
function Set-GildInboundRule([string]$DisplayName, [string]$Protocol, [int]$Port) {
    $rules = @(Get-NetFirewallRule -DisplayName $DisplayName -ErrorAction SilentlyContinue)
    if ($rules.Count -eq 0) {
        New-NetFirewallRule -DisplayName $DisplayName -Direction Inbound -Protocol $Protocol -LocalPort $Port `
            -Action Allow -Profile Any -EdgeTraversalPolicy Allow -Enabled True | Out-Null
        return $true
    }
    $changed = $false
    foreach ($rule in $rules) {
        $filter = $rule | Get-NetFirewallPortFilter
        if ("$($rule.Enabled)" -ne 'True' -or "$($rule.Direction)" -ne 'Inbound' -or "$($rule.Action)" -ne 'Allow' -or
            "$($rule.Profile)" -ne 'Any' -or "$($rule.EdgeTraversalPolicy)" -ne 'Allow' -or
            "$($filter.Protocol)" -ne $Protocol -or "$($filter.LocalPort)" -ne "$Port") {
            Set-NetFirewallRule -Name $rule.Name -Direction Inbound -Protocol $Protocol -LocalPort $Port `
                -Action Allow -Profile Any -EdgeTraversalPolicy Allow -Enabled True
            $changed = $true
        }
    }
    $changed
}

# A firewall rule as the result files report it, read back from Windows.
function Get-GildFirewallRuleState($Rule) {
    $filter = $Rule | Get-NetFirewallPortFilter
    $port = "$($filter.LocalPort)"
    [ordered]@{
        name           = $Rule.Name
        display_name   = $Rule.DisplayName
        direction      = "$($Rule.Direction)"
        action         = "$($Rule.Action)"
        protocol       = "$($filter.Protocol)"
        local_port     = $(if ($port -match '^\d+$') { [int]$port } else { $port })
        profile        = "$($Rule.Profile)"
        edge_traversal = "$($Rule.EdgeTraversalPolicy)"
        enabled        = "$($Rule.Enabled)" -eq 'True'
    }
}
