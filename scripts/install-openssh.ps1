<#
.SYNOPSIS
    Installs and enables the OpenSSH server for WMCO / Kubernetes node access.
.DESCRIPTION
    Adds the OpenSSH.Server capability, sets sshd and ssh-agent to start
    automatically and starts them (sshd's first start creates its host keys
    in C:\ProgramData\ssh), opens inbound TCP 22 and enforces key-only
    logins. The capability comes from Windows Update, or with -SourceDir from
    a Features on Demand folder the pipeline uploaded (checked against its
    SHA256SUMS, installed with -LimitAccess so Windows Update is never
    asked). Idempotent. Writes a JSON result to -ResultPath (see README.md)
    and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [string]$SourceDir = '',
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'install-openssh' {
    $changed = $false
    $capability = 'OpenSSH.Server~~~~0.0.1.0'
    $source = 'already_installed'
    $verified = @()
    if ((Get-WindowsCapability -Online -Name $capability).State -ne 'Installed') {
        if ($SourceDir) {
            $verified = Test-GildManifest $SourceDir @('OpenSSH-Server-Package~31bf3856ad364e35~amd64~~.cab')
            Add-WindowsCapability -Online -Name $capability -Source $SourceDir -LimitAccess | Out-Null
            $source = 'local'
        } else {
            Add-WindowsCapability -Online -Name $capability | Out-Null
            $source = 'windows_update'
        }
        $changed = $true
    }
    foreach ($name in 'sshd', 'ssh-agent') {
        $svc = Get-Service -Name $name
        if ("$($svc.StartType)" -ne 'Automatic') { Set-Service -Name $name -StartupType Automatic; $changed = $true }
        if ("$($svc.Status)" -ne 'Running') { Start-Service -Name $name; $changed = $true }
    }

    $ruleName = 'OpenSSH-Server-In-TCP'
    $rule = Get-NetFirewallRule -Name $ruleName -ErrorAction SilentlyContinue
    if ($null -eq $rule) {
        New-NetFirewallRule -Name $ruleName -DisplayName 'OpenSSH Server (sshd)' -Enabled True -Direction Inbound `
            -Protocol TCP -LocalPort 22 -Action Allow | Out-Null
        $changed = $true
    } elseif ("$($rule.Enabled)" -ne 'True') {
        Enable-NetFirewallRule -Name $ruleName
        $changed = $true
    }

    # Key-only logins; administrators' keys live under ProgramData, which
    # (unlike the Administrator profile) survives sysprep.
    $config = Join-Path $env:ProgramData 'ssh\sshd_config'
    $wanted = @(
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'Subsystem sftp sftp-server.exe',
        'Match Group administrators',
        '       AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys'
    ) -join "`r`n"
    $wanted += "`r`n"
    $current = if (Test-Path -LiteralPath $config) { [IO.File]::ReadAllText($config) } else { $null }
    if ($current -ne $wanted) {
        [IO.File]::WriteAllText($config, $wanted, [Text.Encoding]::ASCII)
        Restart-Service -Name sshd -Force
        $changed = $true
    }

    @{ changed = $changed; details = ([ordered]@{
            capability              = $capability
            capability_state        = 'Installed'
            sshd                    = Get-GildServiceState 'sshd'
            ssh_agent               = Get-GildServiceState 'ssh-agent'
            firewall_rule           = $ruleName
            password_authentication = $false
            source                  = $source
            source_files            = $verified
            ssh_host_keys           = @(Get-GildHostKeyNames)
        }) }
}
