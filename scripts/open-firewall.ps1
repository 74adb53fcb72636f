<#
.SYNOPSIS
    Opens the inbound ports a Windows Kubernetes node needs.
.DESCRIPTION
    Always: rule "ContainerLogsPort", inbound TCP 10250 (kubelet, container
    logs). With -IncludeVxlan: rule "OverlayTraffic4789UDP", inbound UDP 4789
    (Flannel VXLAN overlay). Existing rules of those names are brought to
    that state. Writes a JSON result to -ResultPath (see README.md) and exits
    1 on failure.
#>
[CmdletBinding()]
param(
    [switch]$IncludeVxlan,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'open-firewall' {
    $wanted = @(@{ name = 'ContainerLogsPort'; protocol = 'TCP'; port = 10250 })
    if ($IncludeVxlan) { $wanted += @{ name = 'OverlayTraffic4789UDP'; protocol = 'UDP'; port = 4789 } }

    $changed = $false
    $rules = foreach ($w in $wanted) {
        $rule = Get-NetFirewallRule -Name $w.name -ErrorAction SilentlyContinue
        if ($null -eq $rule) {
            New-NetFirewallRule -Name $w.name -DisplayName $w.name -Direction Inbound -Protocol $w.protocol `
                -LocalPort $w.port -Action Allow -Enabled True | Out-Null
            $changed = $true
        } else {
            $filter = $rule | Get-NetFirewallPortFilter
            if ("$($rule.Enabled)" -ne 'True' -or "$($rule.Direction)" -ne 'Inbound' -or
                "$($filter.Protocol)" -ne $w.protocol -or "$($filter.LocalPort)" -ne "$($w.port)") {
                Set-NetFirewallRule -Name $w.name -Direction Inbound -Protocol $w.protocol -LocalPort $w.port -Enabled True
                $changed = $true
            }
        }
        [ordered]@{ name = $w.name; protocol = $w.protocol; local_port = $w.port; direction = 'Inbound'; enabled = $true }
    }

    @{ changed = $changed; details = ([ordered]@{ rules = @($rules) }) }
}
