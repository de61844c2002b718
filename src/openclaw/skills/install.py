"""``skill install`` and ``skill remove``: copying a skill into the user's skills folder.

A source is a folder (one holding a SKILL.md, or a tree of them), an archive (``.zip``,
``.tar``, ``.tar.gz``/``.tgz``) or a git URL. It is first brought into a temporary folder:

- an archive is extracted member by member, refusing absolute paths, ``..``, links and
  device files, and stopping at :data:`MAX_BYTES` / :data:`MAX_FILES`;
- a git URL is cloned with ``git clone --depth 1`` (no submodules, no credential prompt;
  a clone runs none of the repository's hooks: hooks are never cloned).

Then discovery's own reader loads the skill (:func:`pick`: the only one in the source, or the
one named with ``--name``), and :func:`wants` lists what it asks of this machine: binaries,
environment variables, network, the install recipes it suggests (which OpenClaw never runs)
and the files that would be executed. The CLI prints that with lint and eligibility and asks
before :func:`install` copies the folder (regular files and folders only) to
``$OPENCLAW_HOME/skills/NAME``. Nothing from the skill runs at install time.

:func:`remove` deletes a skill from ``$OPENCLAW_HOME/skills`` only: shipped skills and those of
``extra_dirs`` are not the user's installs, and the message says where they come from.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from openclaw.errors import Conflict, InvalidRequest
from openclaw.skills.discovery import Skill, candidates, discover, load_skill
from openclaw.skills.errors import SkillNotFound
from openclaw.skills.lint import interpreter_for
from openclaw.skills.names import check_name

MAX_BYTES = 50 * 1024 * 1024  # an archive's unpacked size, at most
MAX_FILES = 5000
GIT_TIMEOUT = 120.0
_GIT_PREFIXES = ("https://", "http://", "ssh://", "git://", "git@", "file://")


def is_git_url(source: str) -> bool:
    return source.startswith(_GIT_PREFIXES) or source.endswith(".git")


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise InvalidRequest(f"archive member '{name}' leaves the archive; refusing to extract")
    return path


def extract(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into ``dest`` (regular files and folders only, bounded)."""
    total = count = 0

    def budget(size: int) -> None:
        nonlocal total, count
        total, count = total + size, count + 1
        if total > MAX_BYTES or count > MAX_FILES:
            raise InvalidRequest(
                f"archive is larger than {MAX_BYTES // (1024 * 1024)} MiB or "
                f"{MAX_FILES} files unpacked; refusing"
            )

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_member(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise InvalidRequest(f"archive member '{info.filename}' is a link; refusing")
                target = dest / rel
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                budget(info.file_size)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
                if mode & 0o111:
                    target.chmod(0o755)
        return
    if not tarfile.is_tarfile(archive):
        raise InvalidRequest(f"{archive.name}: not a zip or tar archive")
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            rel = _safe_member(member.name)
            target = dest / rel
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                raise InvalidRequest(
                    f"archive member '{member.name}' is not a regular file; refusing"
                )
            budget(member.size)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = tf.extractfile(member)
            if data is None:
                continue
            with data, target.open("wb") as out:
                shutil.copyfileobj(data, out)
            if member.mode & 0o111:
                target.chmod(0o755)


def clone(url: str, dest: Path) -> None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            ["git", "clone", "--depth", "1", "--no-recurse-submodules", "--quiet", url, str(dest)],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise InvalidRequest("installing from a git URL needs git on PATH") from None
    except subprocess.TimeoutExpired:
        raise InvalidRequest(f"git clone took longer than {GIT_TIMEOUT:g}s; gave up") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise InvalidRequest(f"git clone failed: {tail}")


def fetch(source: str, workdir: Path) -> Path:
    """A local folder holding the source's skill(s): ``source`` itself, or unpacked/cloned."""
    if is_git_url(source) and not Path(source).exists():
        dest = workdir / "clone"
        clone(source, dest)
        return dest
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if path.is_file() and path.name == "SKILL.md":
        return path.parent
    if path.is_file():
        dest = workdir / "unpacked"
        dest.mkdir()
        extract(path, dest)
        return dest
    raise InvalidRequest(f"'{source}' is not a folder, an archive or a git URL")


def pick(root: Path, name: str | None = None) -> Skill:
    """The skill to install from ``root``: the only one, or the one called ``name``."""
    folders = [root] if (root / "SKILL.md").is_file() else candidates(root)
    skills = [load_skill(f, "install", root) for f in folders]
    if name is not None:
        check_name(name)
        skills = [s for s in skills if s.name == name]
    if not skills:
        what = f"no skill named '{name}'" if name else "no SKILL.md"
        raise SkillNotFound(f"{what} in the source")
    if len(skills) > 1:
        names = ", ".join(sorted(s.name for s in skills))
        raise InvalidRequest(f"the source holds several skills ({names}); choose one with --name")
    return skills[0]


def wants(skill: Skill) -> dict[str, Any]:
    """What the skill asks of this machine, for the user to read before installing."""
    out: dict[str, Any] = {"bins": [], "env": [], "network": "no", "install": [], "runs": []}
    if skill.front is None:
        return out
    meta = skill.meta
    req = meta.requires
    out["bins"] = [
        *req.bins,
        *([f"one of: {', '.join(req.anyBins)}"] if req.anyBins else []),
        *(f"{b} (optional)" for b in req.optionalBins),
    ]
    primary = [meta.primaryEnv] if meta.primaryEnv and meta.primaryEnv not in req.env else []
    out["env"] = [*req.env, *(f"{e} (optional)" for e in [*req.optionalEnv, *primary])]
    out["install"] = [spec.describe() for spec in meta.install]
    out["runs"] = [step.run for step in meta.steps]
    if not meta.steps:
        out["network"] = "no (nothing of the skill runs; the model is reached through the gateway)"
    elif meta.network:
        out["network"] = "yes (declared: network: true)"
    elif not skill.isolation.available:
        out["network"] = "not declared, but without a sandbox here its scripts could use it"
    out["other_scripts"] = sorted(
        p.relative_to(skill.path).as_posix()
        for p in skill.path.rglob("*")
        if p.is_file()
        and (interpreter_for(p) is not None or os.access(p, os.X_OK))
        and p.relative_to(skill.path).as_posix() not in out["runs"]
    )
    return out


def _copy(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] in (".git", ".clawhub", ".clawdhub") or path.is_symlink():
            continue
        if path.is_dir():
            (dest / rel).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            shutil.copy2(path, dest / rel)


def install(skill: Skill, home: Path, *, force: bool = False) -> Path:
    """Copy ``skill``'s folder to ``home/skills/NAME``; refuses to replace one unless forced."""
    if not skill.valid:
        raise InvalidRequest(f"skill '{skill.name}' does not lint; fix it before installing")
    dest = home / "skills" / check_name(skill.name)
    if dest.exists():
        if not force:
            raise Conflict(f"skill '{skill.name}' is already installed; --force replaces it")
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _copy(skill.path, dest)
    return dest


def remove(home: Path, name: str) -> Path:
    """Delete the user's installed skill ``name``; returns the folder removed."""
    check_name(name)
    skill = discover(home).get(name)
    if skill is None:
        raise SkillNotFound(f"no skill named '{name}'", param="name")
    if skill.source != "home":
        raise Conflict(
            f"skill '{name}' is not in your skills folder (it comes from {skill.source}: "
            f"{skill.shown_path}); only skills under $OPENCLAW_HOME/skills are removed"
        )
    shutil.rmtree(skill.path)
    return skill.path
