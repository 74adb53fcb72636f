<#
.SYNOPSIS
    Shared by every gild guest script; each dot-sources it from its own folder.
.DESCRIPTION
    Strict mode, stop-on-error, and Invoke-GildScript: runs a script body and
    writes the result file every script promises (see README.md), exiting 0
    on success and 1 on failure. Not a script to run on its own.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

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
    [IO.File]::WriteAllText($Path, ($result | ConvertTo-Json -Depth 6), [Text.UTF8Encoding]::new($false))
}

# Runs $Body, which returns @{ changed = [bool]; details = ... } as its last
# output, and turns the outcome into the result file and the exit code.
function Invoke-GildScript([string]$ResultPath, [string]$Script, [scriptblock]$Body) {
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

function Test-GildRebootPending {
    (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') -or
    (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')
}

# "principal:(rights)" per entry, icacls style (FullControl is F).
function Get-GildAclSummary([string]$Path) {
    @((Get-Acl -LiteralPath $Path).Access | ForEach-Object {
            $rights = if ("$($_.FileSystemRights)" -eq 'FullControl') { 'F' } else { "$($_.FileSystemRights)" }
            "$($_.IdentityReference):($rights)"
        })
}
