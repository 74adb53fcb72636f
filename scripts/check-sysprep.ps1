<#
.SYNOPSIS
    Checks what would make sysprep /generalize fail or ship a bad template.
.DESCRIPTION
    Changes nothing. Before sysprep: no reboot pending (sysprep refuses to
    run while one is); no AppX package installed for a user but not
    provisioned for all users (generalize fails with "Package ... was
    installed for a user, but not provisioned for all users"); a rearm left,
    unless the answer file sets SkipRearm to 1 (generalize spends one of the
    image's rearms and fails with 0xc004d307 once none are left); the answer
    file at -UnattendPath present and well-formed XML; no OpenSSH host keys
    left in C:\ProgramData\ssh (every clone would share them; see
    prepare-sysprep.ps1); the image not already generalized. The result is a
    success with `ready` and the list of `problems`, so the caller sees every
    problem at once. Writes a JSON result to -ResultPath (see README.md) and
    exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$UnattendPath,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'check-sysprep' {
    $problems = @()

    $rebootSources = Get-GildRebootPending
    if ($rebootSources.Count -gt 0) {
        $problems += "a reboot is pending ($($rebootSources -join ', ')); sysprep will not run until it has happened"
    }

    $blocking = @()
    if (Get-Command -Name Get-AppxPackage -ErrorAction SilentlyContinue) {
        $provisioned = @(Get-AppxProvisionedPackage -Online | ForEach-Object { $_.PackageName })
        $blocking = @(Get-AppxPackage -AllUsers |
                Where-Object { -not $_.IsFramework -and "$($_.SignatureKind)" -ne 'System' -and $_.PackageFullName -notin $provisioned } |
                ForEach-Object {
                    [ordered]@{
                        name              = $_.Name
                        package_full_name = $_.PackageFullName
                        users             = @($_.PackageUserInformation | ForEach-Object { "$($_.UserSecurityId.Username)" })
                    }
                })
        foreach ($package in $blocking) {
            $problems += "AppX package $($package.package_full_name) is installed for $($package.users -join ', ') but not provisioned for all users; remove it (Remove-AppxPackage -AllUsers) before sysprep"
        }
    }

    $unattendExists = Test-Path -LiteralPath $UnattendPath -PathType Leaf
    $wellFormed = $false
    $skipRearm = $false
    if ($unattendExists) {
        try {
            $xml = [xml](Get-Content -LiteralPath $UnattendPath -Raw)
            $wellFormed = $true
            $skipRearm = @($xml.GetElementsByTagName('SkipRearm') | Where-Object { $_.InnerText.Trim() -eq '1' }).Count -gt 0
        } catch {
            $problems += "the answer file $UnattendPath is not well-formed XML: $($_.Exception.Message)"
        }
    } else {
        $problems += "the answer file $UnattendPath does not exist"
    }

    $rearms = [int](Get-CimInstance -ClassName SoftwareLicensingService).RemainingWindowsReArmCount
    if ($rearms -lt 1 -and -not $skipRearm) {
        $problems += 'no rearm is left (RemainingWindowsReArmCount 0) and the answer file does not set SkipRearm to 1: generalize would fail with 0xc004d307'
    }

    $sshDir = Join-Path $env:ProgramData 'ssh'
    $hostKeys = @(Get-GildHostKeyNames)
    if ($hostKeys.Count -gt 0) {
        $problems += "OpenSSH host keys are still in ${sshDir} ($($hostKeys -join ', ')): every clone would share them; run prepare-sysprep.ps1 first"
    }

    $imageState = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State').ImageState
    if ($imageState -ne 'IMAGE_STATE_COMPLETE') {
        $problems += "the image state is $imageState, not IMAGE_STATE_COMPLETE: it was already generalized or setup did not finish"
    }

    @{ changed = $false; details = ([ordered]@{
            ready                  = $problems.Count -eq 0
            problems               = $problems
            reboot_pending         = $rebootSources.Count -gt 0
            reboot_pending_sources = $rebootSources
            appx_blocking          = $blocking
            rearm                  = [ordered]@{ remaining = $rearms; skip_rearm = $skipRearm }
            unattend               = [ordered]@{ path = $UnattendPath; exists = $unattendExists; well_formed = $wellFormed }
            ssh_host_keys          = $hostKeys
            image_state            = $imageState
        }) }
}
