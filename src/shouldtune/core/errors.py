"""Errors the user can fix, and failures outside shouldtune. Exit codes (cli/main.py):
2 bad input (InputError), 3 an outside service failed (ServiceError), 1 a blocking audit."""

from __future__ import annotations

import re
from pathlib import Path


class InputError(Exception):
    """Bad user input: names the file, the line (when there is one) and what is wrong."""

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or ""
        if self.file and self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.message}" if where else self.message
        return one_line(text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """Control characters from user data escaped: one line, no terminal escape sequences."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class AuditBlocked(Exception):
    """The data audit found blocking problems; the run stops unless told to go on."""

    def __init__(self, report: object, summary: str):
        self.report = report
        super().__init__(summary)


class ServiceError(Exception):
    """Something outside shouldtune failed mid-run (a served model unreachable, rate-limited
    past its retries): not the user's input. Finished strategies are cached; rerun to resume."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(one_line(message))
