"""`shouldtune` command line: run, demo, models, audit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..core.errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Should you fine-tune your LLM for this task? Measure, then decide.",
)
err = Console(stderr=True)
out = Console()


def _run(
    task_dir: Path,
    out_dir: Path | None,
    only: str | None,
    model: str | None,
    seed: int,
    quick: bool,
) -> None:
    from ..run import RunOptions, run_task
    from .progress import RichProgress

    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    with RichProgress(err) as progress:
        results = run_task(
            task_dir,
            RunOptions(
                out_dir=out_dir, only=names, model=model, seed=seed, quick=quick, progress=progress
            ),
        )
    _print_summary(results)


def _print_summary(results: dict) -> None:
    table = Table(title=f"shouldtune: {results['task']['name']}")
    for col in ("strategy", "kind", "score [95% CI]", "p50 ms", "tok/s", "train s"):
        table.add_column(col)
    for s in results["strategies"]:
        q = s["quality"]
        table.add_row(
            s["name"],
            s["kind"],
            f"{q['score']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]",
            f"{s['latency_ms']['p50']:.0f}",
            f"{s['tokens_per_s']:.1f}",
            f"{s['train_seconds']:.0f}",
        )
    out.print(table)
    v = results["verdict"]
    head = "fine-tune" if v["fine_tune"] else "don't fine-tune"
    out.print(f"[bold]Verdict: {head} — use {v['recommended']}[/]")
    for reason in v["reasons"]:
        out.print(f"  • {reason}", highlight=False)


@app.command()
def run(
    task_dir: Annotated[Path, typer.Argument(help="Task folder (task.yaml, train.jsonl, ...)")],
    out: Annotated[Path | None, typer.Option("--out", help="Run folder to write")] = None,
    only: Annotated[str | None, typer.Option(help="Comma-separated strategy names")] = None,
    model: Annotated[str | None, typer.Option(help="Bundled model name or local folder")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits, sampling and training")] = 0,
    quick: Annotated[bool, typer.Option(help="Smaller test set, one epoch: a fast look")] = False,
) -> None:
    """Run every applicable strategy on TASK_DIR and write results.json and the report."""
    _run(task_dir, out, only, model, seed, quick)


@app.command()
def demo(out: Annotated[Path | None, typer.Option("--out")] = None) -> None:
    """Run the bundled example task end to end."""
    from ..examples import demo_task_dir

    _run(demo_task_dir(), out, None, None, 0, False)


@app.command()
def models() -> None:
    """List the models usable here: bundled packages, or any local model folder."""
    from ..models.bundled import list_models

    table = Table(title="models")
    for col in ("name", "source package", "licence", "status"):
        table.add_column(col)
    for row in list_models():
        table.add_row(row["name"], row["source"], row["licence"], row["status"])
    out.print(table)
    out.print("Any local folder with config.json and safetensors weights works too: --model PATH")


def main() -> None:
    try:
        app(standalone_mode=False)
    except InputError as exc:
        # One line naming the file, line and problem; never a traceback for bad input.
        err.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
