from django.urls import path

from sellers import views

app_name = "sellers"
urlpatterns = [
    path("", views.PortalView.as_view(), name="portal"),
]
