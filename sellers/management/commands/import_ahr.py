import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sellers.importing import CsvFormatError, import_ahr_csv


class Command(BaseCommand):
    help = (
        "Imports daily AHR values from a CSV file with the columns seller_id,date,score, "
        "then evaluates the sellers concerned. Bad rows are skipped and written to "
        "FILE.rejected.csv beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--chunk-size", type=int, default=100_000)

    def handle(self, *args: object, **options: object) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        rejected_path = path.with_name(f"{path.stem}.rejected.csv")
        started = time.monotonic()
        interactive = sys.stderr.isatty()

        def progress(rows: int) -> None:
            rate = rows / max(time.monotonic() - started, 1e-9)
            line = f"\r{rows:,} rows read ({rate:,.0f} rows/s)"
            if interactive:
                self.stderr.write(line, ending="")
            elif rows % 1_000_000 == 0:
                self.stderr.write(line.strip())

        try:
            summary = import_ahr_csv(
                path,
                rejected_path=rejected_path,
                progress=progress,
                chunk_size=options["chunk_size"],
            )
        except CsvFormatError as error:
            raise CommandError(f"{path}: {error}") from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
            ) from None
        if interactive:
            self.stderr.write("")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"accepted: {summary.accepted:,}  rejected: {summary.rejected_count:,}  "
            f"({elapsed:.1f} s)"
        )
        self.stdout.write(
            "enrolled: {enrolled}  removed: {removed}  warned: {warned}".format(
                **summary.enrollment
            )
        )
        if summary.rejected_count:
            self.stdout.write(f"rejected rows and why: {rejected_path}")
        else:
            rejected_path.unlink(missing_ok=True)
