"""``/api/v1/``: each app's endpoints."""

from django.urls import path

from cases import api as cases_api
from sellers import api as sellers_api

urlpatterns = [
    path("sellers/", sellers_api.SellerCollection.as_view(), name="api-sellers"),
    path("sellers/<str:seller_id>/", sellers_api.SellerDetail.as_view(), name="api-seller"),
    path(
        "sellers/<str:seller_id>/assurance/",
        sellers_api.SellerAssurance.as_view(),
        name="api-seller-assurance",
    ),
    path(
        "sellers/<str:seller_id>/violations/",
        sellers_api.SellerViolations.as_view(),
        name="api-seller-violations",
    ),
    path(
        "sellers/<str:seller_id>/notifications/",
        sellers_api.SellerNotificationList.as_view(),
        name="api-seller-notifications",
    ),
    path(
        "sellers/<str:seller_id>/notifications/read/",
        sellers_api.SellerNotificationsRead.as_view(),
        name="api-seller-notifications-read",
    ),
    path(
        "sellers/<str:seller_id>/notification-preferences/",
        sellers_api.SellerNotificationPreferences.as_view(),
        name="api-seller-notification-preferences",
    ),
    path("ahr/", sellers_api.AhrFeed.as_view(), name="api-ahr"),
    path("violations/", sellers_api.ViolationFeed.as_view(), name="api-violations"),
    path("cases/", cases_api.CaseCollection.as_view(), name="api-cases"),
    path("cases/<int:case_id>/", cases_api.CaseDetail.as_view(), name="api-case"),
    path("cases/<int:case_id>/events/", cases_api.CaseEvents.as_view(), name="api-case-events"),
    path(
        "cases/<int:case_id>/attempts/",
        cases_api.CaseAttempts.as_view(),
        name="api-case-attempts",
    ),
    path(
        "cases/<int:case_id>/transitions/<str:name>/",
        cases_api.CaseTransition.as_view(),
        name="api-case-transition",
    ),
    path("cases/<int:case_id>/steps/", cases_api.CaseSteps.as_view(), name="api-case-steps"),
    path(
        "cases/<int:case_id>/steps/<int:step_id>/done/",
        cases_api.CaseStepDone.as_view(),
        name="api-case-step-done",
    ),
    path("cases/<int:case_id>/notes/", cases_api.CaseNotes.as_view(), name="api-case-notes"),
    path(
        "cases/<int:case_id>/assignment/",
        cases_api.CaseAssignment.as_view(),
        name="api-case-assignment",
    ),
]
