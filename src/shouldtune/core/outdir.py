"""Output folders: checked before any work, replaced atomically, never holding others' files.

`run`, `rescore` and `export` write only into a new folder or an empty one, or replace one
they wrote before: a folder with their marker file (`.shouldtune-run`, `.shouldtune-export`)
that lists every file they wrote, or a run folder made before the marker existed (a
results.json with our keys and only a run's entries). Anything else — a folder of the user's,
the task folder, a folder inside it, a folder holding it — is refused with one line before the
model loads, and nothing is deleted that the tool did not write.

Replacing is atomic: the old folder is renamed aside (`.NAME.old`), the new one renamed into
place, then the old one removed. A crash between the two renames leaves the old run complete
aside, and the next check puts it back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InputError

MARKERS = {"run": ".shouldtune-run", "export": ".shouldtune-export"}
# A run folder written before the marker: these entries only, and a results.json like ours.
LEGACY_RUN_ENTRIES = frozenset(
    {"results.json", "report.md", "report.html", "predictions", "plots", "raw", "trained"}
)
LEGACY_RUN_KEYS = frozenset({"schema_version", "task", "strategies", "verdict"})
SHOWN = 3  # foreign files named in a refusal


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def _writable(folder: Path) -> bool:
    """Can we create entries in `folder`? Tried for real: permission bits say nothing for
    root, nor for a read-only mount."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".shouldtune-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def check_writable_path(path: Path, what: str, folder: bool) -> None:
    """`path` (a file or a folder to create or replace) can be written: not under a file, its
    nearest existing parent a folder we can write into. `folder`: a folder is expected (a
    file there is refused), else a file (a folder there is refused)."""
    path = Path(path)
    if os.path.lexists(path) or path.exists():
        if folder and not path.is_dir():
            raise InputError(f"{what} is a file, not a folder", path)
        if not folder and path.is_dir():
            raise InputError(f"{what} is a folder, not a file", path)
    parent = path.parent if path.name else path
    existing = _nearest_existing(parent)
    if not existing.is_dir():
        raise InputError(f"{what} lies under {existing}, which is a file, not a folder", path)
    if not _writable(existing):
        raise InputError(f"{what}: cannot write into {existing} (permission denied)", path)


def _inside(path: Path, folder: Path) -> bool:
    """`path` is `folder` or lies inside it (both resolved)."""
    return path == folder or folder in path.parents


def check_apart(out: Path, protected: Iterable[tuple[Path, str]], what: str = "--out") -> None:
    """`out` neither is, lies inside, nor holds any protected folder (the task, the run
    being re-scored, a model): replacing `out` must never touch them."""
    target = Path(out).resolve()
    for folder, name in protected:
        where = Path(folder).resolve()
        if target == where:
            raise InputError(f"{what} is the {name}: choose a new folder", out)
        if where in target.parents:
            raise InputError(
                f"{what} lies inside the {name} ({folder}): choose a folder outside", out
            )
        if target in where.parents:
            raise InputError(f"{what} holds the {name} ({folder}): choose another folder", out)


def _files(folder: Path) -> set[str]:
    """Every file and link under `folder`, relative, as posix paths."""
    found = set()
    for root, dirs, names in os.walk(folder):
        base = Path(root)
        for name in names + [d for d in dirs if (base / d).is_symlink()]:
            found.add((base / name).relative_to(folder).as_posix())
    return found


def _read_marker(folder: Path, kind: str) -> dict[str, Any] | None:
    path = folder / MARKERS[kind]
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), list) else None


def _legacy_run(folder: Path) -> bool:
    """A run folder from before the marker: only a run's entries, and our results.json."""
    entries = {p.name for p in folder.iterdir()}
    if "results.json" not in entries or not entries <= LEGACY_RUN_ENTRIES:
        return False
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and set(data) >= LEGACY_RUN_KEYS


def _foreign(folder: Path, kind: str) -> list[str]:
    """Files under `folder` the tool did not write (empty: the folder may be replaced)."""
    present = _files(folder)
    if not present and not any(folder.iterdir()):
        return []
    marker = _read_marker(folder, kind)
    if marker is None:
        if kind == "run" and _legacy_run(folder):
            return []
        return sorted(present) or sorted(p.name for p in folder.iterdir())
    written = {str(f) for f in marker["files"]} | {MARKERS[kind]}
    return sorted(present - written)


def aside(out: Path) -> Path:
    """Where `replace` moves the old output while the new one goes in."""
    return out.with_name(f".{out.name}.old")


def partial(out: Path) -> Path:
    """Where the output is built until it is complete."""
    return out.with_name(f".{out.name}.partial")


def _ours(folder: Path, kind: str) -> bool:
    """A folder the tool made (its marker, or a run from before the marker), or an empty one."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if _read_marker(folder, kind) is not None or not any(folder.iterdir()):
        return True
    return kind == "run" and _legacy_run(folder)


def _ours_partial(folder: Path, kind: str) -> bool:
    """A working folder the tool made: marked, or (a crash of a version before the marker)
    holding only a run's entries."""
    if _ours(folder, kind):
        return True
    if kind != "run" or folder.is_symlink() or not folder.is_dir():
        return False
    return {p.name for p in folder.iterdir()} <= LEGACY_RUN_ENTRIES


def _recover(out: Path, kind: str) -> None:
    """A crash between the two renames of `replace` left the old folder aside: put it back."""
    old = aside(out)
    if not os.path.lexists(out) and _ours(old, kind):
        old.rename(out)


def check_output(
    out: Path,
    kind: str = "run",
    protected: Iterable[tuple[Path, str]] = (),
    what: str = "--out",
) -> None:
    """Refuse, before any work, an output folder the tool may not write or replace."""
    out = Path(out)
    check_writable_path(out, what, folder=True)
    check_apart(out, protected, what)
    _recover(out, kind)
    for hidden, ours in ((partial(out), _ours_partial), (aside(out), _ours)):
        if os.path.lexists(hidden) and not ours(hidden, kind):
            raise InputError(
                f"{hidden.name}, which shouldtune did not write, is in the way of {what}: move it",
                hidden,
            )
    if out.is_dir():
        foreign = _foreign(out, kind)
        if foreign:
            shown = ", ".join(foreign[:SHOWN]) + (" ..." if len(foreign) > SHOWN else "")
            raise InputError(
                f"{what} is not empty and holds files shouldtune did not write ({shown}); it"
                " writes only into a new or empty folder or one of its own earlier outputs:"
                " choose another folder",
                out,
            )


def work_folder(out: Path, kind: str = "run") -> Path:
    """A fresh hidden sibling of `out` to build the output in, marked as the tool's (call
    `check_output` first: a leftover one is removed only when it is the tool's)."""
    work = partial(out)
    if _ours_partial(work, kind):
        shutil.rmtree(work)
    work.mkdir(parents=True)
    seal(work, kind)
    return work


def seal(folder: Path, kind: str = "run") -> None:
    """Write the marker: what `folder` holds is the tool's, and may be replaced later."""
    from .. import __version__

    files = sorted(_files(folder) - {MARKERS[kind]})
    data = {"shouldtune": __version__, "kind": kind, "files": files}
    (folder / MARKERS[kind]).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace(work: Path, out: Path, kind: str = "run") -> None:
    """Make the finished `work` folder `out`: the old one aside, the new in, the old removed.
    `out` is checked again first: files that appeared in it meanwhile are never deleted."""
    seal(work, kind)
    check_output(out, kind)
    old = aside(out)
    if _ours(old, kind):
        shutil.rmtree(old)  # an earlier replace's leftover (checked: its marker)
    moved = False
    if os.path.lexists(out):
        out.rename(old)
        moved = True
    try:
        work.rename(out)
    except BaseException:
        if moved:
            old.rename(out)
        raise
    _fsync_dir(out.parent)
    if moved:
        shutil.rmtree(old, ignore_errors=True)


def check_run_paths(task: Any, opts: Any) -> None:
    """`run`, before any model loads: the output folder (or the default runs/ folder) can be
    written and replaced, and the task's text can be tokenized and written."""
    from .taskio import check_text

    check_text(task)
    if opts.out_dir is None:  # runs/<name>-<timestamp>: a new folder
        check_writable_path(Path("runs") / "new", "the default output folder runs/", True)
        return
    protected = [(task.root, "task folder")]
    for name in [getattr(opts, "model", None), *getattr(opts, "candidates", [])]:
        if name and Path(name).is_dir():
            protected.append((Path(name), "model folder"))
    check_output(Path(opts.out_dir), "run", protected)
