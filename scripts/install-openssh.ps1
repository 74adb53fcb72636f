<#
.SYNOPSIS
    Installs and enables the OpenSSH server for WMCO / Kubernetes node access.
.DESCRIPTION
    Adds the OpenSSH.Server capability, sets sshd and ssh-agent to start
    automatically and starts them, opens inbound TCP 22 and enforces key-only
    logins. Idempotent. Writes a JSON result to -ResultPath (see README.md)
    and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'install-openssh' {
    $changed = $false
    $capability = 'OpenSSH.Server~~~~0.0.1.0'
    if ((Get-WindowsCapability -Online -Name $capability).State -ne 'Installed') {
        Add-WindowsCapability -Online -Name $capability | Out-Null
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
        }) }
}
