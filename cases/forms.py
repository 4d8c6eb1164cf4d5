"""Forms of the specialist desk (``/desk/``): queue filters, notes, plan steps, new cases."""

from django import forms
from django.utils.text import Truncator

from accounts.models import User
from cases.models import Case, CaseNote, RemediationStep
from sellers.models import PolicyArea, Seller, Severity, Store


class QueueFilterForm(forms.Form):
    """The queue's filters; a value that is not a choice is ignored, never an error page."""

    status = forms.ChoiceField(
        required=False, label="Status", choices=[("", "Any open status"), *Case.Status.choices]
    )
    store = forms.ChoiceField(required=False, label="Store")
    severity = forms.ChoiceField(
        required=False, label="Severity", choices=[("", "Any severity"), *Severity.choices]
    )
    policy_area = forms.ChoiceField(
        required=False, label="Policy area", choices=[("", "Any policy area"), *PolicyArea.choices]
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [
            ("", "Any store"),
            *((store.code, f"{store.code} · {store.name}") for store in Store.objects.all()),
        ]

    def applied(self) -> tuple[dict[str, str | None], list[str]]:
        """The valid filters (name → value or None) and a sentence per ignored one."""
        self.is_valid()
        filters = {name: self.cleaned_data.get(name) or None for name in self.fields}
        ignored = [
            f"Ignored the {self.fields[name].label.lower()} filter: "
            f"“{Truncator(self.data.get(name, '')).chars(40)}” is not one of its choices."
            for name in self.errors
        ]
        return filters, ignored


def max_length_of(model: type, field: str) -> int:
    """The model field's text limit, the same as the API's (a maxlength in the page)."""
    return model._meta.get_field(field).max_length


class NoteForm(forms.Form):
    """A note on the case; its ids differ from the step form's on the same page."""

    text = forms.CharField(
        label="Note",
        max_length=max_length_of(CaseNote, "text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write something in the note."},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class RemediationStepForm(forms.Form):
    """One step of the plan the seller sees: what, who does it, by when."""

    text = forms.CharField(
        label="Step",
        max_length=max_length_of(RemediationStep, "text"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what has to be done."},
    )
    owner = forms.ChoiceField(label="Owner", choices=RemediationStep.Owner.choices)
    due_on = forms.DateField(
        label="Due on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Give the date the step is due.",
            "invalid": "Enter a date, e.g. 2026-03-31.",
        },
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "step_%s")
        super().__init__(*args, **kwargs)


class SpecialistChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


class AssignForm(forms.Form):
    assigned_to = SpecialistChoiceField(
        label="Assign to",
        queryset=User.objects.filter(specialist__isnull=False, is_active=True).order_by(
            "first_name", "last_name", "username"
        ),
        required=False,
        empty_label="Nobody (unassigned)",
    )


class NewCaseForm(forms.Form):
    """A case a specialist opens by hand; the seller is named by the marketplace's id."""

    seller_id = forms.CharField(
        label="Seller id",
        max_length=64,
        help_text="The marketplace's id of the seller, e.g. A0000001.",
        error_messages={"required": "Enter the seller id."},
    )
    policy_area = forms.ChoiceField(
        label="Policy area", choices=[("", "Choose…"), *PolicyArea.choices]
    )
    severity = forms.ChoiceField(
        label="Severity", choices=[("", "Choose…"), *Severity.choices], initial=Severity.CRITICAL
    )
    summary = forms.CharField(label="Summary", max_length=max_length_of(Case, "summary"))
    evidence = forms.CharField(
        label="Evidence",
        required=False,
        max_length=max_length_of(Case, "evidence"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean_seller_id(self) -> Seller:
        seller_id = self.cleaned_data["seller_id"].strip()
        seller = Seller.objects.select_related("store").filter(seller_id=seller_id).first()
        if seller is None:
            raise forms.ValidationError(
                "No seller has the id “%(seller_id)s”.",
                code="unknown_seller",
                params={"seller_id": seller_id},
            )
        return seller
