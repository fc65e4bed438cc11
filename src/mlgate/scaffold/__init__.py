"""`mlgate init`: what a team's existing repository needs to run `pytest gates/`.

It writes the thin gate modules, the example pipeline (now the team's own
file), monitoring configs, CI workflows, MLProject and conda.yaml from
`files/`, a `[tool.mlgate]` table, a drafted expectations suite and ignore rules.
It never overwrites a file unless forced and names what it skipped, so a
second run changes nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mlgate import __version__
from mlgate.settings import Settings, SettingsError, load_settings

FILES = Path(__file__).parent / "files"
IGNORED = ("mlflow.db", "mlflow.db.lock", "mlruns/", "mlartifacts/", "artifacts/", "artifacts.tmp*/",
           "artifacts.lock", ".benchmarks/", ".hypothesis/", "history/", ".team/")
IGNORE_HEADER = "# mlgate: the tracking store, the bundle and the session's caches"


@dataclass
class Written:
    """What init did to each path, for the lines it prints."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"wrote {path}" for path in self.written]
        lines += [f"skipped {path}: it exists (--force overwrites)" for path in self.skipped]
        return [*lines, *self.notes] or ["nothing to do: the project already has every file"]


def tokens(root: Path, dataset: str, target: str) -> dict[str, str]:
    """The values templates take: this repository installs itself; any other project installs the release."""
    if _project_name(root) == "mlgate":
        install, boosting = "-e .", "-e .[boosting]"
    else:
        install, boosting = f"mlgate=={__version__}", f"mlgate[boosting]=={__version__}"
    return {"@MLGATE@": install, "@MLGATE_BOOSTING@": boosting, "@DATASET@": dataset, "@TARGET@": target}


def rendered(template: Path, values: dict[str, str]) -> bytes:
    content = template.read_bytes()
    for token, value in values.items():
        content = content.replace(token.encode(), value.encode())
    return content


def templates() -> list[Path]:
    return sorted(p for p in FILES.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def init_project(root: Path, dataset: str | None, target: str | None, force: bool = False) -> Written:
    """Write the scaffold into `root`; a file that exists is skipped unless `force`."""
    settings = _settings(root, dataset, target)
    done = Written()
    values = tokens(root, settings.dataset_as_given or settings.dataset, settings.target)
    for template in templates():
        relative = template.relative_to(FILES)
        _write(root / relative, rendered(template, values), str(relative), force, done)
    _add_table(root, settings, dataset, target, done)
    _draft_suite(root, settings, force, done)
    _ignore(root, done)
    done.notes.append("next: pytest gates/   (the first green session registers the champion)")
    return done


def _project_name(root: Path) -> str:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return ""
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name", "")
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{pyproject} is not valid TOML ({error}); fix it, then run mlgate init again") from None


def _settings(root: Path, dataset: str | None, target: str | None) -> Settings:
    pyproject = root / "pyproject.toml"
    return load_settings(
        pyproject=pyproject if pyproject.is_file() else None,
        overrides={"dataset": dataset, "target": target},
        workdir=root,
    )


def _write(path: Path, content: bytes, shown: str, force: bool, done: Written) -> None:
    if path.exists() and not force:
        if path.read_bytes() != content:
            done.skipped.append(shown)
        return
    if path.exists() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if path.suffix == ".sh":
        path.chmod(0o755)
    done.written.append(shown)


def table_text(dataset: str, target: str) -> str:
    """The `[tool.mlgate]` table init adds: the two settings every project must choose."""
    return (
        "\n[tool.mlgate]\n"
        "# Every setting and its default: mlgate's settings reference (docs/reference/settings.md).\n"
        f'dataset = "{dataset}"\n'
        f'target = "{target}"\n'
    )


def _add_table(root: Path, settings: Settings, dataset: str | None, target: str | None, done: Written) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    if "mlgate" in tomllib.loads(text).get("tool", {}):
        if dataset or target:
            done.notes.append(f"[tool.mlgate] exists in {pyproject.name}: set dataset and target there yourself")
        return
    shown = settings.dataset_as_given or settings.dataset
    pyproject.write_text(text + table_text(shown, settings.target), encoding="utf-8")
    done.written.append("pyproject.toml ([tool.mlgate])")


def _draft_suite(root: Path, settings: Settings, force: bool, done: Written) -> None:
    from mlgate.data import check_target, load_dataset
    from mlgate.expectations import draft_suite, write_suite

    path = root / settings.suite_path
    if path.exists() and not force:
        return
    check_target(settings)
    write_suite(draft_suite(load_dataset(settings.dataset, settings.target), settings.dataset_name), path)
    done.written.append(f"{settings.suite_path} (drafted from {settings.dataset_shown}: review it)")


def _ignore(root: Path, done: Written) -> None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [rule for rule in IGNORED if rule not in present]
    if not missing:
        return
    block = "\n".join([IGNORE_HEADER, *missing])
    path.write_text(text + ("\n" if text and not text.endswith("\n") else "") + block + "\n", encoding="utf-8")
    done.written.append(".gitignore (" + ", ".join(missing) + ")")

