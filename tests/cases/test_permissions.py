"""Who may open what: every case screen, admin page and API endpoint, for every kind of user.

The table below says, for each request, the answer each visitor gets: anonymous,
the seller who owns the case, another seller, a specialist, a manager, an administrator.
Sellers never see another seller's case (404), never fire a transition (403) and never
reach the admin; a refused request changes nothing. The audit trail is append-only for
everybody, administrators included, in the admin, on the model and on querysets.
"""

import json
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.test import Client

from accounts.roles import Role
from cases.models import Case, CaseEvent, RemediationStep
from cases.services import case_open, case_transition, remediation_step_add
from config.append_only import AppendOnlyError
from tests.factories import AdminFactory, SellerFactory, SpecialistFactory, UserFactory

pytestmark = pytest.mark.django_db

ANONYMOUS, OWNER, OTHER_SELLER, SPECIALIST, MANAGER, ADMIN = (
    "anonymous",
    "owner",
    "other seller",
    "specialist",
    "manager",
    "admin",
)
VISITORS = [ANONYMOUS, OWNER, OTHER_SELLER, SPECIALIST, MANAGER, ADMIN]


@dataclass(frozen=True)
class Redirect:
    """A 302 whose Location starts with ``to`` (formatted like the request's path)."""

    to: str


LOGIN = Redirect("/accounts/login/")
# The admin sends whoever is not staff to its own login page.
NOT_STAFF = Redirect("/admin/login/")
BACK = Redirect("/desk/cases/{case}/")
NEW = Redirect("/desk/cases/")
EVENTS = Redirect("/admin/cases/caseevent/")


@dataclass(frozen=True)
class Call:
    """One request and, in the order of VISITORS, the answer each visitor gets."""

    route: str  # "METHOD path"
    answers: tuple[int | Redirect, ...]
    data: dict = field(default_factory=dict)
    json: bool = False
    escalated: bool = False  # sent about an escalated case instead of an opened one
    leaves: str = ""  # the kind of event an accepted POST appends to the trail

    @property
    def method(self) -> str:
        return self.route.split()[0]

    @property
    def path(self) -> str:
        return self.route.split()[1]

    def __str__(self) -> str:
        return self.route + (" (escalated case)" if self.escalated else "")


NEW_CASE = {
    "seller_id": "S-OWNER",
    "policy_area": "counterfeit",
    "severity": "high",
    "summary": "Opened by hand",
}
NOTE = {"text": "Left a voicemail"}
STEP = {"text": "Remove the listing", "owner": "seller", "due_on": "2030-01-31"}
ASSIGN = {"assigned_to": "{colleague}"}
REASON = {"reason": "Spoke to the seller"}
EVENT_EDIT = {"reason": "rewritten", "kind": "note"}
DELETE = {"post": "yes"}
DELETE_SELECTED = {"action": "delete_selected", "_selected_action": "{event}", "post": "yes"}

# fmt: off
# Anonymous, the owner, another seller, a specialist, a manager, an administrator.
DESK = [
    Call("GET /desk/",                                   (LOGIN, 403, 403, 200, 200, 200)),
    Call("GET /desk/?scope=team",                        (LOGIN, 403, 403, 200, 200, 200)),
    Call("GET /desk/cases/{case}/",                      (LOGIN, 403, 403, 200, 200, 200)),
    Call("GET /desk/cases/new/",                         (LOGIN, 403, 403, 200, 200, 200)),
    Call("POST /desk/cases/new/",                        (LOGIN, 403, 403, NEW, NEW, NEW),
         data=NEW_CASE, leaves="opened"),
    Call("POST /desk/cases/{case}/transitions/contact/", (LOGIN, 403, 403, BACK, BACK, BACK),
         leaves="transition"),
    Call("POST /desk/cases/{case}/transitions/reinstate/", (LOGIN, 403, 403, 403, BACK, BACK),
         data=REASON, escalated=True, leaves="transition"),
    Call("POST /desk/cases/{case}/notes/",               (LOGIN, 403, 403, BACK, BACK, BACK),
         data=NOTE, leaves="note"),
    Call("POST /desk/cases/{case}/steps/",               (LOGIN, 403, 403, BACK, BACK, BACK),
         data=STEP, leaves="step_added"),
    Call("POST /desk/cases/{case}/steps/{step}/done/",   (LOGIN, 403, 403, BACK, BACK, BACK),
         leaves="step_done"),
    Call("POST /desk/cases/{case}/assign/",              (LOGIN, 403, 403, 403, BACK, BACK),
         data=ASSIGN, leaves="assignment"),
]
# The portal shows a seller's cases on the seller's page; superusers may look (support).
PORTAL = [
    Call("GET /portal/sellers/S-OWNER/",                 (LOGIN, 200, 404, 403, 403, 200)),
]
ADMIN_SITE = [
    Call("GET /admin/cases/case/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 200, 200, 200)),
    Call("GET /admin/cases/case/{case}/change/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 200, 200, 200)),
    # A case opens through case_open and its trail protects it: no add, no delete.
    Call("GET /admin/cases/case/add/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 403, 403, 403)),
    Call("GET /admin/cases/case/{case}/delete/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 403, 403, 403)),
    Call("GET /admin/cases/case/{case}/transition/nonsense/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 404, 404, 404)),
    Call("GET /admin/cases/caseevent/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 200, 200, 200)),
    # An event's page is read-only: it shows, it never saves.
    Call("GET /admin/cases/caseevent/{event}/change/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 200, 200, 200)),
    Call("POST /admin/cases/caseevent/{event}/change/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 403, 403, 403),
         data=EVENT_EDIT),
    Call("GET /admin/cases/caseevent/add/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 403, 403, 403)),
    Call("GET /admin/cases/caseevent/{event}/delete/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 403, 403, 403)),
    Call("POST /admin/cases/caseevent/{event}/delete/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 403, 403, 403),
         data=DELETE),
    # No action is offered, "delete selected" included: the list just shows again.
    Call("POST /admin/cases/caseevent/",
         (NOT_STAFF, NOT_STAFF, NOT_STAFF, 200, 200, 200),
         data=DELETE_SELECTED),
]
API = [
    Call("GET /api/v1/cases/",                           (401, 200, 200, 200, 200, 200)),
    Call("POST /api/v1/cases/",                          (401, 403, 403, 201, 201, 201),
         data={**NEW_CASE, "upstream_id": "UP-NEW"}, json=True, leaves="opened"),
    Call("GET /api/v1/cases/{case}/",                    (401, 200, 404, 200, 200, 200)),
    Call("GET /api/v1/cases/{case}/events/",             (401, 200, 404, 200, 200, 200)),
    Call("POST /api/v1/cases/{case}/transitions/contact/", (401, 403, 404, 200, 200, 200),
         json=True, leaves="transition"),
    Call("POST /api/v1/cases/{case}/transitions/escalate/", (401, 403, 404, 200, 200, 200),
         data={"reason": "No answer"}, json=True, leaves="transition"),
    # On an opened case, reinstating is a manager's act that is not possible now (409).
    Call("POST /api/v1/cases/{case}/transitions/reinstate/", (401, 403, 404, 403, 409, 409),
         data=REASON, json=True),
    Call("POST /api/v1/cases/{case}/transitions/reinstate/", (401, 403, 404, 403, 200, 200),
         data=REASON, json=True, escalated=True, leaves="transition"),
]
# fmt: on
MATRIX = [
    pytest.param(call, visitor, id=f"{call}-{visitor}")
    for call in DESK + PORTAL + ADMIN_SITE + API
    for visitor in VISITORS
]


@dataclass
class World:
    case: Case
    step: RemediationStep
    event: CaseEvent
    users: dict[str, object]
    clients: dict[str, Client]
    colleague: object

    @property
    def specialist(self) -> object:
        return self.users[SPECIALIST]

    def fill(self, text: str) -> str:
        return text.format(
            case=self.case.pk, step=self.step.pk, event=self.event.pk, colleague=self.colleague.pk
        )


@pytest.fixture
def world() -> World:
    owner_seller = SellerFactory(seller_id="S-OWNER")
    specialist = SpecialistFactory().user
    case, _ = case_open(
        seller=owner_seller, policy_area="counterfeit", severity="critical", summary="Matrix"
    )
    step = remediation_step_add(
        case_id=case.pk, by=specialist, text="Send invoices", owner="seller", due_on="2030-01-31"
    )
    owner = UserFactory(role=Role.SELLER)
    owner_seller.users.add(owner)
    other = UserFactory(role=Role.SELLER)
    SellerFactory(seller_id="S-OTHER").users.add(other)
    users = {
        OWNER: owner,
        OTHER_SELLER: other,
        SPECIALIST: specialist,
        MANAGER: UserFactory(role=Role.MANAGER),
        ADMIN: AdminFactory(),
    }
    clients = {ANONYMOUS: Client()}
    for visitor, user in users.items():
        clients[visitor] = Client()
        clients[visitor].force_login(user)
    return World(
        case=case,
        step=step,
        event=case.events.first(),
        users=users,
        clients=clients,
        colleague=SpecialistFactory().user,
    )


def trail() -> list[dict]:
    return list(CaseEvent.objects.order_by("pk").values())


@pytest.mark.parametrize(("call", "visitor"), MATRIX)
def test_each_visitor_gets_the_answer_of_the_table(world, call, visitor):
    if call.escalated:
        case_transition(
            case_id=world.case.pk, name="escalate", by=world.specialist, reason="No answer"
        )
    path = world.fill(call.path)
    data = {key: world.fill(value) for key, value in call.data.items()}
    client = world.clients[visitor]
    before_case = Case.objects.filter(pk=world.case.pk).values().get()
    before_trail = trail()
    cases_before = Case.objects.count()

    if call.method == "GET":
        response = client.get(path)
    elif call.json:
        response = client.post(path, json.dumps(data), content_type="application/json")
    else:
        response = client.post(path, data)

    expected = call.answers[VISITORS.index(visitor)]
    if isinstance(expected, Redirect):
        assert response.status_code == 302, (response.status_code, str(call), visitor)
        assert response["Location"].startswith(world.fill(expected.to)), response["Location"]
    else:
        assert response.status_code == expected, (response.status_code, str(call), visitor)

    # The audit trail only ever grows: whatever was in it is still there, unchanged.
    assert trail()[: len(before_trail)] == before_trail
    refused = expected in {401, 403, 404, 409, LOGIN, NOT_STAFF}
    if refused or call.method == "GET":
        assert Case.objects.filter(pk=world.case.pk).values().get() == before_case
        assert Case.objects.count() == cases_before
        assert trail() == before_trail
    elif call.leaves:
        added = [(row["kind"], row["actor_id"]) for row in trail()[len(before_trail) :]]
        assert (call.leaves, world.users[visitor].pk) in added, added


def test_sellers_list_only_their_own_cases(world):
    theirs, _ = case_open(
        seller=SellerFactory(seller_id="S-OTHER"),
        policy_area="counterfeit",
        severity="high",
        summary="Not yours",
    )
    own = world.clients[OWNER].get("/api/v1/cases/").json()
    other = world.clients[OTHER_SELLER].get("/api/v1/cases/").json()
    assert [case["id"] for case in own["results"]] == [world.case.pk]
    assert [case["id"] for case in other["results"]] == [theirs.pk]
    for path in (f"/api/v1/cases/{theirs.pk}/", f"/api/v1/cases/{theirs.pk}/events/"):
        assert world.clients[OWNER].get(path).status_code == 404
    # The portal: each seller's page shows its own case, and the other's page is not there.
    own_page = world.clients[OWNER].get("/portal/sellers/S-OWNER/")
    assert "Matrix" in own_page.text
    assert "Not yours" not in own_page.text
    assert world.clients[OWNER].get("/portal/sellers/S-OTHER/").status_code == 404


@pytest.mark.parametrize(
    ("visitor", "status"),
    [(SPECIALIST, "escalated"), (MANAGER, "contacted"), (ADMIN, "contacted")],
)
def test_admin_reinstate_button_is_for_managers_only(world, visitor, status):
    case_transition(case_id=world.case.pk, name="escalate", by=world.specialist, reason="x")
    response = world.clients[visitor].post(
        f"/admin/cases/case/{world.case.pk}/transition/reinstate/", {"reason": "Spoke to them"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/cases/case/{world.case.pk}/change/"
    world.case.refresh_from_db()
    assert world.case.status == status
    reinstated = world.case.events.filter(transition="reinstate")
    expected_actors = [] if visitor == SPECIALIST else [world.users[visitor]]
    assert [event.actor for event in reinstated] == expected_actors


# --- the audit trail is append-only for everybody -------------------------------------


def test_an_event_cannot_be_saved_again_or_deleted(world):
    event = world.event
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["reason"])
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert CaseEvent.objects.get(pk=event.pk).reason != "rewritten"


@pytest.mark.parametrize(
    "change",
    [
        lambda events: events.update(reason="rewritten"),
        lambda events: events.delete(),
        lambda events: events.filter(kind="opened").update(kind="note"),
        lambda events: CaseEvent.objects.bulk_update(
            [CaseEvent(pk=e.pk, reason="rewritten") for e in events], ["reason"]
        ),
        lambda events: events.update_or_create(pk=events[0].pk, defaults={"reason": "x"}),
    ],
    ids=["update", "delete", "filtered-update", "bulk_update", "update_or_create"],
)
@pytest.mark.parametrize("through", ["manager", "case.events"])
def test_events_cannot_be_changed_in_bulk(world, change, through):
    before = trail()
    events = CaseEvent.objects.all() if through == "manager" else world.case.events.all()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        change(events)
    assert trail() == before


def test_a_case_with_a_trail_cannot_be_deleted(world):
    with pytest.raises(ProtectedError):
        world.case.delete()
    with pytest.raises(ProtectedError):
        Case.objects.filter(pk=world.case.pk).delete()
    assert Case.objects.filter(pk=world.case.pk).exists()
