<#
.SYNOPSIS
    Installs the administrators' SSH public key(s) WMCO logs in with.
.DESCRIPTION
    Reads the public key(s) from -PublicKeyPath (a file the caller uploaded;
    keys never travel on the command line), validates them, writes
    C:\ProgramData\ssh\administrators_authorized_keys in ASCII (OpenSSH
    silently ignores the UTF-16 file PowerShell's `>` produces) and restricts
    its ACL to Administrators and SYSTEM. Writes a JSON result to -ResultPath
    (see README.md) and exits 1 on failure.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$PublicKeyPath,
    [Parameter(Mandatory = $true)]
    [string]$ResultPath
)
# Stop first, so a missing gild-common.ps1 fails the script (exit 1).
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'gild-common.ps1')

Invoke-GildScript $ResultPath 'set-authorized-key' {
    $sshDir = Join-Path $env:ProgramData 'ssh'
    if (-not (Test-Path -LiteralPath $sshDir -PathType Container)) {
        throw "$sshDir does not exist: OpenSSH server is not installed (run install-openssh.ps1 first)"
    }
    # Get-Content detects a UTF-16 or UTF-8 byte-order mark.
    $lines = @(Get-Content -LiteralPath $PublicKeyPath | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    if ($lines.Count -eq 0) { throw "the public key file $PublicKeyPath is empty" }
    $text = $lines -join "`r`n"
    if ($text -match '[^\x00-\x7F]') { throw 'the public key file contains non-ASCII characters; OpenSSH ignores such files' }

    $keyTypes = 'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'
    $sha256 = [Security.Cryptography.SHA256]::Create()
    $fingerprints = @(for ($i = 0; $i -lt $lines.Count; $i++) {
            $fields = $lines[$i] -split '\s+'
            if ($fields[0] -notin $keyTypes) {
                throw "line $($i + 1) of the key file: '$($fields[0])' is not an OpenSSH public key type (expected one of $($keyTypes -join ', '))"
            }
            try { $blob = [Convert]::FromBase64String($fields[1]) } catch { throw "line $($i + 1) of the key file: the key data is not base64" }
            'SHA256:' + [Convert]::ToBase64String($sha256.ComputeHash($blob)).TrimEnd('=')
        })

    $target = Join-Path $sshDir 'administrators_authorized_keys'
    $content = $text + "`r`n"
    $changed = -not (Test-Path -LiteralPath $target) -or ([IO.File]::ReadAllText($target) -ne $content)
    [IO.File]::WriteAllText($target, $content, [Text.Encoding]::ASCII)

    $aclBefore = (Get-GildAclSummary $target) -join ';'
    # /reset drops any explicit entries, /inheritance:r the inherited ones
    # (which include Users), then only the two grants remain.
    icacls.exe $target /reset | Out-Null
    icacls.exe $target /inheritance:r /grant 'Administrators:F' /grant 'SYSTEM:F' | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls failed on $target with exit code $LASTEXITCODE" }
    $acl = Get-GildAclSummary $target
    if (($acl -join ';') -ne $aclBefore) { $changed = $true }

    @{ changed = $changed; details = ([ordered]@{
            path         = $target
            encoding     = 'ascii'
            key_count    = $lines.Count
            fingerprints = $fingerprints
            acl          = $acl
        }) }
}
