<#
.SYNOPSIS
    Removes what must not be shared by every clone, right before sysprep.
.DESCRIPTION
    OpenSSH for Windows creates its host keys (C:\ProgramData\ssh\ssh_host_*)
    on sshd's first start, and sysprep leaves C:\ProgramData alone: every
    clone of the template would present the same host keys, so one stolen
    template lets anyone impersonate every node. This stops sshd and deletes
    the host keys; sshd stays set to Automatic, so each clone's first boot
    creates its own. Run it as the last guest step before sysprep (anything
    that starts sshd again recreates the keys). Idempotent. Writes a JSON
    result to -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'prepare-sysprep' {
    $changed = $false
    $sshDir = Join-Path $env:ProgramData 'ssh'
    $sshd = Get-Service -Name sshd -ErrorAction SilentlyContinue
    # sshd holds the keys open and would write new ones when it next starts.
    if ($sshd -and "$($sshd.Status)" -ne 'Stopped') {
        Stop-Service -Name sshd -Force
        $changed = $true
    }
    $removed = @(Get-GildHostKeyNames | ForEach-Object {
            Remove-Item -LiteralPath (Join-Path $sshDir $_) -Force
            $_
        })
    if ($removed.Count -gt 0) { $changed = $true }
    $left = @(Get-GildHostKeyNames)
    if ($left.Count -gt 0) { throw "could not delete the OpenSSH host keys $($left -join ', ') in $sshDir" }

    @{ changed = $changed; details = ([ordered]@{
            sshd              = Get-GildServiceState 'sshd'
            removed_host_keys = $removed
            ssh_host_keys     = $left
        }) }
}
