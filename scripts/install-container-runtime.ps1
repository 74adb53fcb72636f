<#
.SYNOPSIS
    Enables the Containers feature and, optionally, a container runtime.
.DESCRIPTION
    -Runtime docker: Docker Engine (what the WMCO 4.9 seed uses);
    -Runtime containerd: containerd registered as a service;
    -Runtime none: only the Containers feature (current WMCO installs
    containerd itself). Enabling the feature needs a reboot: the result says
    so in reboot_required, and a runtime service installed before that reboot
    is set to Automatic but stays stopped until it.
    The runtime archive is downloaded (TLS 1.2, through the machine's WinHTTP
    proxy when one is set) or, with -SourceDir, taken from a folder the
    pipeline uploaded, after checking it against that folder's SHA256SUMS
    (for air-gapped vCenters). Idempotent. Writes a JSON result to
    -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet('docker', 'containerd', 'none')]
    [string]$Runtime,
    [string]$SourceDir = '',
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

$DockerVersion = '24.0.7'
$ContainerdVersion = '1.7.22'
$Archives = @{
    docker     = @{ file = "docker-$DockerVersion.zip"; url = "https://download.docker.com/win/static/stable/x86_64/docker-$DockerVersion.zip" }
    containerd = @{ file = "containerd-$ContainerdVersion-windows-amd64.tar.gz"
        url = "https://github.com/containerd/containerd/releases/download/v$ContainerdVersion/containerd-$ContainerdVersion-windows-amd64.tar.gz" }
}

# The WinHTTP proxy (netsh winhttp set proxy) is the machine-wide proxy;
# Windows PowerShell 5.1's Invoke-WebRequest only follows the per-user
# WinINet settings, which a guest-operations logon does not have. The
# WinHttpSettings value: DWORD size, DWORD counter, DWORD flags (2 = a proxy
# is set), DWORD length and the proxy list, then the bypass list.
function Get-GildWinHttpProxy {
    $key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections'
    $item = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
    if ($null -eq $item -or $null -eq $item.PSObject.Properties['WinHttpSettings']) { return $null }
    $blob = [byte[]]$item.WinHttpSettings
    if ($blob.Length -lt 16 -or ([BitConverter]::ToUInt32($blob, 8) -band 2) -eq 0) { return $null }
    $length = [BitConverter]::ToUInt32($blob, 12)
    if ($length -eq 0 -or 16 + $length -gt $blob.Length) { return $null }
    $list = [Text.Encoding]::ASCII.GetString($blob, 16, $length)
    # "host:port" for every scheme, or "http=host:port;https=host:port".
    $entries = @($list -split ';' | Where-Object { $_ })
    if ($entries.Count -eq 0) { return $null }
    $https = @($entries | Where-Object { $_ -match '^https=' })
    $plain = @($entries | Where-Object { $_ -notmatch '=' })
    $proxy = if ($https.Count -gt 0) { $https[0].Substring(6) } elseif ($plain.Count -gt 0) { $plain[0] } else { $entries[0] -replace '^[^=]+=', '' }
    "http://$proxy"
}

function Save-GildDownload([string]$Uri, [string]$OutFile) {
    $request = @{ Uri = $Uri; OutFile = $OutFile; UseBasicParsing = $true }
    $proxy = Get-GildWinHttpProxy
    if ($proxy) {
        $request.Proxy = $proxy
        $request.ProxyUseDefaultCredentials = $true
    }
    Invoke-WebRequest @request
}

# Returns the archive to install from and what was checked about it.
function Get-RuntimeArchive([string]$Name, [string]$Tmp) {
    $archive = $Archives[$Name]
    if ($SourceDir) {
        $verified = Test-GildManifest $SourceDir @($archive.file)
        return @{ path = (Join-Path $SourceDir $archive.file); source = 'local'; files = $verified }
    }
    $path = Join-Path $Tmp $archive.file
    Save-GildDownload $archive.url $path
    $hash = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
    @{ path = $path; source = 'download'; files = @([ordered]@{ file = $archive.file; sha256 = $hash; size = (Get-Item -LiteralPath $path).Length }) }
}

function Install-Runtime([string]$Name) {
    $tmp = Join-Path $env:TEMP "gild-$Name"
    New-Item -ItemType Directory -Force -Path $tmp | Out-Null
    $archive = Get-RuntimeArchive $Name $tmp
    if ($Name -eq 'docker') {
        Expand-Archive -Path $archive.path -DestinationPath $env:ProgramFiles -Force
        $exe = Join-Path $env:ProgramFiles 'docker\dockerd.exe'
    } else {
        $dest = Join-Path $env:ProgramFiles 'containerd'
        New-Item -ItemType Directory -Force -Path $dest | Out-Null
        tar.exe -xzf $archive.path -C $dest --strip-components 1
        if ($LASTEXITCODE -ne 0) { throw "tar failed to extract containerd with exit code $LASTEXITCODE" }
        $exe = Join-Path $dest 'containerd.exe'
    }
    & $exe --register-service
    if ($LASTEXITCODE -ne 0) { throw "$exe --register-service failed with exit code $LASTEXITCODE" }
    Remove-Item -Recurse -Force $tmp
    $archive
}

Invoke-GildScript $ResultPath 'install-container-runtime' {
    $changed = $false
    $state = "$((Get-WindowsFeature -Name Containers).InstallState)"
    if ($state -ne 'Installed' -and $state -ne 'InstallPending') {
        Install-WindowsFeature -Name Containers | Out-Null
        $changed = $true
        $state = "$((Get-WindowsFeature -Name Containers).InstallState)"
    }

    $service = $null
    $source = 'none'
    $files = @()
    if ($Runtime -ne 'none') {
        if ($null -eq (Get-Service -Name $Runtime -ErrorAction SilentlyContinue)) {
            $archive = Install-Runtime $Runtime
            $source = $archive.source
            $files = @($archive.files)
            $changed = $true
        } else {
            $source = 'already_installed'
        }
        if ("$((Get-Service -Name $Runtime).StartType)" -ne 'Automatic') {
            Set-Service -Name $Runtime -StartupType Automatic
            $changed = $true
        }
        # The runtime cannot start before the Containers feature is active.
        if ($state -eq 'Installed' -and "$((Get-Service -Name $Runtime).Status)" -ne 'Running') {
            Start-Service -Name $Runtime
            $changed = $true
        }
        $service = Get-GildServiceState $Runtime
    }

    @{ changed = $changed; details = ([ordered]@{
            runtime            = $Runtime
            containers_feature = $state
            service            = $service
            reboot_required    = [bool](Test-GildRebootPending)
            source             = $source
            files              = $files
        }) }
}
