"""Temporary tables for set-based work: fill fast (COPY on PostgreSQL), then join."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def temp_table(name: str, columns: str) -> Iterator[str]:
    """A temporary table for this connection, dropped afterwards (created again if a failed
    use left it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
    # Dropped after success only: after an error the transaction (PostgreSQL's is aborted
    # and refuses any statement) rolls the table back with it, and a DROP here would hide
    # the error that matters behind "current transaction is aborted".
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def fill(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Inserts rows: PostgreSQL's COPY where available, else executemany."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                list(rows),
            )
    analyze(table)


def db_datetime(value):
    """A datetime as this database stores it, for raw SQL (SQLite: naive UTC text, which
    Django's own queries compare against; a Python-adapted value would carry an offset)."""
    return connection.ops.adapt_datetimefield_value(value)


def execute(sql: str, params: dict[str, Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def fetchall(sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def tune_transaction() -> None:
    """Per-transaction settings for bulk statements (PostgreSQL).

    JIT compilation costs more than it saves on these short set-based statements.
    """
    if connection.vendor == "postgresql":
        execute("SET LOCAL jit = off")


def analyze(table: str) -> None:
    """Fresh temporary tables have no statistics: without them PostgreSQL's planner
    guesses a few thousand rows and picks the wrong joins."""
    if connection.vendor == "postgresql":
        execute(f"ANALYZE {table}")
