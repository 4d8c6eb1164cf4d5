from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("cases/new/", views.NewCaseView.as_view(), name="new"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="detail"),
    path(
        "cases/<int:pk>/transitions/<slug:name>/",
        views.TransitionView.as_view(),
        name="transition",
    ),
    path("cases/<int:pk>/notes/", views.NoteView.as_view(), name="note"),
    path("cases/<int:pk>/steps/", views.StepAddView.as_view(), name="step_add"),
    path(
        "cases/<int:pk>/steps/<int:step_id>/done/", views.StepDoneView.as_view(), name="step_done"
    ),
    path("cases/<int:pk>/assign/", views.AssignView.as_view(), name="assign"),
]
