"""`shouldtune` command line: run, audit, compare, export, demo, models."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..core.errors import AuditBlocked, InputError, ServiceError
from ..core.needs import Needs, need_fields
from ..core.stats import level_label

err = Console(stderr=True)
out = Console()


EXIT_AUDIT, EXIT_INPUT, EXIT_SERVICE = 1, 2, 3


@contextmanager
def user_errors() -> Iterator[None]:
    """One line on stderr, no traceback: bad input exits 2, an outside service that failed
    mid-run exits 3 (with how to resume), a blocking audit exits 1."""
    try:
        yield
    except AuditBlocked as exc:
        from .audit_cmd import render_report

        render_report(exc.report, err)
        err.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(EXIT_AUDIT) from None
    except InputError as exc:
        err.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(EXIT_INPUT) from None
    except ServiceError as exc:
        err.print(
            f"error: {exc} — finished strategies are cached: run the same command again to resume",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        raise typer.Exit(EXIT_SERVICE) from None


NEEDS_PANEL = "Needs"


def with_needs(command: Callable[..., None], declaration: type[Needs] = Needs) -> Callable:
    """`command` taking `needs` (a dict: the need's value, None where its flag is not given and
    task.yaml's value stays) as a typer command with one option per declared need
    (core/needs.py): its flag, help and type from the declaration, after the command's own."""
    own = inspect.signature(command, eval_str=True)
    params = [p for p in own.parameters.values() if p.name != "needs"]
    taken = {p.name for p in params}
    fields = need_fields(declaration)
    for f in fields:
        if f.name in taken:
            raise TypeError(f"need {f.name!r} clashes with {command.__name__}'s own option")
        option = typer.Option(
            f.flag, help=_sentence(f.help), show_default=False, rich_help_panel=NEEDS_PANEL
        )
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[f.value_type | None, option],
            )
        )
    names = [f.name for f in fields]

    def wrapper(**kwargs: Any) -> None:
        needs = {name: kwargs.pop(name) for name in names}
        command(**kwargs, needs=needs)

    wrapper.__name__, wrapper.__qualname__ = command.__name__, command.__qualname__
    wrapper.__doc__, wrapper.__module__ = command.__doc__, command.__module__
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _run(
    task_dir: Path,
    out_dir: Path | None,
    only: str | None,
    model: str | None,
    seed: int,
    quick: bool,
    allow_audit_failures: bool = False,
    plan_only: bool = False,
    **more: object,
) -> None:
    """`more`: further RunOptions fields (candidates, backend_url, ...). `plan_only`: print
    the plan and its estimate, run nothing."""
    from ..run import RunOptions, run_task
    from .progress import make_progress, quiet_libraries

    with user_errors():
        names = _only(only)
    with user_errors(), quiet_libraries(), make_progress(err, out) as progress:
        results = run_task(
            task_dir,
            RunOptions(
                out_dir=out_dir,
                only=names,
                model=model,
                seed=seed,
                quick=quick,
                progress=progress,
                allow_audit_failures=allow_audit_failures,
                plan_only=plan_only,
                on_estimate=_print_plan if plan_only else progress.planned,
                **more,  # type: ignore[arg-type]
            ),
        )
    if not plan_only:
        _print_summary(results)


def _only(only: str | None) -> list[str] | None:
    """--only's strategy names; given but naming none (--only "") is refused, not "all"."""
    if only is None:
        return None
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        from .. import strategies

        raise InputError(
            f"--only names no strategy; give one or more of: {', '.join(strategies.names())}"
        )
    return names


def _print_plan(estimate: object) -> None:
    from ..estimate import plan_lines

    for line in plan_lines(estimate, getattr(estimate, "title", "")):  # type: ignore[arg-type]
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def _print_summary(results: dict) -> None:
    table = Table(title=f"shouldtune: {results['task']['name']}")
    score = f"score [{level_label()} CI]"
    for col in ("strategy", "kind", score, "p50 ms", "p95 ms", "tok/s", "train s"):
        table.add_column(col)
    for s in results["strategies"]:
        q = s["quality"]
        table.add_row(
            s["name"],
            s["kind"],
            f"{q['score']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]",
            f"{s['latency_ms']['p50']:.0f}",
            f"{s['latency_ms'].get('p95', s['latency_ms']['p50']):.0f}",
            f"{s['tokens_per_s']:.1f}",
            f"{s['train_seconds']:.0f}",
        )
    out.print(table)
    from ..core.verdict import headline_of
    from .notes import print_notes

    print_notes(out, results)
    v = results["verdict"]
    out.print(headline_of(results), style="bold", markup=False)
    for reason in v["reasons"]:
        out.print(f"  • {reason}", highlight=False)


def run(
    task_dir: Annotated[Path, typer.Argument(help="Task folder (task.yaml, train.jsonl, ...)")],
    out: Annotated[Path | None, typer.Option("--out", help="Run folder to write")] = None,
    only: Annotated[str | None, typer.Option(help="Comma-separated strategy names")] = None,
    model: Annotated[str | None, typer.Option(help="Bundled model name or local folder")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits, sampling and training")] = 0,
    quick: Annotated[bool, typer.Option(help="Smaller test set, one epoch: a fast look")] = False,
    allow_audit_failures: Annotated[
        bool, typer.Option(help="Run even when the data audit finds blocking problems")
    ] = False,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Print what would run, its tokens and estimated time; run nothing"
        ),
    ] = False,
    candidate: Annotated[
        list[str] | None,
        typer.Option(help="Another model to evaluate zero-shot (folder or cached hub id); repeat"),
    ] = None,
    backend_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server for prompting, e.g. http://h/v1")
    ] = None,
    backend_model: Annotated[str | None, typer.Option(help="Model name on that server")] = None,
    backend_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the server's API key")
    ] = None,
    device: Annotated[
        str, typer.Option(help="auto|cpu|cuda|mps: where the models run (auto: GPU if any)")
    ] = "auto",
    dtype: Annotated[
        str, typer.Option(help="auto|float32|bfloat16|float16 (auto: bf16 on GPU, fp32 on CPU)")
    ] = "auto",
    engine: Annotated[
        str, typer.Option(help="auto|vllm|transformers: generation engine for the local model")
    ] = "auto",
    *,
    needs: dict[str, object],
) -> None:
    """Run every applicable strategy on TASK_DIR and write results.json and the report.

    The needs options override task.yaml's `needs:`."""
    _run(
        task_dir,
        out,
        only,
        model,
        seed,
        quick,
        allow_audit_failures,
        plan,
        candidates=candidate or [],
        backend_url=backend_url,
        backend_model=backend_model,
        backend_key_env=backend_key_env,
        device=device,
        dtype=dtype,
        engine=engine,
        needs=needs,
    )


def rescore(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder")],
    metric: Annotated[
        str | None,
        typer.Option(help="Built-in metric or python:FILE:FUNCTION (default: the run's)"),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write")] = None,
    task: Annotated[
        Path | None, typer.Option("--task", help="Task folder of a python: metric's file")
    ] = None,
    *,
    needs: dict[str, object],
) -> None:
    """Re-score a finished run's saved answers with another metric and/or other needs: scores,
    CIs, cost, verdict and report are rewritten into a new folder; nothing runs again."""
    from ..rescore import RescoreOptions
    from ..rescore import rescore as do_rescore

    with user_errors():
        results, folder = do_rescore(
            run_dir,
            RescoreOptions(metric=metric, out_dir=out, task_dir=task, needs=needs),
        )
    _print_summary(results)
    err.print(f"re-scored into {folder}", highlight=False, markup=False)


def audit(
    task_dir: Annotated[Path, typer.Argument(help="Task folder to audit")],
    strict: Annotated[bool, typer.Option(help="Exit 1 on warnings too")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write findings as JSON")] = None,
) -> None:
    """Audit the task's data (duplicates, leakage, label noise, personal data...): exit 0/1."""
    from .audit_cmd import audit_command

    with user_errors():
        code = audit_command(task_dir, strict, json_out)
    raise typer.Exit(code)


def compare(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder (has results.json)")],
    run_b: Annotated[Path, typer.Argument(help="The later run folder")],
    examples: Annotated[int, typer.Option(help="Changed answers to list")] = 10,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the diff as JSON")] = None,
) -> None:
    """What changed from RUN_A to RUN_B: scores, latency, the verdict, the answers."""
    from .compare_cmd import compare_command

    with user_errors():
        compare_command(run_a, run_b, examples, json_out)


def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder")],
    strategy: Annotated[str, typer.Argument(help="Fine-tune to export: lora, full, layerwise")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model to")],
) -> None:
    """Write a run's fine-tune as a merged safetensors model (the base's dtype) plus tokenizer."""
    from .export_cmd import export_command

    with user_errors():
        export_command(run_dir, strategy, out)


def demo(out: Annotated[Path | None, typer.Option("--out")] = None) -> None:
    """Run the bundled example task end to end."""
    from ..examples import demo_task_dir

    with user_errors():
        task_dir = demo_task_dir()
    _run(task_dir, out, None, None, 0, False)


def models(
    search: Annotated[
        str | None, typer.Option(help="Search the Hugging Face Hub for fine-tuned models")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="With --search: a pipeline task, e.g. text-classification")
    ] = None,
    limit: Annotated[int, typer.Option(help="With --search: at most this many models")] = 10,
) -> None:
    """List the models usable here (bundled, local folders), or search the Hub for candidates."""
    if search is not None or task is not None:
        from .hub_cmd import search_command

        search_command(out, search or "", task, limit)
        return
    from ..models.bundled import list_models

    table = Table(title="models")
    for col in ("name", "source package", "licence", "status"):
        table.add_column(col)
    for row in list_models():
        table.add_row(row["name"], row["source"], row["licence"], row["status"])
    out.print(table)
    out.print("Any local folder with config.json and safetensors weights works too: --model PATH")


def make_app(declaration: type[Needs] = Needs) -> typer.Typer:
    """The `shouldtune` command line; `run` and `rescore` take the needs of `declaration`
    (tests pass one with an extra need)."""
    cli = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        help="Should you fine-tune your LLM for this task? Measure, then decide.",
    )
    cli.command()(with_needs(run, declaration))
    cli.command()(with_needs(rescore, declaration))
    for command in (audit, compare, export, demo, models):
        cli.command()(command)
    return cli


app = make_app()


def main() -> None:
    app()
