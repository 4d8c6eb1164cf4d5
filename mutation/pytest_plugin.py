"""A pytest plugin for mutation runs only (``-p mutation.pytest_plugin`` in mutmut.toml).

Registers the Hypothesis profile ``mutation``, which mutation/run.py selects: the
repeatable examples of ``ci`` (tests/conftest.py), but no shrinking (a mutant that fails
an example is killed at once; shrinking its example can take minutes), no example
database (each mutant meets the examples of the clean run) and no deadline (a slower
mutant is not a wrong one).
"""

from hypothesis import Phase, settings

settings.register_profile(
    "mutation",
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    print_blob=False,
)


def pytest_collection_modifyitems(config, items):
    """Fastest tests first, by their clean run in mutmut's stats: mutmut stops at the first
    failure (``-x``), so a mutant a quick test kills costs that test only (and no test
    database, when no database test ran before it)."""
    import json
    from pathlib import Path

    stats = Path("mutmut-stats.json")
    if not stats.exists():
        return
    duration = json.loads(stats.read_text())["duration_by_test"]
    database = {"db", "transactional_db", "client", "live_server", "django_db_setup"}

    def cost(item) -> float:
        # A first database test also builds the test database: a few seconds.
        uses_database = item.get_closest_marker("django_db") or database & set(
            getattr(item, "fixturenames", ())
        )
        return duration.get(item.nodeid, 0.0) + (3.0 if uses_database else 0.0)

    items.sort(key=cost)
