"""Streaming CSV import of AHR values (``manage.py import_ahr``), in constant memory."""

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from sellers.services.feed import DEFAULT_CHUNK, IngestSummary, ahr_ingest

COLUMNS = ("seller_id", "date", "score")


class CsvFormatError(ValueError):
    pass


def read_rows(handle: IO[str]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(handle)
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise CsvFormatError(
            f"the header must name the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}"
        )
    yield from reader


def import_ahr_csv(
    path: Path,
    *,
    rejected_path: Path,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> IngestSummary:
    """Ingests every row of ``path``; rejected rows go to ``rejected_path`` with their errors.

    Row numbers in the rejected file are the CSV's line numbers (the header is line 1).
    """
    with path.open(newline="", encoding="utf-8") as handle:
        # Read the header before creating the rejected file: a wrong file leaves nothing.
        next(read_rows(handle), None)
    with (
        path.open(newline="", encoding="utf-8") as handle,
        rejected_path.open("w", newline="", encoding="utf-8") as rejected_handle,
    ):
        rejected = csv.writer(rejected_handle)
        rejected.writerow(["line", *COLUMNS, "errors"])

        def on_reject(index: int, row: dict, errors: dict[str, list[str]]) -> None:
            message = "; ".join(f"{field}: {' '.join(texts)}" for field, texts in errors.items())
            rejected.writerow([index + 2, *(row.get(column, "") for column in COLUMNS), message])

        def counted(rows: Iterator[dict]) -> Iterator[dict]:
            for number, row in enumerate(rows, start=1):
                if progress and number % 10_000 == 0:
                    progress(number)
                yield row

        return ahr_ingest(
            counted(read_rows(handle)),
            on_reject=on_reject,
            keep_rejected=False,
            chunk_size=chunk_size,
        )
