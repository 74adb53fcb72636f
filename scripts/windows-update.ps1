<#
.SYNOPSIS
    Installs Windows updates through the Windows Update Agent.
.DESCRIPTION
    With -KbIds (a comma-separated list, e.g. "KB4565351,KB5044281": `-File`
    passes an array as one string, so the list is split here), installs those
    KBs unless already present; without it, installs every available software
    update. Reports whether a reboot is now pending; the caller reboots and
    runs the script again until nothing is left. Writes a JSON result to
    -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [string]$KbIds = '',
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'windows-update' {
    $requested = @($KbIds -split '[,\s]+' | Where-Object { $_ } | ForEach-Object { $_.Trim().ToUpperInvariant() })
    foreach ($kb in $requested) {
        if ($kb -notmatch '^KB\d{6,7}$') { throw "'$kb' is not a KB identifier like KB5044281" }
    }
    $present = @(Get-HotFix | ForEach-Object { $_.HotFixID.ToUpperInvariant() })
    $already = @($requested | Where-Object { $_ -in $present })

    $session = New-Object -ComObject Microsoft.Update.Session
    $found = $session.CreateUpdateSearcher().Search("IsInstalled=0 and Type='Software'").Updates
    $toInstall = New-Object -ComObject Microsoft.Update.UpdateColl
    $names = @()
    foreach ($update in $found) {
        $ids = @($update.KBArticleIDs | ForEach-Object { "KB$_" })
        if ($requested.Count -eq 0 -or ($ids | Where-Object { $_ -in $requested })) {
            if (-not $update.EulaAccepted) { $update.AcceptEula() }
            [void]$toInstall.Add($update)
            $names += $ids
        }
    }
    $missing = @($requested | Where-Object { $_ -notin $present -and $_ -notin $names })
    if ($missing.Count -gt 0) { throw "not offered by Windows Update and not installed: $($missing -join ', ')" }

    if ($toInstall.Count -gt 0) {
        $downloader = $session.CreateUpdateDownloader()
        $downloader.Updates = $toInstall
        [void]$downloader.Download()
        $installer = $session.CreateUpdateInstaller()
        $installer.Updates = $toInstall
        $result = $installer.Install()
        # OperationResultCode 2 = succeeded, 3 = succeeded with errors.
        if ($result.ResultCode -ne 2) { throw "Windows Update finished with result code $($result.ResultCode)" }
    }

    @{ changed = ($toInstall.Count -gt 0); details = ([ordered]@{
            installed         = @($names)
            already_installed = $already
            reboot_required   = [bool](Test-GildRebootPending)
        }) }
}
