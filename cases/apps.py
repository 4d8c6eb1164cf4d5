from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self) -> None:
        from cases import signals  # noqa: F401 - connects the audit receiver
        from cases.health import on_health_evaluated
        from sellers.signals import health_evaluated

        # Account-health cases open and close with the sellers' evaluation (cases.health).
        health_evaluated.connect(on_health_evaluated, dispatch_uid="cases.account_health")
