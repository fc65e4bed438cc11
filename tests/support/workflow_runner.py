"""Run a GitHub Actions job's steps locally, as the runner would, to test what a workflow does.

This is a stand-in for the runner, not an emulator: it runs each `run:` step with
bash the way GitHub's `shell: bash` does, gives every step its own
GITHUB_STEP_SUMMARY / GITHUB_OUTPUT / GITHUB_ENV files and joins them as the
runner does, and decides which steps run by evaluating their `if:`. Steps that
`uses:` an action are not run; their evaluated `with:` inputs are recorded for
the tests to check.

The expression evaluator knows only the forms our workflows use: the status
functions, `!`, `&&`, `||`, `==`, `!=`, parentheses, string literals and the
`inputs`, `steps` and `github` contexts (the last as the test gives it). Anything else raises `ExpressionError`, so a
workflow edited to use a form the evaluator does not model fails its tests
instead of being judged wrongly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.project import clean_env

# GitHub's command for `shell: bash` (docs: "Workflow syntax", jobs.<job_id>.steps[*].shell).
BASH = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
STATUS_FUNCTIONS = {"success", "failure", "always", "cancelled"}
MODELLED_CONTEXTS = {"inputs", "steps", "github"}
# Keys of a step this runner knows what to do with; any other key fails loudly.
KNOWN_STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell"}
# Job keys that do not change which steps run or how (a job-level `if:`, matrix or services would).
KNOWN_JOB_KEYS = {"name", "runs-on", "timeout-minutes", "steps", "env", "defaults", "permissions", "concurrency"}


class ExpressionError(ValueError):
    """An expression form the evaluator does not model."""


# --- expressions ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:]!r} in {text!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """expr := or; or := and ('||' and)*; and := not ('&&' not)*; not := '!' not | cmp;
    cmp := atom (('=='|'!=') atom)?; atom := '(' expr ')' | 'string' | func '(' ')' | context.path"""

    def __init__(self, text: str):
        self.text, self.tokens, self.at = text, _tokens(text), 0

    def parse(self):
        tree = self._expression()
        if self.at != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.at][1]!r} in {self.text!r}")
        return tree

    def _expression(self):
        return self._binary("||", lambda: self._binary("&&", self._not))

    def _peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise ExpressionError(f"{self.text!r} ends too early")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, found {token[1]!r} in {self.text!r}")
        self.at += 1
        return token

    def _binary(self, op: str, operand):
        tree = operand()
        while self._peek() == op:
            self._take()
            tree = (op, tree, operand())
        return tree

    def _not(self):
        if self._peek() == "!":
            self._take()
            return ("!", self._not())
        left = self._atom()
        if self._peek() in ("==", "!="):
            op = self._take()[1]
            return (op, left, self._atom())
        return left

    def _atom(self):
        kind, value = self._take()
        if value == "(" and kind == "op":
            tree = self._expression()
            self._take(")")
            return tree
        if kind == "string":
            return ("literal", value[1:-1].replace("''", "'"))
        if kind == "name" and self._peek() == "(":
            if value not in STATUS_FUNCTIONS:
                raise ExpressionError(f"function {value}() is not modelled (in {self.text!r})")
            self._take("(")
            self._take(")")
            return ("call", value)
        if kind == "name":
            if value in ("true", "false", "null"):
                raise ExpressionError(f"literal {value} is not modelled (in {self.text!r})")
            context = value.split(".")[0]
            if context not in MODELLED_CONTEXTS:
                raise ExpressionError(f"context {context!r} is not modelled (in {self.text!r})")
            return ("context", value.split("."))
        raise ExpressionError(f"unexpected {value!r} in {self.text!r}")



def _uses_status_function(tree) -> bool:
    if tree[0] == "call":
        return True
    return any(isinstance(part, tuple) and _uses_status_function(part) for part in tree[1:])


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _evaluate(tree, contexts: dict[str, Any], job_status: str) -> Any:
    kind = tree[0]
    if kind == "literal":
        return tree[1]
    if kind == "call":
        return {
            "success": job_status == "success",
            "failure": job_status == "failure",
            "always": True,
            "cancelled": False,  # a local run is never cancelled
        }[tree[1]]
    if kind == "context":
        value: Any = contexts
        for part in tree[1]:
            value = value.get(part) if isinstance(value, dict) else None
        return value  # a missing property is null, as on GitHub
    if kind == "!":
        return not _evaluate(tree[1], contexts, job_status)
    if kind in ("==", "!="):
        left, right = (_evaluate(t, contexts, job_status) for t in tree[1:])
        if not all(v is None or isinstance(v, str) for v in (left, right)):
            raise ExpressionError(f"comparison of non-strings {left!r} and {right!r} is not modelled")
        # GitHub compares strings ignoring case.
        equal = _plain(left).casefold() == _plain(right).casefold()
        return equal if kind == "==" else not equal
    left = _evaluate(tree[1], contexts, job_status)
    # && and || return an operand, not a bool, as GitHub's do.
    if kind == "&&":
        return _evaluate(tree[2], contexts, job_status) if left else left
    return left if left else _evaluate(tree[2], contexts, job_status)


def _unwrap(text: str) -> str:
    text = text.strip()
    if text.startswith("${{") and text.endswith("}}"):
        return text[3:-2]
    return text


def condition_holds(condition: str | None, contexts: dict[str, Any], job_status: str) -> bool:
    """A step's `if:`, with GitHub's implicit `success() &&` when it names no status function."""
    tree = _Parser(_unwrap(condition or "success()")).parse()
    if not _uses_status_function(tree):
        tree = ("&&", ("call", "success"), tree)
    return bool(_evaluate(tree, contexts, job_status))


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def substitute(value: Any, contexts: dict[str, Any], job_status: str = "success") -> str:
    """An `env:` or `with:` value with its `${{ }}` expressions replaced by their values."""
    if isinstance(value, bool):
        return str(value).lower()
    return _TEMPLATE.sub(
        lambda m: _plain(_evaluate(_Parser(m.group(1)).parse(), contexts, job_status)), str(value)
    )


# --- the job --------------------------------------------------------------------------


@dataclass
class StepRun:
    step: dict[str, Any]
    outcome: str  # success, failure or skipped, as in the `steps` context
    executed: bool  # False for skipped steps, `uses:` steps and steps the caller chose not to run
    inputs: dict[str, str] = field(default_factory=dict)  # the evaluated `with:` of a `uses:` step
    output: str = ""  # stdout and stderr of a run step

    @property
    def name(self) -> str:
        return self.step.get("name", "")


@dataclass
class JobRun:
    steps: list[StepRun]
    summary: str  # the job summary: every step's GITHUB_STEP_SUMMARY, joined in order
    workspace: Path
    status: str

    def step(self, key: str) -> StepRun:
        """The step whose id (or, failing that, name) is `key`."""
        for run in self.steps:
            if run.step.get("id") == key:
                return run
        for run in self.steps:
            if run.name == key:
                return run
        raise KeyError(f"no step with id or name {key!r}")


def _shell(workflow: dict, job: dict, step: dict) -> str:
    """The step's shell: its own, else the job's default, else the workflow's, else bash (Linux)."""
    for source in (step, job.get("defaults", {}).get("run", {}), workflow.get("defaults", {}).get("run", {})):
        if source.get("shell"):
            return source["shell"]
    return "bash"


def _read_key_values(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a GITHUB_OUTPUT or GITHUB_ENV file; the heredoc form is not modelled."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            continue
        if "<<" in line.split("=", 1)[0]:
            raise ExpressionError(f"multi-line value in {path.name} is not modelled: {line!r}")
        key, _, value = line.partition("=")
        values[key] = value
    return values


def github_env(workspace: Path, step_dir: Path) -> dict[str, str]:
    """The process environment of a step: the harness's clean one, nothing of the caller's CI."""
    env = {
        k: v
        for k, v in clean_env().items()
        if not k.startswith(("GITHUB_", "RUNNER_", "PYTEST_")) and k not in ("CI", "ACTIONS_RUNTIME_TOKEN")
    }
    env.update(
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_STEP_SUMMARY=str(step_dir / "summary.md"),
        GITHUB_OUTPUT=str(step_dir / "output"),
        GITHUB_ENV=str(step_dir / "env"),
        RUNNER_TEMP=str(step_dir),
    )
    return env


def run_job(
    workflow: dict,
    job_id: str,
    workspace: Path,
    scratch: Path,
    inputs: dict[str, str] | None = None,
    not_run: frozenset[str] = frozenset(),
    timeout_seconds: float = 300,
    github: dict[str, Any] | None = None,
    path_first: Path | None = None,
) -> JobRun:
    """Run `job_id`'s steps in order in `workspace`; steps whose id is in `not_run` count as green.

    `inputs` is the workflow_dispatch input context, `github` the github context
    (token, repository, event...). `path_first` goes first on every step's PATH:
    where a test puts its stand-in for the `gh` CLI. Step files live under `scratch`.
    """
    job = workflow["jobs"][job_id]
    unknown = set(job) - KNOWN_JOB_KEYS
    if unknown:
        raise ExpressionError(f"job {job_id} has keys the local runner does not model: {sorted(unknown)}")
    contexts: dict[str, Any] = {"inputs": dict(inputs or {}), "steps": {}, "github": dict(github or {})}
    carried_env: dict[str, str] = {}  # what earlier steps wrote to GITHUB_ENV
    status = "success"
    runs, summaries = [], []
    for index, step in enumerate(job["steps"]):
        unknown = set(step) - KNOWN_STEP_KEYS
        if unknown:
            raise ExpressionError(f"step {index} has keys the local runner does not model: {sorted(unknown)}")
        if not condition_holds(step.get("if"), contexts, status):
            run = StepRun(step, "skipped", executed=False)
        elif "uses" in step:
            with_inputs = {k: substitute(v, contexts, status) for k, v in step.get("with", {}).items()}
            run = StepRun(step, "success", executed=False, inputs=with_inputs)
        elif step.get("id") in not_run:
            run = StepRun(step, "success", executed=False)
        else:
            shell = _shell(workflow, job, step)
            if shell != "bash":
                raise ExpressionError(f"shell {shell!r} is not modelled")
            step_dir = scratch / f"step-{index}"
            step_dir.mkdir(parents=True)
            script = step_dir / "script.sh"
            script.write_text(step["run"], encoding="utf-8")
            env = github_env(workspace, step_dir)
            if path_first is not None:
                env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
            for layer in (workflow.get("env", {}), job.get("env", {}), carried_env, step.get("env", {})):
                env.update({k: substitute(v, contexts, status) for k, v in layer.items()})
            for name in ("summary.md", "output", "env"):
                (step_dir / name).touch()
            result = subprocess.run(
                [*BASH, str(script)],
                cwd=workspace,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout_seconds,
            )
            run = StepRun(step, "success" if result.returncode == 0 else "failure", True, output=result.stdout)
            summaries.append((step_dir / "summary.md").read_text(encoding="utf-8"))
            carried_env.update(_read_key_values(step_dir / "env"))
            outputs = _read_key_values(step_dir / "output")
            if "id" in step:
                contexts["steps"][step["id"]] = {"outputs": outputs}
        if run.outcome == "failure":
            status = "failure"
        if "id" in step:
            entry = contexts["steps"].setdefault(step["id"], {"outputs": {}})
            entry.update(outcome=run.outcome, conclusion=run.outcome)
        runs.append(run)
    return JobRun(runs, "".join(summaries), workspace, status)


def python_on_path(env: dict[str, str]) -> Path | None:
    """The `python` a step's bash would run with this environment."""
    found = shutil.which("python", path=env.get("PATH", os.defpath))
    return Path(found) if found else None
