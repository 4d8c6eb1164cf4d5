from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.ReportsIndexView.as_view(), name="index"),
    path("account-health.csv", views.AccountHealthCsvView.as_view(), name="account_health_csv"),
]
