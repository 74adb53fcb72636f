<#
.SYNOPSIS
    The Windows Update work windows-update.ps1 runs as a SYSTEM scheduled task.
.DESCRIPTION
    Not for guest operations: the Windows Update Agent refuses
    CreateUpdateDownloader/CreateUpdateInstaller to remote callers
    (E_ACCESSDENIED), so windows-update.ps1 starts this script from a task
    running as NT AUTHORITY\SYSTEM and reads its result file. Searches for
    the updates Windows Update would install by itself (software, not
    installed, not hidden, not optional: BrowseOnly=1 marks optional updates
    such as preview cumulative updates), installs them (or, with -KbIds, the
    listed ones among them) and reports each update's result. Result code 3
    (succeeded with errors) is a result, with the failed updates in the
    details; only 4 (failed) and 5 (aborted) fail the script. Writes a JSON
    result to -ResultPath (see README.md) and exits 1 on failure.
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

$Criteria = "IsInstalled=0 and Type='Software' and IsHidden=0 and BrowseOnly=0"
# OperationResultCode (wuapi.h).
$ResultNames = @{ 0 = 'NotStarted'; 1 = 'InProgress'; 2 = 'Succeeded'; 3 = 'SucceededWithErrors'; 4 = 'Failed'; 5 = 'Aborted' }

Invoke-GildScript $ResultPath 'windows-update-task' {
    $requested = @($KbIds -split '[,\s]+' | Where-Object { $_ } | ForEach-Object { $_.Trim().ToUpperInvariant() })
    $present = @(Get-HotFix | ForEach-Object { $_.HotFixID.ToUpperInvariant() })

    $session = New-Object -ComObject Microsoft.Update.Session
    $session.ClientApplicationID = 'gild'
    $found = $session.CreateUpdateSearcher().Search($Criteria).Updates
    $toInstall = New-Object -ComObject Microsoft.Update.UpdateColl
    $offered = @()
    foreach ($update in $found) {
        $ids = @($update.KBArticleIDs | ForEach-Object { "KB$_" })
        $offered += $ids
        if ($requested.Count -eq 0 -or @($ids | Where-Object { $_ -in $requested }).Count -gt 0) {
            if (-not $update.EulaAccepted) { $update.AcceptEula() }
            [void]$toInstall.Add($update)
        }
    }

    $updates = @()
    $resultCode = $null
    $rebootRequired = $false
    if ($toInstall.Count -gt 0) {
        $downloader = $session.CreateUpdateDownloader()
        $downloader.Updates = $toInstall
        [void]$downloader.Download()
        $installer = $session.CreateUpdateInstaller()
        $installer.Updates = $toInstall
        $result = $installer.Install()
        $resultCode = [int]$result.ResultCode
        $rebootRequired = [bool]$result.RebootRequired
        for ($i = 0; $i -lt $toInstall.Count; $i++) {
            $update = $toInstall.Item($i)
            $one = $result.GetUpdateResult($i)
            $updates += [ordered]@{
                kb              = @($update.KBArticleIDs | ForEach-Object { "KB$_" }) -join ','
                title           = $update.Title
                result_code     = [int]$one.ResultCode
                result          = $ResultNames[[int]$one.ResultCode]
                hresult         = '0x{0:X8}' -f $one.HResult
                reboot_required = [bool]$one.RebootRequired
            }
        }
        if ($resultCode -ne 2 -and $resultCode -ne 3) {
            $each = ($updates | ForEach-Object { "$($_.kb) $($_.result) $($_.hresult)" }) -join '; '
            throw "Windows Update finished with result code $resultCode ($($ResultNames[$resultCode])): $each"
        }
    }
    $installed = @($updates | Where-Object { $_.result_code -eq 2 -or $_.result_code -eq 3 } | ForEach-Object { $_.kb })

    @{ changed = $installed.Count -gt 0; details = ([ordered]@{
            installed         = $installed
            failed            = @($updates | Where-Object { $_.result_code -ge 4 } | ForEach-Object { $_.kb })
            updates           = $updates
            result_code       = $resultCode
            already_installed = @($requested | Where-Object { $_ -in $present })
            not_offered       = @($requested | Where-Object { $_ -notin $present -and $_ -notin $offered })
            reboot_required   = $rebootRequired -or [bool](Test-GildRebootPending)
            search_criteria   = $Criteria
        }) }
}
