"""The timer sweep as Celery tasks (see cases.timers).

Tasks import what they run inside their body and services import tasks at the top
(HackSoft's rule), so no import loop forms between the two.
"""

from celery import shared_task


# Not acks_late: a sweep lost with its worker is simply the next minute's sweep.
@shared_task(name="cases.tasks.sweep_due_cases", ignore_result=True)
def sweep_due_cases() -> dict:
    from cases.timers import sweep_due_cases

    return sweep_due_cases().as_dict()


@shared_task(name="cases.tasks.sweep_case", ignore_result=True)
def sweep_case_task(case_id: int) -> dict:
    from cases.timers import sweep_case

    return sweep_case(case_id).as_dict()


@shared_task(name="cases.tasks.announce_plan_steps_due", ignore_result=True)
def announce_plan_steps_due() -> int:
    """Daily: posts (and emails) the seller's plan steps due soon, once per step."""
    from cases.notices import plan_steps_announce_due

    return plan_steps_announce_due()
