<#
.SYNOPSIS
    Opens the inbound ports a Windows Kubernetes node needs.
.DESCRIPTION
    Always: rule "ContainerLogsPort", inbound TCP 10250 (kubelet, container
    logs). With -IncludeVxlan: rule "OverlayTraffic4789UDP", inbound UDP 4789
    (Flannel VXLAN overlay). Rules are found by DisplayName, the way WMCO's
    documented New-NetFirewallRule -DisplayName command creates them (their
    Name is a GUID), and every rule of that DisplayName is brought to Allow,
    enabled, profile Any, edge traversal Allow. Writes a JSON result to
    -ResultPath (see README.md) and exits 1 on failure.
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
    $wanted = @(@{ display_name = 'ContainerLogsPort'; protocol = 'TCP'; port = 10250 })
    if ($IncludeVxlan) { $wanted += @{ display_name = 'OverlayTraffic4789UDP'; protocol = 'UDP'; port = 4789 } }

    $changed = $false
    foreach ($w in $wanted) {
        if (Set-GildInboundRule $w.display_name $w.protocol $w.port) { $changed = $true }
    }
    $rules = @(foreach ($w in $wanted) {
            Get-NetFirewallRule -DisplayName $w.display_name | ForEach-Object { Get-GildFirewallRuleState $_ }
        })

    @{ changed = $changed; details = ([ordered]@{ rules = $rules }) }
}
