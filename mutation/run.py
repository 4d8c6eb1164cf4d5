"""`make mutation`: mutmut over the pure rule modules, scored without the equivalent mutants.

Runs mutmut 3 in a scratch copy of the project (``var/mutation/project``: the files git
tracks or would track, as they are in the work tree), with the settings of
``mutation/mutmut.toml``; then prints, for each mutated module, the mutants killed out of
those that count, the equivalent ones left out (``mutation/equivalent.txt``) and every
other survivor with its diff. Exits 1 when a non-equivalent mutant survives, or when an
entry of the equivalents list no longer matches a surviving mutant (it was killed, or its
line changed): the list must stay true.

    .venv/bin/python mutation/run.py [--max-children N] [--keep]

``--keep`` reuses the scratch copy's earlier results (mutmut re-tests only the functions
that changed); by default each run starts from nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutation"
CONFIG = HERE / "mutmut.toml"
EQUIVALENTS = HERE / "equivalent.txt"
WORK = ROOT / "var" / "mutation"
PROJECT = WORK / "project"
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
# Never copied into the scratch project.
LEFT_OUT = {".git", ".venv", ".tools", "var", "mutants", "node_modules"}
# mutmut's verdicts (mutmut.stats.status_by_exit_code) that count as a test noticing the
# mutant: a failure, a time-out (the mutant looped) or a kill after the CPU limit.
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


@dataclass
class Equivalent:
    mutant: str
    change: str
    why: str
    line: int
    matched: list[str] = field(default_factory=list)


@dataclass
class Mutant:
    name: str
    status: str
    diff: str = ""

    @property
    def function(self) -> str:
        return self.name.partition("__mutmut_")[0]

    @property
    def change(self) -> str:
        """The diff's changed lines, each as its sign, a space and the stripped line, joined
        by " / ": ``- if now < at: / + if now <= at:``."""
        return " / ".join(
            f"{line[0]} {line[1:].strip()}"
            for line in self.diff.splitlines()
            if line[:1] in {"-", "+"} and not line.startswith(("---", "+++"))
        )


def say(*parts: object, flush: bool = True) -> None:
    """print(), which ruff keeps out of the project's code."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    if flush:
        sys.stdout.flush()


def project_files() -> list[Path]:
    """What a clone of the work tree would hold: tracked and untracked-but-not-ignored."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout.decode()
        paths = [Path(p) for p in listed.split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        paths = [p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file()]
    return [
        p
        for p in paths
        if p.parts[0] not in LEFT_OUT and "__pycache__" not in p.parts and (ROOT / p).is_file()
    ]


def prepare(*, keep: bool) -> dict:
    settings = tomllib.loads(CONFIG.read_text())["tool"]["mutmut"]
    if not keep and PROJECT.exists():
        shutil.rmtree(PROJECT)
    PROJECT.mkdir(parents=True, exist_ok=True)
    files = project_files()
    for path in files:
        target = PROJECT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        source = ROOT / path
        if not target.exists() or target.stat().st_mtime != source.stat().st_mtime:
            shutil.copy2(source, target)
    # Django needs the whole project to start: copy every other top-level entry too.
    top = sorted({p.parts[0] for p in files} - {"pyproject.toml", "tests"})
    pyproject = (ROOT / "pyproject.toml").read_text()
    if "[tool.mutmut]" in pyproject:
        sys.exit(
            "pyproject.toml has a [tool.mutmut] table: keep mutmut's settings in " + str(CONFIG)
        )
    table = ["", "[tool.mutmut]"]
    for key, value in {**settings, "also_copy": top}.items():
        table.append(f"{key} = {toml_value(value)}")
    (PROJECT / "pyproject.toml").write_text(pyproject + "\n".join(table) + "\n")
    return settings


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def run_mutmut(max_children: int) -> int:
    env = {
        **os.environ,
        # Repeatable examples, as in `make test`, without shrinking (mutation/pytest_plugin.py):
        # a mutant is judged by the same examples as the clean run that chose its tests.
        "HYPOTHESIS_PROFILE": "mutation",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    log = WORK / "mutmut.log"
    say(f"mutmut run in {PROJECT.relative_to(ROOT)} (log: {log.relative_to(ROOT)})", flush=True)
    with log.open("w") as out:
        process = subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(max_children)],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if process.returncode != 0:
        say(log.read_text()[-5000:])
    return process.returncode


def read_equivalents() -> list[Equivalent]:
    """Blocks of ``mutant:``, ``change:`` and ``why:`` lines; ``#`` starts a comment."""
    entries: list[Equivalent] = []
    block: dict[str, str] = {}
    start = 0

    def close() -> None:
        if not block:
            return
        missing = {"mutant", "change", "why"} - set(block)
        if missing:
            sys.exit(f"{EQUIVALENTS.name}:{start}: missing {', '.join(sorted(missing))}")
        entries.append(Equivalent(block["mutant"], block["change"], block["why"], start))
        block.clear()

    last = None
    for number, raw in enumerate(EQUIVALENTS.read_text().splitlines(), 1):
        line = raw.rstrip()
        if line.lstrip().startswith("#"):
            continue
        if not line:
            close()
            last = None
            continue
        key, sep, value = line.partition(":")
        if sep and key in {"mutant", "change", "why"}:
            if not block:
                start = number
            block[key] = value.strip()
            last = key
        elif last and raw[:1].isspace():
            block[last] += " " + line.strip()  # a continued line
        else:
            sys.exit(f"{EQUIVALENTS.name}:{number}: expected 'mutant:', 'change:' or 'why:'")
    close()
    return entries


def collect(source_paths: list[str]) -> dict[str, list[Mutant]]:
    """Each module's mutants and their verdicts, read from mutmut's files in the copy."""
    os.chdir(PROJECT)  # mutmut reads its settings from the working directory
    sys.path.insert(0, str(PROJECT))
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    modules = {}
    for path in source_paths:
        data = SourceFileMutationData(path=Path(path))
        data.load()
        mutants = []
        for name, code in sorted(data.exit_code_by_key.items(), key=lambda kv: natural(kv[0])):
            mutant = Mutant(name, status_by_exit_code[code])
            if mutant.status not in KILLED:
                mutant.diff = get_diff_for_mutant(name, path=path)
            mutants.append(mutant)
        modules[path] = mutants
    return modules


def natural(name: str) -> tuple[str, int]:
    function, _, number = name.partition("__mutmut_")
    return function, int(number or 0)


def report(modules: dict[str, list[Mutant]], equivalents: list[Equivalent]) -> bool:
    ok = True
    by_key = {}
    for entry in equivalents:
        by_key.setdefault((entry.mutant.partition("__mutmut_")[0], entry.change), []).append(entry)
    lines = []
    for path, mutants in modules.items():
        killed = [m for m in mutants if m.status in KILLED]
        equivalent, survivors = [], []
        for mutant in mutants:
            if mutant.status in KILLED:
                continue
            entries = by_key.get((mutant.function, mutant.change))
            if entries:
                entries[0].matched.append(mutant.name)
                equivalent.append(mutant)
            else:
                survivors.append(mutant)
        counted = len(mutants) - len(equivalent)
        score = 100 * len(killed) / counted if counted else 100.0
        lines.append(
            f"{path}: {len(killed)}/{counted} killed ({score:.1f}%); "
            f"{len(mutants)} mutants, {len(equivalent)} equivalent (not counted), "
            f"{len(survivors)} surviving"
        )
        for mutant in survivors:
            ok = False
            lines.append(f"  SURVIVED ({mutant.status}): {mutant.name}")
            lines.extend("    " + line for line in mutant.diff.splitlines()[2:])
    say("\n== mutation score ==")
    say("\n".join(lines))
    stale = [e for e in equivalents if not e.matched]
    if stale:
        ok = False
        say(f"\n{EQUIVALENTS.name}: entries that match no surviving mutant (killed now, or")
        say("their line changed; remove or update them):")
        for entry in stale:
            say(f"  line {entry.line}: {entry.mutant}: {entry.change}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="reuse the earlier results")
    args = parser.parse_args()

    started = time.monotonic()
    settings = prepare(keep=args.keep)
    equivalents = read_equivalents()
    if run_mutmut(args.max_children) != 0:
        say("mutmut failed; see the log above.")
        return 2
    ok = report(collect(settings["source_paths"]), equivalents)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    say(f"\nmake mutation took {minutes} min {seconds} s.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
