"""The timer sweep as Celery tasks (see cases.timers)."""

from celery import shared_task

from cases import timers


# Not acks_late: a sweep lost with its worker is simply the next minute's sweep.
@shared_task(name="cases.tasks.sweep_due_cases", ignore_result=True)
def sweep_due_cases() -> dict:
    return timers.sweep_due_cases().as_dict()


@shared_task(name="cases.tasks.sweep_case", ignore_result=True)
def sweep_case_task(case_id: int) -> dict:
    return timers.sweep_case(case_id).as_dict()
