"""``install.sh`` end to end in a fresh HOME: install, status, re-run, uninstall.

What is real: the script, Python detection, the environment check, the link on PATH, the
spaCy check, ``openclaw onboard --install-daemon --non-interactive`` with the fallback to a
background gateway, ``gateway status``, idempotence and ``--uninstall``.

What is not: ``pip install``. Building and installing OpenClaw and its dependencies into a
new venv needs the package index and about a minute, so this test pre-builds the venv the
way a finished install leaves it (a venv whose site-packages point at this interpreter's, an
``openclaw`` script, and the install stamp install.sh writes) and install.sh then finds it
"already installed from the same sources". The pip step is covered by running
``HOME=$(mktemp -d) ./install.sh`` for real (docs/onboarding.md, "Testing the installer").

``systemctl`` and ``launchctl`` are shadowed on PATH by scripts that fail like a machine
without a user session, so the test never installs a real unit on a developer's machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _checkout(dest: Path) -> Path:
    """A still copy of what install.sh installs from: the real checkout may change while the
    test runs (other work in progress), and the stamp with it."""
    dest.mkdir()
    for name in ("install.sh", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(
        REPO / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    return dest


def _stamp(checkout: Path, dev: int = 0) -> str:
    """The stamp install.sh computes, from its own functions (so the two cannot drift)."""
    prog = (
        "eval \"$(sed -n '/^sha()/,/^}/p;/^source_stamp()/,/^}/p' install.sh)\"; "
        f"SRC={checkout}; DEV={dev}; source_stamp"
    )
    out = subprocess.run(
        ["bash", "-c", prog], cwd=checkout, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _prebuilt_venv(venv: Path, checkout: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = sysconfig.get_paths()["purelib"]
    site = next((venv / "lib").glob("python3*/site-packages"))
    # addsitedir, not a bare path: this interpreter's own .pth files (an editable install of
    # OpenClaw among them) must be processed too.
    (site / "openclaw-test-deps.pth").write_text(f"import site; site.addsitedir({purelib!r})\n")
    script = venv / "bin" / "openclaw"
    script.write_text(
        f"#!{venv}/bin/python\nimport sys\nfrom openclaw.cli import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    (venv / ".openclaw-install").write_text(_stamp(checkout) + "\n")


def _no_service_managers(bindir: Path) -> None:
    bindir.mkdir()
    for name in ("systemctl", "launchctl"):
        p = bindir / name
        p.write_text("#!/bin/sh\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n")
        p.chmod(0o755)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns), leaving out bytecode caches and the daemon's own log."""
    out = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if "__pycache__" in rel or rel.startswith(".openclaw/logs"):
            continue
        st = p.lstat()
        out[rel] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return _checkout(tmp_path / "checkout")


@pytest.fixture
def fresh_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir()
    fakebin = tmp_path / "fakebin"
    _no_service_managers(fakebin)
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join(
            [str(fakebin), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
        ),
        "OPENCLAW_PORT": str(_free_port()),
        "OPENCLAW_PYTHON": sys.executable,
        "OPENCLAW_NO_PIPX": "1",
        # Should the stamp ever mismatch, pip must fail here rather than reach the network.
        "OPENCLAW_PIP_ARGS": "--no-index",
        "LANG": "C.UTF-8",
    }
    return home, env


def run(checkout: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(checkout / "install.sh"), *args],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=240,
    )


def test_install_leaves_a_running_gateway_is_idempotent_and_uninstall_keeps_config(
    fresh_home: tuple[Path, dict[str, str]], checkout: Path
) -> None:
    home, env = fresh_home
    venv = home / ".openclaw" / "venv"
    _prebuilt_venv(venv, checkout)
    link = home / ".local" / "bin" / "openclaw"
    try:
        first = run(checkout, env)
        out = first.stdout + first.stderr
        assert first.returncode == 0, out
        assert "already installed from the same sources" in out
        assert out.count("No service manager found") == 1
        assert f"note: {home}/.local/bin is not on your PATH" in out
        assert "OpenClaw is installed and the gateway is running" in out
        assert link.is_symlink() and os.readlink(link) == str(venv / "bin" / "openclaw")
        status = subprocess.run(
            [str(link), "gateway", "status"], env=env, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "no service manager" in status.stdout
        models = (home / ".openclaw" / "models.yaml").read_text()

        before = _tree(home)
        second = run(checkout, env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "OpenClaw gateway is already running" in second.stdout
        assert _tree(home) == before

        gone = run(checkout, env, "--uninstall")
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert not venv.exists() and not link.exists()
        for kept in ("models.yaml", "policies.yaml", "channels.yaml", "gateway.token"):
            assert (home / ".openclaw" / kept).exists(), kept
        assert (home / ".openclaw" / "models.yaml").read_text() == models
        assert not (home / ".openclaw" / "gateway.pid").exists()
        assert "kept your configuration" in gone.stdout
    finally:
        if (venv / "bin" / "openclaw").exists():
            subprocess.run(
                [str(venv / "bin" / "openclaw"), "gateway", "stop"], env=env, capture_output=True
            )


def test_unknown_option_is_refused_with_a_pointer_to_help(
    fresh_home: tuple[Path, dict[str, str]], checkout: Path
) -> None:
    _home, env = fresh_home
    result = run(checkout, env, "--frobnicate")
    assert result.returncode == 1
    assert "unknown option '--frobnicate'" in result.stderr
