<#
.SYNOPSIS
    Prepares a Kubernetes Windows node with Flannel VXLAN (seed 004) in C:\k.
.DESCRIPTION
    Takes kubelet.exe, kube-proxy.exe, flanneld.exe, the Microsoft SDN
    start.ps1 and the CNI plugins (cni\flannel.exe, cni\host-local.exe,
    cni\win-overlay.exe) from -SourceDir, a folder the pipeline uploaded with
    its SHA256SUMS; checks every file against it, copies them into C:\k and
    checks the copies again. Opens inbound UDP 4789 (rule
    OverlayTraffic4789UDP) for the VXLAN overlay. Saves the seed's start.ps1
    invocation as C:\k\start-node.ps1 with -ClusterCIDR, -ServiceCIDR and
    -KubeDnsServiceIP filled in; -ManagementIP is the clone's own address, so
    start-node.ps1 reads it when it runs. -KubeconfigPath (optional) is copied
    to C:\k\config, but an admin kubeconfig (kubeadm's kubernetes-admin user,
    or a client certificate in system:masters / kubeadm:cluster-admins) is
    refused unless -AllowAdminKubeconfig is given: every clone of the image
    would carry cluster-admin credentials. Idempotent. Writes a JSON result
    to -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$SourceDir,
    [Parameter(Mandatory = $true)]
    [string]$ClusterCIDR,
    [Parameter(Mandatory = $true)]
    [string]$ServiceCIDR,
    [Parameter(Mandatory = $true)]
    [string]$KubeDnsServiceIP,
    [string]$InterfaceName = 'Ethernet',
    [string]$KubeconfigPath = '',
    [switch]$AllowAdminKubeconfig,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

$InstallDir = 'C:\k'
$Required = @('kubelet.exe', 'kube-proxy.exe', 'flanneld.exe', 'start.ps1', 'cni\flannel.exe', 'cni\host-local.exe', 'cni\win-overlay.exe')

function ConvertTo-Number([Net.IPAddress]$Address) {
    $bytes = $Address.GetAddressBytes()
    [double](((([uint64]$bytes[0] * 256) + $bytes[1]) * 256 + $bytes[2]) * 256 + $bytes[3])
}

# An IPv4 CIDR as the first address and the block size.
function ConvertTo-Cidr([string]$Text, [string]$Name) {
    if ($Text -notmatch '^(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2})$' -or [int]$Matches[2] -gt 32) {
        throw "-$Name '$Text' is not an IPv4 CIDR like 10.244.0.0/16"
    }
    $size = [math]::Pow(2, 32 - [int]$Matches[2])
    $address = ConvertTo-Number ([Net.IPAddress]::Parse($Matches[1]))
    @{ first = [math]::Floor($address / $size) * $size; size = $size }
}

function Test-InCidr([double]$Address, $Cidr) {
    $Address -ge $Cidr.first -and $Address -lt $Cidr.first + $Cidr.size
}

# Why a kubeconfig holds cluster-admin credentials, if it does.
function Get-AdminReasons([string]$Text) {
    $reasons = @()
    if ($Text -match '(?m)^\s*(?:-\s+)?name:\s*["'']?kubernetes-admin\b') { $reasons += 'user kubernetes-admin (kubeadm admin.conf)' }
    foreach ($m in [regex]::Matches($Text, 'client-certificate-data:\s*["'']?([A-Za-z0-9+/=]+)')) {
        $pem = [Text.Encoding]::ASCII.GetString([Convert]::FromBase64String($m.Groups[1].Value))
        $der = [Convert]::FromBase64String(($pem -replace '-----[A-Z ]+-----', '' -replace '\s', ''))
        $subject = [Security.Cryptography.X509Certificates.X509Certificate2]::new($der).Subject
        if ($subject -match 'O=(system:masters|kubeadm:cluster-admins)') { $reasons += "client certificate $subject" }
    }
    $reasons
}

Invoke-GildScript $ResultPath 'install-kubernetes-node' {
    $cluster = ConvertTo-Cidr $ClusterCIDR 'ClusterCIDR'
    $service = ConvertTo-Cidr $ServiceCIDR 'ServiceCIDR'
    if ((Test-InCidr $cluster.first $service) -or (Test-InCidr $service.first $cluster)) {
        throw "-ClusterCIDR $ClusterCIDR and -ServiceCIDR $ServiceCIDR overlap"
    }
    $dns = [Net.IPAddress]::None
    if (-not [Net.IPAddress]::TryParse($KubeDnsServiceIP, [ref]$dns) -or $dns.AddressFamily -ne 'InterNetwork' -or
        -not (Test-InCidr (ConvertTo-Number $dns) $service)) {
        throw "-KubeDnsServiceIP $KubeDnsServiceIP is not an IPv4 address inside -ServiceCIDR $ServiceCIDR"
    }

    $kubeconfig = [ordered]@{ path = $null; admin = $false; reasons = @(); copied = $false }
    if ($KubeconfigPath) {
        $text = Get-Content -LiteralPath $KubeconfigPath -Raw
        $reasons = @(Get-AdminReasons $text)
        $kubeconfig.reasons = $reasons
        $kubeconfig.admin = $reasons.Count -gt 0
        if ($kubeconfig.admin -and -not $AllowAdminKubeconfig) {
            throw "$KubeconfigPath is an admin kubeconfig ($($reasons -join '; ')): every clone of this image would carry cluster-admin credentials. Give nodes their own bootstrap credentials, or pass -AllowAdminKubeconfig to copy it anyway"
        }
    }

    $changed = $false
    $verified = Test-GildManifest $SourceDir $Required
    New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
    $binaries = @(foreach ($file in $verified) {
            $target = Join-Path $InstallDir $file.file
            $current = if (Test-Path -LiteralPath $target) { (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash.ToLowerInvariant() } else { $null }
            if ($current -ne $file.sha256) {
                New-Item -ItemType Directory -Force -Path (Split-Path -Parent $target) | Out-Null
                Copy-Item -LiteralPath (Join-Path $SourceDir $file.file) -Destination $target -Force
                $changed = $true
            }
            $copied = (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash.ToLowerInvariant()
            if ($copied -ne $file.sha256) { throw "$target has SHA-256 $copied after copying, SHA256SUMS says $($file.sha256)" }
            [ordered]@{ name = $file.file; path = $target; sha256 = $copied; size = $file.size }
        })

    if ($KubeconfigPath) {
        $target = Join-Path $InstallDir 'config'
        $wanted = [IO.File]::ReadAllBytes($KubeconfigPath)
        $have = if (Test-Path -LiteralPath $target) { [IO.File]::ReadAllBytes($target) } else { $null }
        if ($null -eq $have -or [Convert]::ToBase64String($have) -ne [Convert]::ToBase64String($wanted)) {
            [IO.File]::WriteAllBytes($target, $wanted)
            $changed = $true
        }
        $kubeconfig.path = $target
        $kubeconfig.copied = $true
    }

    if (Set-GildInboundRule 'OverlayTraffic4789UDP' 'UDP' 4789) { $changed = $true }
    $rules = @(Get-NetFirewallRule -DisplayName 'OverlayTraffic4789UDP' | ForEach-Object { Get-GildFirewallRuleState $_ })

    $command = ".\start.ps1 -ManagementIP `$ManagementIP -NetworkMode overlay -ClusterCIDR $ClusterCIDR -ServiceCIDR $ServiceCIDR " +
    "-KubeDnsServiceIP $KubeDnsServiceIP -InterfaceName '$InterfaceName' -LogDir '$InstallDir'"
    $lines = @(
        "# Written by gild (install-kubernetes-node.ps1): the seed's start.ps1 invocation.",
        '# ManagementIP is the address of the clone this runs on, so it is read now.',
        "`$ManagementIP = (Get-NetIPAddress -InterfaceAlias '$InterfaceName' -AddressFamily IPv4 | Select-Object -First 1).IPAddress",
        "Set-Location '$InstallDir'",
        $command
    )
    $startNode = Join-Path $InstallDir 'start-node.ps1'
    $content = ($lines -join "`r`n") + "`r`n"
    $existing = if (Test-Path -LiteralPath $startNode) { [IO.File]::ReadAllText($startNode) } else { $null }
    if ($existing -ne $content) {
        [IO.File]::WriteAllText($startNode, $content, [Text.UTF8Encoding]::new($false))
        $changed = $true
    }

    @{ changed = $changed; details = ([ordered]@{
            install_dir         = $InstallDir
            binaries            = $binaries
            firewall_rules      = $rules
            start_script        = [ordered]@{ path = $startNode; command = $command }
            cluster_cidr        = $ClusterCIDR
            service_cidr        = $ServiceCIDR
            kube_dns_service_ip = $KubeDnsServiceIP
            kubeconfig          = $kubeconfig
        }) }
}
