"""GitHub's side of the `gh` CLI, for the workflow steps run locally: the one thing mocked.

GitHub itself cannot run here. This stands in for the two `gh` commands the
workflows use, against a folder that plays GitHub's run history:

  gh run list --workflow FILE --branch BRANCH --status success --limit N --json databaseId,url
  gh run download RUN_ID --name ARTIFACT --dir DIR

Runs are `runs.json` (newest first, as GitHub lists them); a run's artifact is
the folder `artifacts/RUN_ID/NAME` (absent: expired). Any other command, flag or
field exits non-zero, as would a call without GH_TOKEN and GH_REPO, so a
workflow edited to call gh differently fails its tests instead of being
answered wrongly. Every call is appended to `calls.jsonl` for the tests to read.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

LIST_FIELDS = {"databaseId", "url"}
ROOT_ENV = "FAKE_GITHUB_ROOT"  # set by the installed `gh`: where its run history lives


@dataclass
class FakeGitHub:
    """The run history `gh` sees; `install` writes the `gh` executable that reads it."""

    root: Path
    repository: str = "owner/repo"
    runs: list[dict] = field(default_factory=list)

    def add_run(self, run_id: int, *, workflow: str, branch: str = "main", conclusion: str = "success",
                bundle: Path | None = None, artifact: str = "mlgate-bundle") -> str:
        """A finished run, newest so far; `bundle` is the artifact it uploaded (None: none, or expired)."""
        url = f"https://github.com/{self.repository}/actions/runs/{run_id}"
        self.runs.insert(0, {"databaseId": run_id, "url": url, "workflow": workflow, "branch": branch,
                             "conclusion": conclusion})
        if bundle is not None:
            shutil.copytree(bundle, self.root / "artifacts" / str(run_id) / artifact)
        self._save()
        return url

    def install(self) -> Path:
        """A folder holding `gh`, to put first on a step's PATH."""
        self._save()
        bin_dir = self.root / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        gh = bin_dir / "gh"
        gh.write_text(
            f'#!/bin/sh\n{ROOT_ENV}="{self.root}" exec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n',
            encoding="utf-8",
        )
        gh.chmod(0o755)
        return bin_dir

    def calls(self) -> list[list[str]]:
        path = self.root / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def _save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "runs.json").write_text(json.dumps(self.runs), encoding="utf-8")


def _options(args: list[str], allowed: set[str]) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    items = iter(args)
    for item in items:
        if item.startswith("--"):
            if item not in allowed:
                raise SystemExit(f"unknown flag: {item}")
            options[item] = next(items)
        else:
            positional.append(item)
    return positional, options


def _run_list(root: Path, args: list[str]) -> None:
    _, options = _options(args, {"--workflow", "--branch", "--status", "--limit", "--json"})
    fields = set(options.get("--json", "").split(","))
    if not options.get("--json") or not fields <= LIST_FIELDS:
        raise SystemExit(f"--json fields not modelled: {options.get('--json')}")
    runs = json.loads((root / "runs.json").read_text())
    chosen = [
        r for r in runs
        if r["workflow"] == options.get("--workflow", r["workflow"])
        and r["branch"] == options.get("--branch", r["branch"])
        and r["conclusion"] == options.get("--status", r["conclusion"])
    ][: int(options.get("--limit", 20))]
    print(json.dumps([{k: r[k] for k in fields} for r in chosen]))


def _run_download(root: Path, args: list[str]) -> None:
    positional, options = _options(args, {"--name", "--dir"})
    if len(positional) != 1 or set(options) != {"--name", "--dir"}:
        raise SystemExit("usage modelled: gh run download RUN_ID --name NAME --dir DIR")
    artifact = root / "artifacts" / positional[0] / options["--name"]
    if not artifact.is_dir():
        raise SystemExit("no valid artifacts found to download")
    shutil.copytree(artifact, options["--dir"], dirs_exist_ok=True)


def main(argv: list[str]) -> None:
    root = Path(os.environ[ROOT_ENV])
    with (root / "calls.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\n")
    if not os.environ.get("GH_TOKEN") or not os.environ.get("GH_REPO"):
        raise SystemExit("gh: set GH_TOKEN and GH_REPO (no repository or token in this environment)")
    command = argv[:2]
    if command == ["run", "list"]:
        _run_list(root, argv[2:])
    elif command == ["run", "download"]:
        _run_download(root, argv[2:])
    else:
        raise SystemExit(f"gh {' '.join(argv)}: not modelled")


if __name__ == "__main__":
    main(sys.argv[1:])
