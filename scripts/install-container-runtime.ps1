<#
.SYNOPSIS
    Enables the Containers feature and, optionally, a container runtime.
.DESCRIPTION
    -Runtime docker: Docker Engine (what the WMCO 4.9 seed uses);
    -Runtime containerd: containerd registered as a service;
    -Runtime none: only the Containers feature (current WMCO installs
    containerd itself). Enabling the feature needs a reboot: the result says
    so in reboot_required, and a runtime service installed before that reboot
    is set to Automatic but stays stopped until it. Idempotent. Writes a JSON
    result to -ResultPath (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet('docker', 'containerd', 'none')]
    [string]$Runtime,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

$DockerVersion = '24.0.7'
$ContainerdVersion = '1.7.22'

function Install-Runtime([string]$Name) {
    $tmp = Join-Path $env:TEMP "gild-$Name"
    New-Item -ItemType Directory -Force -Path $tmp | Out-Null
    if ($Name -eq 'docker') {
        $archive = Join-Path $tmp 'docker.zip'
        Invoke-WebRequest -UseBasicParsing -OutFile $archive "https://download.docker.com/win/static/stable/x86_64/docker-$DockerVersion.zip"
        Expand-Archive -Path $archive -DestinationPath $env:ProgramFiles -Force
        $exe = Join-Path $env:ProgramFiles 'docker\dockerd.exe'
    } else {
        $archive = Join-Path $tmp 'containerd.tar.gz'
        Invoke-WebRequest -UseBasicParsing -OutFile $archive `
            "https://github.com/containerd/containerd/releases/download/v$ContainerdVersion/containerd-$ContainerdVersion-windows-amd64.tar.gz"
        $dest = Join-Path $env:ProgramFiles 'containerd'
        New-Item -ItemType Directory -Force -Path $dest | Out-Null
        tar.exe -xzf $archive -C $dest --strip-components 1
        if ($LASTEXITCODE -ne 0) { throw "tar failed to extract containerd with exit code $LASTEXITCODE" }
        $exe = Join-Path $dest 'containerd.exe'
    }
    & $exe --register-service
    if ($LASTEXITCODE -ne 0) { throw "$exe --register-service failed with exit code $LASTEXITCODE" }
    Remove-Item -Recurse -Force $tmp
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
    if ($Runtime -ne 'none') {
        if ($null -eq (Get-Service -Name $Runtime -ErrorAction SilentlyContinue)) {
            Install-Runtime $Runtime
            $changed = $true
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
        $s = Get-Service -Name $Runtime
        $service = [ordered]@{ name = $s.Name; status = "$($s.Status)"; start_type = "$($s.StartType)" }
    }

    @{ changed = $changed; details = ([ordered]@{
            runtime            = $Runtime
            containers_feature = $state
            service            = $service
            reboot_required    = [bool](Test-GildRebootPending)
        }) }
}
