"""``/api/v1/``: each app adds its routes here."""

urlpatterns: list = []
