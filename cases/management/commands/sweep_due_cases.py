import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from cases.timers import sweep_due_cases


class Command(BaseCommand):
    help = (
        "Acts on every case whose timer is due: outreach calls and emails, deadline "
        "warnings, escalations; re-queues deliveries to retry. Beat runs it every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Cases locked per transaction."
        )
        parser.add_argument(
            "--now",
            help="Act as if it were this moment, ISO 8601 with a zone (for rehearsals).",
        )

    def handle(self, *args: object, **options: object) -> None:
        now = None
        if options["now"]:
            try:
                now = dt.datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(f"--now: {options['now']!r} is not an ISO 8601 time") from None
            if now.tzinfo is None:
                raise CommandError("--now: give a time zone, as in 2026-11-23T09:00+00:00")
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size: must be at least 1")
        report = sweep_due_cases(now=now, batch_size=options["batch_size"])
        self.stdout.write("  ".join(f"{key}: {value}" for key, value in report.as_dict().items()))
