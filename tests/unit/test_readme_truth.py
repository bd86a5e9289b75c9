"""Every command, flag and setting the README names exists: each `stenograph ...` example's
flags are in that command's --help, and each STENOGRAPH_* variable is read by the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from stenograph.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# an inline example, or a line of a code block, that runs the CLI
EXAMPLE = re.compile(r"(?:`|^)\s*stenograph ([a-z][a-z-]*(?: [a-z][a-z-]*)?)([^`\n]*)", re.M)
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")


def examples() -> dict[tuple[str, ...], set[str]]:
    """Each command path the README runs, with every flag it gives it."""
    found: dict[tuple[str, ...], set[str]] = {}
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    groups = {g.name for g in app.registered_groups}
    for words, rest in EXAMPLE.findall(README):
        first, *more = words.split()
        if first in groups and more:
            path: tuple[str, ...] = (first, more[0])
        elif first in commands:
            path = (first,)
            rest = " ".join(more) + rest
        else:
            continue  # prose such as "stenograph is", or a package path
        found.setdefault(path, set()).update(FLAG.findall(rest.split("#")[0]))
    return found


EXAMPLES = examples()


def test_the_readme_runs_commands() -> None:
    assert ("gateway",) in EXAMPLES and ("key", "create") in EXAMPLES, EXAMPLES


@pytest.mark.parametrize("path", sorted(EXAMPLES), ids=" ".join)
def test_each_readme_example_is_a_command_with_those_flags(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    missing = [f for f in sorted(EXAMPLES[path]) if f not in result.output]
    assert not missing, f"stenograph {' '.join(path)} has no {missing}"


def _settings_fields() -> set[str]:
    import stenograph.aggregate.settings
    import stenograph.api.settings
    import stenograph.capture.bots.settings
    import stenograph.capture.whisperlive.settings
    import stenograph.transcribe.settings
    import stenograph.webhooks.dispatcher  # noqa: F401  (their settings classes register below)

    def walk(cls: type[BaseSettings]) -> set[type[BaseSettings]]:
        return {cls} | {c for sub in cls.__subclasses__() for c in walk(sub)}

    return {name.upper() for cls in walk(BaseSettings) if cls.__module__.startswith("stenograph")
            for name in cls.model_fields}


def test_each_setting_the_readme_names_is_read() -> None:
    source = "\n".join(p.read_text() for p in ROOT.glob("*/**/*.py")
                       if ".venv" not in p.parts and "tests" not in p.parts)
    source += (ROOT / "tests" / "conftest.py").read_text()  # the test fixtures' own settings
    source += "\n".join(p.read_text() for p in (ROOT / "tests" / "bench").glob("*.py"))  # the benchmarks'
    # the container deployment reads its own variables in the compose file and its scripts
    deployment = "\n".join(p.read_text() for pattern in ("compose/*.sh", "compose/*.yml", "compose/*.env")
                           for p in ROOT.glob(pattern))
    fields = _settings_fields()
    named = set(re.findall(r"STENOGRAPH_([A-Z_]+[A-Z])", README))
    unread = sorted(n for n in named if n not in fields and f'"STENOGRAPH_{n}"' not in source
                    and not re.search(rf"\$\{{?STENOGRAPH_{n}\b", deployment))
    assert not unread, f"the README names settings no code reads: {unread}"
