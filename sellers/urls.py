from django.urls import path

from sellers import views

app_name = "sellers"
urlpatterns = [
    path("", views.PortalView.as_view(), name="portal"),
    path("sellers/<str:seller_id>/", views.AccountHealthView.as_view(), name="account_health"),
    path("sellers/<str:seller_id>/contact/", views.EmergencyContactView.as_view(), name="contact"),
]
