"""``/api/v1/``: each app's endpoints."""

from django.urls import path

from sellers import api as sellers_api

urlpatterns = [
    path("sellers/", sellers_api.SellerCollection.as_view(), name="api-sellers"),
    path("sellers/<str:seller_id>/", sellers_api.SellerDetail.as_view(), name="api-seller"),
    path(
        "sellers/<str:seller_id>/assurance/",
        sellers_api.SellerAssurance.as_view(),
        name="api-seller-assurance",
    ),
    path("ahr/", sellers_api.AhrFeed.as_view(), name="api-ahr"),
]
