"""What the review store asks of a database back end, and how a back end reports failure.

A back end runs SQL written once for both databases (`?` placeholders, `ON CONFLICT`,
`RETURNING`): `write` runs a function in one transaction that is committed before it
returns, `read` runs one query. Driver errors leave a back end as `StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from model.errors import StoreUnavailable

T = TypeVar("T")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> tuple | None: ...

    def fetchall(self) -> list[tuple]: ...


class Transaction(Protocol):
    """One open transaction; `execute` takes `?` placeholders on every back end."""

    def execute(self, sql: str, params: Iterable = ()) -> Cursor: ...


class Backend(Protocol):
    dialect: str  # "sqlite" or "postgresql": picks the migrations
    where: str    # the store's location as it may be shown (no password)

    def write(self, work: Callable[[Transaction], T]) -> T: ...

    def read(self, sql: str, params: Iterable = ()) -> list[tuple]: ...

    def close(self) -> None: ...


def unavailable(where: str, why: str, driver: str, reason: str) -> StoreUnavailable:
    """The one wording of a store failure: where, why in plain words, the driver's words."""
    return StoreUnavailable(f"the review store {where} cannot be written: {why} "
                            f"({driver}: {reason}); nothing was saved")


def plain_reason(reason: str, hints: dict[str, str]) -> str:
    """The first hint whose key appears in the driver's message, else the message itself."""
    return next((v for k, v in hints.items() if k in reason.lower()), reason)
