"""The one receiver that writes the audit event of every transition (docs/domain.md "Cases"),
and posts the seller's portal notification of a milestone (cases.notices) with it: both
commit or roll back with the transition."""

from django.dispatch import receiver
from django_fsm.signals import post_transition

from cases.models import Case, CaseEvent
from cases.notices import case_milestone_post


@receiver(post_transition, sender=Case, dispatch_uid="cases.audit_transition")
def record_transition(
    sender, instance: Case, name: str, source: str, target: str, **kwargs
) -> None:
    if kwargs.get("exception") is not None:
        return
    method_kwargs = kwargs.get("method_kwargs") or {}
    by = method_kwargs.get("by")
    event = CaseEvent.objects.create(
        case=instance,
        kind=CaseEvent.Kind.TRANSITION,
        transition=name,
        from_status=source,
        to_status=target,
        actor=by if by is not None and by.is_authenticated else None,
        actor_process=method_kwargs.get("process", "") or ("" if by else "system"),
        reason=method_kwargs.get("reason", ""),
    )
    case_milestone_post(case=instance, transition=name, event=event)
