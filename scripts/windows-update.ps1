<#
.SYNOPSIS
    Installs Windows updates through the Windows Update Agent, as SYSTEM.
.DESCRIPTION
    The Windows Update Agent refuses CreateUpdateDownloader and
    CreateUpdateInstaller to remote callers (E_ACCESSDENIED), and a process
    started through vCenter guest operations is one. So this script registers
    a scheduled task running windows-update-task.ps1 (uploaded beside it) as
    NT AUTHORITY\SYSTEM, starts it, waits for it (at most -TimeoutMinutes),
    collects the task's result file and reports it as its own. With -KbIds (a
    comma-separated list, e.g. "KB5044281": `-File` passes an array as one
    string) only those offered updates are installed; ids that are neither
    installed nor offered are listed, not an error, since a newer cumulative
    update supersedes an old id and Windows Update never offers it again.
    Does not reboot; the caller reboots and runs it again until nothing is
    left. Writes a JSON result to -ResultPath (see README.md) and exits 1 on
    failure.
#>
[CmdletBinding()]
param(
    [string]$KbIds = '',
    [int]$TimeoutMinutes = 120,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

$TaskName = 'gild-windows-update'
$TaskUser = 'NT AUTHORITY\SYSTEM'
# Task Scheduler's LastTaskResult while a task has not run yet, and while it runs.
$NotYetRun = 267011
$StillRunning = 267009

Invoke-GildScript $ResultPath 'windows-update' {
    foreach ($kb in @($KbIds -split '[,\s]+' | Where-Object { $_ })) {
        if ($kb -notmatch '^KB\d{6,7}$') { throw "'$kb' is not a KB identifier like KB5044281" }
    }
    if ($TimeoutMinutes -lt 1) { throw "-TimeoutMinutes must be at least 1, not $TimeoutMinutes" }
    $worker = Join-Path $PSScriptRoot 'windows-update-task.ps1'
    if (-not (Test-Path -LiteralPath $worker -PathType Leaf)) { throw "$worker is missing: upload it with the other scripts" }
    $taskResult = "$ResultPath.task.json"
    Remove-Item -LiteralPath $taskResult -Force -ErrorAction SilentlyContinue

    $arguments = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$worker`" -ResultPath `"$taskResult`""
    if ($KbIds) { $arguments += " -KbIds `"$KbIds`"" }
    $action = New-ScheduledTaskAction -Execute (Join-Path $PSHOME 'powershell.exe') -Argument $arguments
    $principal = New-ScheduledTaskPrincipal -UserId $TaskUser -LogonType ServiceAccount -RunLevel Highest
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
        -ExecutionTimeLimit (New-TimeSpan -Minutes $TimeoutMinutes)
    Register-ScheduledTask -TaskName $TaskName -Action $action -Principal $principal -Settings $settings -Force | Out-Null
    try {
        Start-ScheduledTask -TaskName $TaskName
        $deadline = (Get-Date).AddMinutes($TimeoutMinutes)
        do {
            Start-Sleep -Seconds 5
            $state = "$((Get-ScheduledTask -TaskName $TaskName).State)"
            $info = Get-ScheduledTaskInfo -TaskName $TaskName
            if ((Get-Date) -gt $deadline) {
                throw "the Windows Update task did not finish within $TimeoutMinutes minutes (state $state)"
            }
        } while ($state -ne 'Ready' -or $info.LastTaskResult -eq $NotYetRun -or $info.LastTaskResult -eq $StillRunning)
        if (-not (Test-Path -LiteralPath $taskResult)) {
            throw "the Windows Update task ended with result $($info.LastTaskResult) without writing $taskResult"
        }
        $run = Get-Content -LiteralPath $taskResult -Raw | ConvertFrom-Json
    } finally {
        Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
    }
    if (-not $run.success) { throw "Windows Update (run as $TaskUser): $($run.error)" }

    $details = [ordered]@{}
    foreach ($property in $run.details.PSObject.Properties) { $details[$property.Name] = $property.Value }
    $details.task = [ordered]@{ name = $TaskName; user = $TaskUser; last_result = $info.LastTaskResult }
    @{ changed = [bool]$run.changed; details = $details }
}
