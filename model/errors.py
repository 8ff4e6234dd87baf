"""The one exception hierarchy of sectag; the service and CLI map it to messages.

    SectagError
    ├── LabelError            label files are invalid (carries every problem found)
    ├── InputError            a text or request value cannot be tagged
    ├── RegistryError         the model registry cannot do what was asked
    │   ├── VersionNotFound   no such version, or no current version
    │   ├── IntegrityError    an artifact does not match its manifest's sha256
    │   └── IncompatibleModel the artifact was made with another scikit-learn
    └── StoreUnavailable      the review store cannot be written (read-only, disk full)
"""

from __future__ import annotations

from dataclasses import dataclass


class SectagError(Exception):
    """Base of every error sectag raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a label file, located by file, line (row) and column."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        col = f" column {self.column!r}:" if self.column else ""
        return f"{where}:{col} {self.message}"


class LabelError(SectagError):
    """Label files failed validation; `problems` lists every one found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the label files"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(SectagError):
    """A value given to the tagger or a command is invalid; `field` names it."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


class RegistryError(SectagError):
    """The model registry cannot do what was asked."""


class VersionNotFound(RegistryError):
    """The requested version (or a current version) does not exist."""


class IntegrityError(RegistryError):
    """An artifact's bytes do not match the sha256 its manifest records."""


class IncompatibleModel(RegistryError):
    """The artifact was made by a library version this process cannot load."""


class StoreUnavailable(SectagError):
    """The review store cannot be opened or written (read-only, disk full); nothing was saved."""
