"""The apps depend one way (CONVENTIONS.md, "The app graph"), read from the source itself.

Every import of a project module in every app module is checked against what its app
may import; a function-local import is no way around it, and is refused outright except
in the few places listed below (each with its reason, also in the README).
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each app may import of the project: its own modules always.
_BASE = {"config"}
_SELLERS = _BASE | {"accounts", "sellers"}
_STAFF = _SELLERS | {"staff"}
_CASES = _STAFF | {"notifications", "cases"}
_CALLBACKS = _CASES | {"callbacks"}
MAY_IMPORT = {
    "config": {"config"},
    "accounts": _BASE | {"accounts"},
    "notifications": _BASE | {"notifications"},
    "sellers": _SELLERS,
    "staff": _STAFF,
    "cases": _CASES,
    "callbacks": _CALLBACKS,
    "reports": _CALLBACKS | {"reports"},
    "portal": _CALLBACKS | {"portal"},
}
# The URL configuration mounts every app.
MOUNTS_EVERY_APP = {"config/urls.py", "config/api_urls.py"}
# Nothing imports these two.
TOP_APPS = {"portal", "reports"}
# Function-local imports of project modules allowed, and why:
LOCAL_IMPORTS_ALLOWED = {
    # Connecting signal receivers is what AppConfig.ready is for.
    "apps.py": "signal receivers are connected in AppConfig.ready",
    # HackSoft's rule: a service imports its tasks at the top, a task imports the
    # service inside its body, so that no import loop forms.
    "tasks.py": "a task imports the service it runs inside its body",
}


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    module: str
    local: bool

    @property
    def app(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        where = "inside a function" if self.local else "at the top"
        return f"{self.path}:{self.line}: imports {self.module} ({where})"


def app_modules() -> list[Path]:
    return sorted(
        path
        for app in MAY_IMPORT
        if (ROOT / app).is_dir()
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def imports_of(path: Path, *, shown_as: str | None = None) -> list[Import]:
    """The project imports of one module; ``shown_as`` is its path in the tree."""
    relative = shown_as or str(path.relative_to(ROOT))
    tree = ast.parse(path.read_text(), filename=relative)
    found = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            elif isinstance(child, ast.ImportFrom) and child.level:
                # A relative import stays inside its own package.
                names = [relative.split("/")[0]]
            found.extend(
                Import(relative, child.lineno, name, local)
                for name in names
                if name.split(".")[0] in MAY_IMPORT
            )
            visit(child, inside)

    visit(tree, local=False)
    return found


def all_imports() -> list[Import]:
    return [found for path in app_modules() for found in imports_of(path)]


def test_every_app_imports_only_what_the_graph_allows():
    wrong = [
        str(found)
        for found in all_imports()
        if found.path not in MOUNTS_EVERY_APP
        and found.app not in MAY_IMPORT[found.path.split("/")[0]]
    ]
    assert wrong == [], "Imports against the app graph:\n" + "\n".join(wrong)


def test_nothing_imports_the_portal_or_the_reports():
    wrong = [
        str(found)
        for found in all_imports()
        if found.app in TOP_APPS
        and found.path.split("/")[0] != found.app
        and found.path not in MOUNTS_EVERY_APP
    ]
    assert wrong == [], "\n".join(wrong)


def test_no_function_local_import_of_a_project_module_outside_the_allowed_places():
    wrong = [
        str(found)
        for found in all_imports()
        if found.local and Path(found.path).name not in LOCAL_IMPORTS_ALLOWED
    ]
    assert wrong == [], "Function-local imports of project modules:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("from cases.models import Case\n", "notifications/fake.py:1: imports cases.models"),
        (
            "def f():\n    from sellers import services\n",
            "notifications/fake.py:2: imports sellers (inside a function)",
        ),
        ("import portal.views\n", "notifications/fake.py:1: imports portal.views"),
    ],
)
def test_the_check_names_the_file_and_line_of_a_wrong_import(tmp_path, source, refused):
    path = tmp_path / "fake.py"
    path.write_text(source)
    [found] = imports_of(path, shown_as="notifications/fake.py")
    assert found.app not in MAY_IMPORT["notifications"]
    assert str(found).startswith(refused)
