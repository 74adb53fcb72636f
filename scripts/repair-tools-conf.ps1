<#
.SYNOPSIS
    Makes VMware Tools report every NIC, as WMCO requires.
.DESCRIPTION
    Ensures C:\ProgramData\VMware\VMware Tools\tools.conf has exactly one
    `exclude-nics=` line, uncommented and empty, under [guestinfo] (a set
    value is emptied, a commented one replaced, a missing section appended;
    everything else is kept), so the vEthernet NICs hybrid-overlay creates are
    reported to vCenter. Then sets VMTools to start automatically and restarts
    it, since tools read tools.conf only on start. Writes a JSON result to
    -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Save-Result([bool]$Ok, [bool]$Changed, [string]$Err, $Details) {
    $r = [ordered]@{ script = 'repair-tools-conf'; success = $Ok; changed = $Changed; error = $(if ($Err) { $Err } else { $null }); details = $Details }
    New-Item -ItemType Directory -Force -Path (Split-Path -Parent $ResultPath) | Out-Null
    [IO.File]::WriteAllText($ResultPath, ($r | ConvertTo-Json -Depth 6), [Text.UTF8Encoding]::new($false))
}

try {
    if ($null -eq (Get-Service -Name VMTools -ErrorAction SilentlyContinue)) {
        throw 'the VMTools service is not installed; install VMware Tools first'
    }
    $path = Join-Path $env:ProgramData 'VMware\VMware Tools\tools.conf'
    $existed = Test-Path -LiteralPath $path
    $old = if ($existed) { [IO.File]::ReadAllText($path) } else { $null }
    $lines = if ($existed) { @($old -split "`r?`n") } else { @() }
    if ($lines.Count -gt 0 -and $lines[-1] -eq '') { $lines = @($lines | Select-Object -SkipLast 1) }

    $out = New-Object System.Collections.Generic.List[string]
    $section = ''
    $sawGuestinfo = $false
    $wrote = $false
    $before = $null
    foreach ($line in $lines) {
        $t = $line.Trim()
        if ($t -match '^\[(.+)\]$') {
            if ($section -eq 'guestinfo' -and -not $wrote) { $out.Add('exclude-nics='); $wrote = $true }
            $section = $Matches[1].Trim().ToLowerInvariant()
            if ($section -eq 'guestinfo') { $sawGuestinfo = $true }
            $out.Add($line)
            continue
        }
        if ($section -eq 'guestinfo' -and $t -match '^[#;]*\s*exclude-nics\s*=(.*)$') {
            if ($t -notmatch '^[#;]' -and $null -eq $before) { $before = $Matches[1].Trim() }
            if (-not $wrote) { $out.Add('exclude-nics='); $wrote = $true }
            continue
        }
        $out.Add($line)
    }
    if ($section -eq 'guestinfo' -and -not $wrote) {
        $out.Add('exclude-nics=')
    } elseif (-not $sawGuestinfo) {
        $out.Add('[guestinfo]')
        $out.Add('exclude-nics=')
    }
    $content = ($out -join "`r`n") + "`r`n"
    $changed = $old -ne $content
    if ($changed) {
        New-Item -ItemType Directory -Force -Path (Split-Path -Parent $path) | Out-Null
        [IO.File]::WriteAllText($path, $content, [Text.UTF8Encoding]::new($false))
    }
    Set-Service -Name VMTools -StartupType Automatic
    Restart-Service -Name VMTools -Force
    $tools = Get-Service -Name VMTools

    Save-Result $true $changed '' ([ordered]@{
            path                = $path
            existed             = $existed
            exclude_nics_before = $before
            exclude_nics        = ''
            vmtools             = [ordered]@{ name = $tools.Name; status = "$($tools.Status)"; start_type = "$($tools.StartType)" }
        })
    exit 0
} catch {
    Save-Result $false $false $_.Exception.Message @{}
    exit 1
}
