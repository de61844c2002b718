"""``openclaw skill`` (also ``openclaw skills``): list, show (``info``), scaffold, lint, run,
test, install and remove skills.

``run`` goes through the running daemon (``POST /v1/skills/{name}/run``) when one serves
this home, so the daemon stays the one writer of the audit log. Without one, ``run`` works
in-process, as ``test`` always does: they build a :class:`Gateway` from ``$OPENCLAW_HOME``'s
config, so the model step still passes policies, PII routing, drafts and the audit log (the
writer's file lock keeps one chain even if a daemon starts meanwhile). ``test`` serves every model alias from the mock provider (and audits to a
temporary log) unless ``--live`` is given; see :mod:`openclaw.skills.testing`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openclaw.assembly import Shared, build_gateway
from openclaw.audit import AuditLog
from openclaw.cli.client import daemon_for, raise_for_error
from openclaw.cli.output import echo_json, json_option
from openclaw.config import home_dir
from openclaw.config.loader import load_model
from openclaw.errors import InvalidRequest
from openclaw.pipeline.gateway import Gateway
from openclaw.providers.registry import load_checked_config
from openclaw.server.auth import read_token
from openclaw.skills.discovery import SKILLS_CONFIG, Skill, SkillsFile, discover, find_skill
from openclaw.skills.env import Secrets
from openclaw.skills.install import fetch, install, pick, remove, wants
from openclaw.skills.runner import SkillRunner, validate_inputs
from openclaw.skills.sandbox import isolation
from openclaw.skills.scaffold import create_skill
from openclaw.skills.testing import SkillReport, mock_config, run_skill_tests

console = Console(highlight=False, soft_wrap=True)  # diffs and paths must not be re-wrapped


@click.group()
def cli() -> None:
    """Write, lint, test and run skills (folders with a SKILL.md; see docs/skills.md)."""


cli.name = "skill"

_STATUS_STYLE = {"eligible": "green", "ineligible": "yellow", "invalid": "red"}


@cli.command("list")
@click.option("--eligible", "only_eligible", is_flag=True, help="Only skills that can run here.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(only_eligible: bool, as_json: bool) -> None:
    """List skills from $OPENCLAW_HOME/skills, skills.yaml's extra_dirs and the package."""
    skills = [s for s in discover(home_dir()).values() if s.eligible or not only_eligible]
    if as_json:
        click.echo(json.dumps([s.describe() for s in skills], indent=2))
        return
    if not skills:
        click.echo("no skills found" + (" that can run here" if only_eligible else ""))
        return
    table = Table()
    for col in ("name", "version", "source", "status", "description"):
        table.add_column(col)
    for s in skills:
        status = f"[{_STATUS_STYLE[s.status]}]{s.status}[/]"
        if s.reasons and s.valid:
            status += "\n" + escape("; ".join(s.reasons))
        elif s.problems:
            status += f"\n{len(s.problems)} lint problem(s): skill lint {s.name}"
        desc = s.front.description if s.front else ""
        table.add_row(s.name, s.version or "-", s.source, status, escape(desc))
    console.print(table)


@cli.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(name: str, as_json: bool) -> None:
    """Show a skill's contract, what it needs, how it runs, and its documentation."""
    skill = find_skill(home_dir(), name)
    d = skill.describe(detail=True)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    console.print(
        f"[bold]{escape(skill.name)}[/] {d['version'] or ''}  ({skill.source}: {skill.path})"
    )
    if d["description"]:
        console.print(escape(d["description"]))
    console.print(f"status: [{_STATUS_STYLE[skill.status]}]{skill.status}[/]")
    for line in [*skill.reasons, *skill.problems]:
        console.print(f"  - {escape(line)}")
    for p in skill.shadowed:
        console.print(f"overrides: {p}")
    if skill.front is None:
        return
    for note in d["notes"]:
        console.print(f"[dim]{escape(note)}[/]")
    _print_needs(skill, d)
    console.print(f"[bold]runs[/]: {escape(d['isolation'])}")
    if skill.instruction_only:
        console.print(
            "[bold]instruction-only[/]: its text below is the model's system prompt; "
            f"run it with: openclaw skill run {skill.name} -i input=..."
        )
        if not d["user_invocable"]:
            console.print("user-invocable: false (not offered as a Slack command)")
    else:
        _print_contract(d)
    if skill.body.strip():
        console.print()
        click.echo(skill.body.strip())


def _print_needs(skill: Skill, d: dict[str, Any]) -> None:
    req = skill.meta.requires
    any_of = [f"one of {'/'.join(req.anyBins)}"] if req.anyBins else []
    rows: list[tuple[str, list[str]]] = [
        ("binaries", [*req.bins, *any_of]),
        ("optional binaries", req.optionalBins),
        ("environment", req.env),
        ("optional environment", req.optionalEnv),
        ("openclaw.json keys (not checked here)", req.config),
        ("os", list(skill.meta.os)),
    ]
    for label, values in rows:
        if values:
            console.print(f"[bold]{label}[/]: {escape(', '.join(values))}")
    if d["primary_env"]:
        console.print(f"[bold]primary env[/]: {escape(d['primary_env'])}")
    if d["install"]:
        console.print("[bold]install (not run by OpenClaw)[/]:")
        for line in d["install"]:
            console.print(f"  {escape(line)}")


def _print_contract(d: dict[str, Any]) -> None:
    console.print("\n[bold]inputs[/]")
    for i in d["inputs"]:
        opt = "" if i["required"] else " (optional)"
        console.print(
            f"  {i['name']}: {i['type']}{opt}"
            + (f" - {escape(i['description'])}" if i["description"] else "")
        )
    console.print("[bold]outputs[/]")
    for o in d["outputs"]:
        console.print(f"  {o['name']}: {o['type']}  <- {o['from']}")
    console.print("[bold]steps[/]")
    for s in d["steps"]:
        console.print(f"  {s['name']}: {s['run']} (timeout {s['timeout']:g}s)")
    if d["model_step"]:
        route = (
            f"model {d['model']}"
            if d["model"]
            else f"task {d['task']}"
            if d["task"]
            else "default model"
        )
        console.print(f"[bold]model step[/]: {route}" + (", JSON mode" if d["json_mode"] else ""))


cli.add_command(show, name="info")  # upstream's word for it


@cli.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    help="Create it here instead of $OPENCLAW_HOME/skills.",
)
def new(name: str, parent: Path | None) -> None:
    """Create a skill that lints and passes 'skill test' as it is."""
    folder = create_skill(name, parent or home_dir() / "skills")
    click.echo(f"created {folder}")
    click.echo(f"next: edit {folder / 'SKILL.md'}, then: openclaw skill test {name}")


@cli.command("lint")
@click.argument("name", required=False)
@json_option
def lint(name: str | None, as_json: bool) -> None:
    """Check SKILL.md front matter against the schema (every skill when NAME is omitted)."""
    home = home_dir()
    skills = [find_skill(home, name)] if name else list(discover(home).values())
    if as_json:
        rows = [
            {"name": s.name, "version": s.version, "path": str(s.path), "problems": s.problems}
            for s in skills
        ]
        echo_json({"ok": not any(s.problems for s in skills), "skills": rows})
        sys.exit(1 if any(s.problems for s in skills) else 0)
    bad = 0
    for s in skills:
        for note in s.plan.notes:
            click.echo(note)
        if s.problems:
            bad += 1
            for p in s.problems:
                click.echo(p)
        else:
            click.echo(f"ok  {s.name} {s.version or '(no version)'} ({s.path})")
    if bad:
        raise click.ClickException(f"{bad} skill(s) with lint problems")


def _parse_inputs(pairs: tuple[str, ...]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"--input '{pair}': use NAME=VALUE (or NAME=@file)")
        if value.startswith("@@"):  # a literal leading '@'
            value = value[1:]
        elif value.startswith("@"):
            src = value[1:]
            try:
                value = sys.stdin.read() if src == "-" else Path(src).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidRequest(f"--input {key}: cannot read {src}: {exc.strerror}") from None
        if key in raw:  # repeated: an array, one element per occurrence
            prev = raw[key]
            raw[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            raw[key] = value
    return raw


@asynccontextmanager
async def _gateway(home: Path, *, live: bool, needed: bool) -> AsyncIterator[Gateway | None]:
    """A gateway for the model step: the configured one, or every alias served by the mock."""
    if not needed:
        yield None
        return
    if live:
        gw = build_gateway(load_checked_config(home))
        try:
            yield gw
        finally:
            await gw.aclose()
        return
    with tempfile.TemporaryDirectory(prefix="openclaw-skill-test-") as tmp:
        gw = build_gateway(mock_config(home), Shared(audit=AuditLog(Path(tmp) / "audit.log")))
        try:
            yield gw
        finally:
            await gw.aclose()
            gw.audit.close()


@cli.command("run")
@click.argument("name")
@click.option(
    "--input",
    "-i",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input; VALUE may be @file or @- (stdin), @@ for a literal @. Repeat a name for an array.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer.")
@click.option(
    "--service", default="skills", show_default=True, help="Service name for policies and audit."
)
def run(name: str, pairs: tuple[str, ...], as_json: bool, service: str) -> None:
    """Run a skill with the configured models (outputs are drafts).

    Through the running gateway when there is one (it writes the audit record), else
    in-process.
    """
    home = home_dir()
    skill = find_skill(home, name)
    raw = _parse_inputs(pairs)
    daemon = daemon_for(home)
    if daemon is not None:
        _run_through(daemon, skill, raw, service, as_json)
        return

    async def go() -> Any:
        needed = skill.plan.prompt is not None or skill.instruction_only
        async with _gateway(home, live=True, needed=needed) as gw:
            secrets = Secrets.of(gw.config if gw else None, token=read_token(home), home=home)
            runner = SkillRunner(gw, secrets=secrets, service=service, home=home)
            return await runner.run(skill, raw, text_inputs=True)

    result = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(result.to_api(), indent=2, ensure_ascii=False))
        return
    for out in skill.outputs:
        value = result.outputs.get(out.name)
        console.print(f"[bold]{out.name}[/] ({out.type})")
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        click.echo(text)
        click.echo()
    if result.request_id:
        draft = "draft" if result.draft else "not a draft"
        console.print(
            f"[dim]{draft} · {result.model} via {result.provider} · {result.request_id}[/]"
        )


def _run_through(
    daemon: httpx.Client, skill: Skill, raw: dict[str, Any], service: str, as_json: bool
) -> None:
    """``skill run`` by the running daemon: inputs typed here, so errors read the same."""
    inputs = validate_inputs(skill.meta.inputs, raw, text=True)
    try:
        r = daemon.post(
            f"/v1/skills/{skill.name}/run",
            json={"inputs": inputs},
            headers={"X-OpenClaw-Service": service},
        )
    finally:
        daemon.close()
    raise_for_error(r)
    body = r.json()
    if as_json:
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    outputs = body.get("outputs") or {}
    for out in skill.meta.outputs:
        value = outputs.get(out.name)
        console.print(f"[bold]{out.name}[/] ({out.type})")
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        click.echo(text)
        click.echo()
    if body.get("request_id"):
        draft = "draft" if body.get("draft") else "not a draft"
        console.print(f"[dim]{draft} · run by the gateway · {body['request_id']}[/]")


def _print_report(r: SkillReport) -> None:
    mark = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]", "skipped": "[yellow]SKIP[/]"}[
        r.status
    ]
    console.print(f"{mark} {r.name} {r.version or ''}")
    if r.skipped:
        console.print(f"  skipped: {escape(r.skipped)}")
    for p in r.problems:
        console.print(f"  [red]{escape(p)}[/]")
    for c in r.cases:
        sym = "[green]✓[/]" if c.ok else "[red]✗[/]"
        console.print(f"  {sym} {c.case} ({c.seconds:.2f}s)")
        for p in c.problems:
            console.print("    " + escape(p).replace("\n", "\n    "))
        for n in c.notes:
            console.print(f"    [dim]{escape(n)}[/]")


def _summary(reports: list[SkillReport]) -> None:
    table = Table(title="skill test")
    for col in ("skill", "version", "cases", "status", "time", "detail"):
        table.add_column(col)
    for r in reports:
        passed = sum(c.ok for c in r.cases)
        style = {"passed": "green", "failed": "red", "skipped": "yellow"}[r.status]
        detail = r.skipped or (r.problems[0] if r.problems else "")
        if not detail:
            failed = [c.case for c in r.cases if not c.ok]
            detail = ("failed: " + ", ".join(failed)) if failed else ""
        table.add_row(
            r.name,
            r.version or "-",
            f"{passed}/{len(r.cases)}",
            f"[{style}]{r.status}[/]",
            f"{r.seconds:.2f}s",
            escape(detail.splitlines()[0] if detail else ""),
        )
    console.print(table)


@cli.command("test")
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Test every skill found.")
@click.option("--live", is_flag=True, help="Model step against the configured model, not the mock.")
@click.option(
    "--update", is_flag=True, help="Record step outputs as test/expected/ instead of comparing."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def test(name: str | None, all_: bool, live: bool, update: bool, as_json: bool) -> None:
    """Run a skill's fixtures: steps must match test/expected/, outputs must have their types."""
    if bool(name) == all_:
        raise click.UsageError("give a skill NAME or --all")
    home = home_dir()
    skills: list[Skill] = list(discover(home).values()) if all_ else [find_skill(home, name or "")]
    needed = any(s.valid and (s.plan.prompt is not None or s.instruction_only) for s in skills)

    async def go() -> list[SkillReport]:
        reports = []
        async with _gateway(home, live=live, needed=needed) as gw:
            secrets = Secrets.of(gw.config if gw else None, token=read_token(home), home=home)
            runner = SkillRunner(
                gw, secrets=secrets, service="skill-test", lenient_model=not live, home=home
            )
            if not all_ or as_json:
                for s in skills:
                    reports.append(await run_skill_tests(s, runner, update=update))
                return reports
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("testing skills", total=len(skills))
                for s in skills:
                    progress.update(task, description=f"testing {s.name}")
                    reports.append(await run_skill_tests(s, runner, update=update))
                    progress.advance(task)
        return reports

    reports = asyncio.run(go())
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for r in reports:
            if not all_ or r.status == "failed":
                _print_report(r)
        if all_:
            _summary(reports)
    failed = [r.name for r in reports if r.status == "failed"]
    if failed:
        raise click.ClickException(f"{len(failed)} skill(s) failed: {', '.join(failed)}")
    if not as_json and not all_:
        console.print(
            f"[green]{reports[0].name}: all fixtures passed[/]"
            if reports[0].status == "passed"
            else f"[yellow]{reports[0].name}: skipped[/]"
        )


@cli.command("install")
@click.argument("source")
@click.option("--name", help="The skill to take when SOURCE holds several.")
@click.option("--yes", "-y", is_flag=True, help="Install without asking (for scripts).")
@click.option("--force", is_flag=True, help="Replace an installed skill of the same name.")
def install_(source: str, name: str | None, yes: bool, force: bool) -> None:
    """Copy a skill from a folder, an archive or a git URL into $OPENCLAW_HOME/skills.

    Shows its lint, whether it can run here, and which binaries, environment variables and
    network access it wants, then asks. Nothing from the skill runs at install time.
    """
    home = home_dir()
    with tempfile.TemporaryDirectory(prefix="openclaw-skill-install-") as tmp:
        skill = pick(fetch(source, Path(tmp)), name)
        skill.isolation = isolation(load_model(home / SKILLS_CONFIG, SkillsFile).sandbox)
        _print_install_plan(skill)
        if not skill.valid:
            raise click.ClickException(f"skill '{skill.name}' does not lint; not installed")
        dest = home / "skills" / skill.name
        if not yes:
            click.confirm(f"Install '{skill.name}' into {dest}?", abort=True)
        install(skill, home, force=force)
    click.echo(f"installed {skill.name} -> {dest}")


def _print_install_plan(skill: Skill) -> None:
    console.print(f"[bold]{escape(skill.name)}[/] {skill.version or ''}")
    if skill.front is not None:
        console.print(escape(skill.front.description))
    for line in skill.problems:
        console.print(f"[red]{escape(line)}[/]")
    for note in skill.plan.notes:
        console.print(f"[dim]{escape(note)}[/]")
    if skill.valid:
        console.print("lint: [green]ok[/]")
        state = (
            "[green]yes[/]"
            if not skill.reasons
            else "[yellow]no[/]: " + escape("; ".join(skill.reasons))
        )
        console.print(f"can run here: {state}")
    w = wants(skill)
    console.print(f"binaries: {escape(', '.join(w['bins']) or 'none')}")
    console.print(f"environment variables: {escape(', '.join(w['env']) or 'none')}")
    console.print(f"network: {escape(w['network'])}")
    if w["runs"]:
        console.print(f"scripts it runs: {escape(', '.join(w['runs']))}")
    if w.get("other_scripts"):
        console.print(f"other executable files: {escape(', '.join(w['other_scripts']))}")
    for line in w["install"]:
        console.print(f"suggested install (not run): {escape(line)}")
    if skill.valid and skill.front is not None:
        console.print(f"runs: {escape(skill.isolation.describe(network=skill.meta.network))}")


@cli.command("remove")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Remove without asking.")
def remove_(name: str, yes: bool) -> None:
    """Delete an installed skill from $OPENCLAW_HOME/skills."""
    home = home_dir()
    if not yes:
        click.confirm(f"Remove skill '{name}' from {home / 'skills'}?", abort=True)
    folder = remove(home, name)
    click.echo(f"removed {name} ({folder})")
