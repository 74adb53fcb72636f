<#
.SYNOPSIS
    Resolves DNS names from inside the guest (api-int.<cluster>.<domain>).
.DESCRIPTION
    WMCO's Windows nodes fetch Ignition from api-int.<cluster>.<base
    domain>, so that name must resolve from the Windows VM itself, through
    its own DNS servers. -Names is a comma-separated list (`-File` passes an
    array as one string). Each name is resolved with Resolve-DnsName
    -DnsOnly (no LLMNR/NetBIOS fallback, which would hide a missing DNS
    record) and reported with its addresses, the CNAME it went through, or
    the error. A name that does not resolve is a result, not a failure: the
    caller decides which names it needs. Writes a JSON result to -ResultPath
    (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$Names,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'resolve-names' {
    $list = @($Names -split '[,\s]+' | Where-Object { $_ })
    if ($list.Count -eq 0) { throw '-Names lists no names' }
    foreach ($name in $list) {
        if ($name -notmatch '^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$') {
            throw "'$name' is not a DNS name"
        }
    }
    $results = @(foreach ($name in $list) {
            try {
                $records = @(Resolve-DnsName -Name $name -DnsOnly -ErrorAction Stop)
                $addresses = @($records | Where-Object { "$($_.Type)" -in 'A', 'AAAA' } | ForEach-Object { $_.IPAddress })
                $cnames = @($records | Where-Object { "$($_.Type)" -eq 'CNAME' } | ForEach-Object { $_.NameHost })
                [ordered]@{
                    name      = $name
                    addresses = $addresses
                    cname     = $(if ($cnames.Count -gt 0) { $cnames[-1] } else { $null })
                    error     = $(if ($addresses.Count -gt 0) { $null } else { 'no A or AAAA record' })
                }
            } catch {
                [ordered]@{ name = $name; addresses = @(); cname = $null; error = $_.Exception.Message }
            }
        })
    $resolved = @($results | Where-Object { $_.addresses.Count -gt 0 }).Count

    @{ changed = $false; details = ([ordered]@{ names = $results; resolved = $resolved; unresolved = $results.Count - $resolved }) }
}
