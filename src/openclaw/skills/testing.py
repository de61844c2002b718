"""``skill test``: run every fixture of a skill and compare what must not change.

A fixture is ``test/fixtures/CASE.json`` (or ``.yaml``): ``{"inputs": {...}}``, optionally with
a ``description``. For each case:

- the inputs are validated and the steps run exactly as ``skill run`` would;
- each step's stdout must equal ``test/expected/CASE/STEP.out`` byte for byte (the steps are
  the deterministic part of a skill; ``--update`` records the current output instead);
- the model step runs through a real gateway pipeline, against the ``mock`` provider unless
  ``--live``: :func:`mock_config` is the user's config with every alias served by ``mock``
  (the built-in default config when there is none, e.g. on a fresh install), so policies,
  PII routing and drafts behave as configured, and nothing leaves the machine. Its audit
  records go to a temporary log, not the user's. The outputs are checked for presence and
  type; keys of a JSON answer the mock cannot know are reported as unchecked, not failed.

A skill that cannot run here (ineligible) is skipped with its reason, an invalid one fails.
An instruction-only skill without fixtures gets one case, ``smoke``: a short input through the
same pipeline, which checks that it routes, passes the policies and gets an answer.
"""

from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.config import Config
from openclaw.config.loader import load_model, parse_model
from openclaw.config.schema import ChannelsFile, ModelsFile, PoliciesFile
from openclaw.errors import OpenClawError
from openclaw.onboarding.seed import Plan, render_models, render_policies
from openclaw.providers.registry import ProviderRegistry, load_checked_config
from openclaw.skills.discovery import Skill
from openclaw.skills.runner import SkillRunner
from openclaw.skills.spec import ParseError, parse_yaml

FIXTURES_DIR = Path("test") / "fixtures"
EXPECTED_DIR = Path("test") / "expected"
FIXTURE_SUFFIXES = (".json", ".yaml", ".yml")
SMOKE_INPUT = "Say hello in one short sentence."


@dataclass
class CaseResult:
    case: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class SkillReport:
    name: str
    version: str | None
    cases: list[CaseResult] = field(default_factory=list)
    skipped: str | None = None  # the reason a skill was not tested
    problems: list[str] = field(default_factory=list)  # skill-level failures
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.cases)

    @property
    def status(self) -> str:
        if self.skipped is not None:
            return "skipped"
        return "passed" if self.ok else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "skill": self.name,
            "version": self.version,
            "status": self.status,
            "skipped": self.skipped,
            "problems": self.problems,
            "cases": [
                {
                    "case": c.case,
                    "ok": c.ok,
                    "problems": c.problems,
                    "notes": c.notes,
                    "seconds": round(c.seconds, 3),
                }
                for c in self.cases
            ],
        }


def mock_config(home: Path) -> Config:
    """The user's config with every model alias served by the mock provider.

    Each alias keeps what policies and routing read (``use_for``, ``fallbacks``, the
    default) and loses how it reaches a model: the short form (``provider``/``model``), a
    ``deployments`` list or a strategy all become one mock deployment, so the test stays
    offline whichever form the user wrote. The aliases are rebuilt from plain data, not
    copied: a validated alias carries both its short form and the deployments derived from
    it, which the schema rightly refuses as input.
    """
    if (home / "models.yaml").exists():
        base = load_checked_config(home)
        aliases: dict[str, Any] = {
            alias: {
                "provider": "mock",
                "model": f"mock-{alias}",
                "use_for": list(spec.use_for),
                "fallbacks": list(spec.fallbacks),
                "description": spec.description,
            }
            for alias, spec in base.models.models.items()
        }
        models = ModelsFile.model_validate({"models": aliases, "default": base.models.default})
        return Config(home=home, models=models, policies=base.policies, channels=base.channels)
    models = parse_model(
        render_models(Plan("mock", "mock-general"), ProviderRegistry.from_entry_points()),
        ModelsFile,
        "models.yaml (test default)",
    )
    if (home / "policies.yaml").exists():
        policies = load_model(home / "policies.yaml", PoliciesFile)
    else:
        policies = parse_model(render_policies(), PoliciesFile, "policies.yaml (test default)")
    channels = load_model(home / "channels.yaml", ChannelsFile)
    return Config(home=home, models=models, policies=policies, channels=channels)


def fixture_paths(skill: Skill) -> list[Path]:
    d = skill.path / FIXTURES_DIR
    try:
        return sorted(p for p in d.iterdir() if p.is_file() and p.suffix in FIXTURE_SUFFIXES)
    except OSError:
        return []


def load_fixture(path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{where}: cannot read: {exc.strerror}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    else:
        try:
            data, _ = parse_yaml(text, where)
        except ParseError as exc:
            raise ValueError(exc.problems[0]) from None
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), dict):
        raise ValueError(
            f"{where}: a fixture is a mapping with 'inputs:' (and an optional 'description:')"
        )
    extra = set(data) - {"inputs", "description"}
    if extra:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(sorted(extra))}; use 'inputs' and 'description'"
        )
    inputs: dict[str, Any] = data["inputs"]
    return inputs


def _diff(expected: str, actual: str, name: str) -> str:
    lines = list(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"expected/{name}",
            tofile=f"actual/{name}",
            n=1,
        )
    )
    if len(lines) > 30:
        lines = [*lines[:30], f"... ({len(lines) - 30} more diff lines)\n"]
    return "".join(lines).rstrip("\n")


async def run_case(
    skill: Skill,
    fixture: Path,
    runner: SkillRunner,
    *,
    update: bool,
    inputs: dict[str, Any] | None = None,
) -> CaseResult:
    """One case: ``fixture``'s inputs (or ``inputs``, for a case with no file)."""
    case = CaseResult(case=fixture.stem)
    started = time.perf_counter()
    try:
        if inputs is None:
            inputs = load_fixture(fixture)
        result = await runner.run(skill, inputs)
    except ValueError as exc:
        case.problems.append(str(exc))
        return case
    except OpenClawError as exc:
        case.problems.append(f"{exc.code}: {exc.message}")
        return case
    finally:
        case.seconds = time.perf_counter() - started
    expected_dir = skill.path / EXPECTED_DIR / case.case
    for name, out in result.steps.items():
        path = expected_dir / f"{name}.out"
        rel = path.relative_to(skill.path)
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != out.stdout:
                path.write_text(out.stdout, encoding="utf-8")
                case.notes.append(f"recorded {rel}")
            continue
        if not path.exists():
            case.problems.append(f"step '{name}': no {rel} (run with --update to record it)")
            continue
        expected = path.read_text(encoding="utf-8")
        if expected != out.stdout:
            case.problems.append(
                f"step '{name}': stdout differs from {rel}:\n{_diff(expected, out.stdout, name)}"
            )
    if skill.plan.prompt is not None or skill.instruction_only:
        if not result.answer:
            case.problems.append("model step: the answer is empty")
        case.notes.append(
            f"model step: {result.model} via {result.provider}"
            + (", draft" if result.draft else "")
        )
    if result.unchecked:
        case.notes.append(
            "not checked against the mock provider (use --live): " + ", ".join(result.unchecked)
        )
    missing = [
        o.name
        for o in skill.outputs
        if o.name not in result.outputs and o.name not in result.unchecked
    ]
    if missing:
        case.problems.append(f"outputs missing: {', '.join(missing)}")
    return case


async def run_skill_tests(
    skill: Skill, runner: SkillRunner, *, update: bool = False
) -> SkillReport:
    report = SkillReport(name=skill.name, version=skill.version)
    started = time.perf_counter()
    if not skill.valid:
        report.problems = list(skill.problems)
    elif skill.reasons:
        report.skipped = "; ".join(skill.reasons)
    else:
        fixtures = fixture_paths(skill)
        if not fixtures and skill.instruction_only:
            smoke = {"input": SMOKE_INPUT}
            report.cases.append(
                await run_case(skill, Path("smoke"), runner, update=False, inputs=smoke)
            )
        elif not fixtures:
            report.problems.append(f"no fixtures in {skill.path / FIXTURES_DIR}")
        for fixture in fixtures:
            report.cases.append(await run_case(skill, fixture, runner, update=update))
    report.seconds = time.perf_counter() - started
    return report
