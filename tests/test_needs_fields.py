"""The needs are declared once (the `Needs` dataclass, core/needs.py) and everything else is
derived from that declaration: the `run` and `rescore` options, the task.yaml schema, the
dataclass's JSON, the flag an error names, the report's "Your needs" table.

Every declared need is checked in every one of those places today, and a need added to a
declaration (a dataclass extending `Needs` with `max_cost_usd`) appears in all of them with
nothing else written, so a future need cannot be half-added.
"""

from __future__ import annotations

import re
from dataclasses import make_dataclass

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from shouldtune.cli import main as cli
from shouldtune.core.config import TaskConfig, describe_validation_error
from shouldtune.core.errors import InputError
from shouldtune.core.needs import (
    FLAGS,
    Needs,
    NeedsConfig,
    config_model,
    need,
    need_fields,
    with_overrides,
)
from shouldtune.report.decision import need_rows

pytestmark = pytest.mark.decision  # torch-free: part of what `make mutate` runs

COMMANDS = ("run", "rescore")

# A need added the way a contributor adds one: a field declared with need(...).
Extended = make_dataclass(
    "ExtendedNeeds",
    [
        (
            "max_cost_usd",
            float | None,
            need(None, ge=0, help="most the horizon may cost, in USD", label="cost cap (USD)"),
        )
    ],
    bases=(Needs,),
    frozen=True,
)


def _help(app, command: str) -> str:
    # Wide, so that no help text is wrapped across lines.
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def _help_text(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_options(app, declaration) -> None:
    """Each need's flags and help text appear exactly once in each command's --help."""
    for command in COMMANDS:
        shown = _help(app, command)
        for f in need_fields(declaration):
            for flag in f.flag.split("/"):
                assert len(re.findall(rf"{flag}(?![\w-])", shown)) == 1, (command, flag)
            assert shown.count(_help_text(f.help)) == 1, (command, f.name)


def test_every_declared_need_reaches_every_place():
    fields = need_fields()
    names = [f.name for f in fields]
    assert names == list(Needs.__dataclass_fields__)
    _check_options(cli.app, Needs)
    for schema in (
        NeedsConfig.model_json_schema(),
        TaskConfig.model_json_schema()["$defs"]["NeedsConfig"],
    ):
        assert list(schema["properties"]) == names
        assert [p["description"] for p in schema["properties"].values()] == [f.help for f in fields]
    assert list(Needs().to_json()) == names
    assert {f.name: f.option for f in fields} == FLAGS
    assert [label for label, _ in need_rows({})] == [f.label for f in fields]
    assert len({f.label for f in fields}) == len(fields)


def test_the_flags_keep_their_names():
    # The declaration derives --the-name for a number; a yes/no need names its pair.
    assert {f.name: f.flag for f in need_fields()} == {
        "requests_per_day": "--requests-per-day",
        "horizon_days": "--horizon-days",
        "latency_p95_ms": "--latency-p95-ms",
        "self_hosted": "--self-hosted/--hosted-ok",
        "changes_per_year": "--changes-per-year",
        "dedicated": "--dedicated/--general",
        "min_quality": "--min-quality",
        "quality_margin": "--quality-margin",
    }


def test_the_options_hand_the_command_its_needs(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli, "_run", lambda *args, **kwargs: seen.update(kwargs["needs"]))
    app = cli.make_app(Extended)
    args = ["run", str(tmp_path), "--hosted-ok", "--dedicated", "--min-quality", "0.5"]
    result = CliRunner().invoke(app, [*args, "--max-cost-usd", "40"])
    assert result.exit_code == 0, result.output
    assert seen == {
        **dict.fromkeys(f.name for f in need_fields(Extended)),
        "self_hosted": False,
        "dedicated": True,
        "min_quality": 0.5,
        "max_cost_usd": 40.0,
    }
    result = CliRunner().invoke(cli.app, [*args, "--max-cost-usd", "40"])
    assert result.exit_code == 2 and "No such option" in result.output


def test_a_new_need_appears_everywhere(tmp_path):
    # The command line: both commands list it, with its help, once.
    app = cli.make_app(Extended)
    _check_options(app, Extended)
    assert "--max-cost-usd" not in _help(cli.app, "run")  # the real app is not touched

    # The task.yaml schema: described and bounded as declared, validated in a needs: block.
    schema = config_model(Extended)
    prop = schema.model_json_schema()["properties"]["max_cost_usd"]
    assert prop["description"] == "most the horizon may cost, in USD"
    assert prop["default"] is None and {"type": "number", "minimum": 0} in prop["anyOf"]
    task_yaml = tmp_path / "task.yaml"
    task_yaml.write_text("name: t\nneeds:\n  max_cost_usd: 50\n  horizon_days: 30\n")
    block = yaml.safe_load(task_yaml.read_text())["needs"]
    needs = Extended.from_config(schema.model_validate(block))
    assert needs == Extended(max_cost_usd=50.0, horizon_days=30.0)
    with pytest.raises(ValidationError) as bad:
        schema.model_validate({"max_cost_usd": -1})
    assert describe_validation_error(bad.value).startswith("key 'max_cost_usd': ")
    assert describe_validation_error(bad.value).endswith("; got -1")
    with pytest.raises(ValidationError):
        NeedsConfig.model_validate(block)  # the real schema still refuses it: unknown key

    # The dataclass and its JSON, overrides (a bad one names the flag), results.json.
    assert needs.to_json()["max_cost_usd"] == 50.0
    assert with_overrides(needs, {"max_cost_usd": 7, "min_quality": None}).max_cost_usd == 7
    with pytest.raises(InputError, match="--max-cost-usd: key 'max_cost_usd'"):
        with_overrides(needs, {"max_cost_usd": -2})
    assert Extended.from_json(needs.to_json()) == needs

    # The report's "Your needs" table.
    rows = need_rows(needs.to_json(), Extended)
    assert rows[-1] == ("cost cap (USD)", "50")
    assert need_rows({}, Extended)[-1] == ("cost cap (USD)", "not stated")


def test_a_field_without_its_need_declaration_is_refused():
    Bare = make_dataclass("BareNeeds", [("budget", float, 1.0)], bases=(Needs,), frozen=True)
    with pytest.raises(TypeError, match=r"Needs\.budget: declare it with need"):
        need_fields(Bare)
