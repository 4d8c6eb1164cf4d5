import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from sellers.services import assurance_evaluate


class Command(BaseCommand):
    help = (
        "Evaluates AHA eligibility of every seller for a day (today by default), "
        "enrolling and removing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to evaluate, YYYY-MM-DD (default: today).")

    def handle(self, *args: object, **options: object) -> None:
        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date in the form YYYY-MM-DD"
                ) from None
        totals = assurance_evaluate(day=day)
        self.stdout.write(
            f"evaluated: {totals['evaluated']}  enrolled: {totals['enrolled']}  "
            f"removed: {totals['removed']}  warned: {totals['warned']}"
        )
