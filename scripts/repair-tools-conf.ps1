<#
.SYNOPSIS
    Makes VMware Tools report every NIC, as WMCO requires.
.DESCRIPTION
    Ensures C:\ProgramData\VMware\VMware Tools\tools.conf has exactly one
    `exclude-nics=` line, uncommented and empty, under [guestinfo] (a set
    value is emptied, a commented one replaced, a missing section appended;
    everything else is kept), so the vEthernet NICs hybrid-overlay creates are
    reported to vCenter, and sets VMTools to start automatically.
    It does not restart VMTools: this script runs as a process vmtoolsd
    started for guest operations, and restarting vmtoolsd loses its record of
    that process (its exit code never reaches vCenter). No restart is needed:
    vmtoolsd re-reads tools.conf every 5 seconds (open-vm-tools
    services/vmtoolsd/mainLoop.c, CONF_POLL_TIME in lib/include/conf.h) and
    the guestInfo plugin re-applies exclude-nics on that reload. Writes a
    JSON result to -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'repair-tools-conf' {
    if ($null -eq (Get-Service -Name VMTools -ErrorAction SilentlyContinue)) {
        throw 'the VMTools service is not installed; install VMware Tools first'
    }
    $path = Join-Path $env:ProgramData 'VMware\VMware Tools\tools.conf'
    $existed = Test-Path -LiteralPath $path
    $old = if ($existed) { [IO.File]::ReadAllText($path) } else { $null }
    # @() keeps a one-line file an array (an if-expression would unroll it to a string).
    $lines = @(if ($existed) { $old -split "`r?`n" })
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
    if ("$((Get-Service -Name VMTools).StartType)" -ne 'Automatic') {
        Set-Service -Name VMTools -StartupType Automatic
        $changed = $true
    }
    $tools = Get-Service -Name VMTools

    @{ changed = $changed; details = ([ordered]@{
            path                = $path
            existed             = $existed
            exclude_nics_before = $before
            exclude_nics        = ''
            vmtools             = [ordered]@{ name = $tools.Name; status = "$($tools.Status)"; start_type = "$($tools.StartType)" }
            restarted           = $false
            reload_seconds      = 5
        }) }
}
