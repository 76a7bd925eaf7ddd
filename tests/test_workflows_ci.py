"""The GitHub Actions workflows (README "CI"), checked here rather than hoped to work on GitHub.

- Every workflow: actions pinned by full commit SHA with a version comment, checkout without
  persisted credentials, no ``${{ }}`` expression inside a ``run:`` script, read-only permissions
  at the workflow level and write permissions on exactly two jobs of release.yml (``publish``:
  ``id-token: write`` only; ``github-release``: ``contents: write`` only), and every ``make``
  target a step runs defined in the Makefile.
- ci.yml runs the Make targets ``make test`` runs (one job each), the suite on Python 3.10 to 3.13
  with pytest-xdist, the real tier over the Makefile's eras, and combines the coverage.
- gpu.yml, release.yml, the reusable extension.yml and the example's ci.yml have the triggers,
  jobs, ``needs``, inputs and artifacts the README promises, consistent with each other.
- scripts/lint_workflows.sh (actionlint, zizmor, check-jsonschema) passes on the repository and
  fails on a workflow with a finding of each kind, when requirements/ci-lint.txt is installed.

Each checker returns its problems, and is shown to find the problem it looks for in a copy of a
real workflow with that problem put in.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / ".github" / "workflows"
EXAMPLE = REPO / "examples" / "comfy_meta_ext"
EXAMPLE_CI = EXAMPLE / ".github" / "workflows" / "ci.yml"
MAKEFILE = REPO / "Makefile"
README = REPO / "README.md"
LINT_SCRIPT = REPO / "scripts" / "lint_workflows.sh"
LINTERS = ("actionlint", "shellcheck", "zizmor", "check-jsonschema")
INSTALL = "pip install -r requirements/ci-lint.txt (make lint-workflows does)"

SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+)*$")
#: This project's reusable workflow as the example calls it: by release tag (.github/zizmor.yml).
OWN_REUSABLE = re.compile(r"^[\w.-]+/pytest-comfyruntime/\.github/workflows/extension\.yml@v\d+\.\d+\.\d+$")
#: The only write permissions, job by job (release.yml).
WRITES = {("release.yml", "publish"): {"id-token": "write"},
          ("release.yml", "github-release"): {"contents": "write"}}


def all_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + [EXAMPLE_CI]


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path}: not a mapping"
    return doc


def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / name)


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """``on:``, which YAML 1.1 (PyYAML) reads as the key True; a list or a name as a mapping."""
    on = doc["on"] if "on" in doc else doc[True]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in doc["jobs"].items() for step in job.get("steps", [])]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in job.get("steps", []) if "uses" in step]


def make_targets_run(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(job_id, m.group(1)) for job_id, step in steps(doc)
            for m in re.finditer(r"\bmake ([a-z][\w-]*)", step.get("run", ""))]


def makefile_rules(text: str) -> dict[str, tuple[list[str], list[str]]]:
    """``{target: (prerequisites, recipe lines)}`` of a Makefile's explicit rules."""
    rules: dict[str, tuple[list[str], list[str]]] = {}
    current: list[str] | None = None
    for line in text.replace("\\\n", " ").splitlines():  # a recipe's continued lines as one
        if line.startswith("\t") and current is not None:
            current.append(" ".join(line.split()))
            continue
        m = re.match(r"^([A-Za-z0-9_.$()/-]+(?:[ \t]+[A-Za-z0-9_.$()/-]+)*)[ \t]*:(?![:=])(.*)$", line)
        if m and not line.startswith((".PHONY", "\t")):
            current = []
            for target in m.group(1).split():
                rules[target] = (m.group(2).split(), current)
        elif line.strip() and not line.startswith("#"):
            current = None
    return rules


def reached_by_make_test(rules: dict[str, tuple[list[str], list[str]]]) -> set[str]:
    """The targets ``make test`` runs: its prerequisites and every ``$(MAKE) ... target`` of its recipe."""
    prerequisites, recipe = rules["test"]
    reached = set(prerequisites)
    for line in recipe:
        reached.update(m.group(1) for m in re.finditer(r"\$\(MAKE\)(?:\s+--?[\w-]+)*\s+([a-z][\w-]*)", line))
    return reached


# -- the checkers ---------------------------------------------------------------------------------
def pin_problems(text: str, name: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(?:- )?uses:\s*(.+?)\s*$", line)
        if not m or m.group(1).startswith("$/"):  # $/: this repository's own reusable workflow
            continue
        ref = m.group(1)
        if not (SHA_PINNED.match(ref) or (name == "example ci.yml" and OWN_REUSABLE.match(ref))):
            problems.append(f"{name}:{number}: {ref!r} is not pinned by full commit SHA with a '# vX.Y' comment")
    return problems


def checkout_problems(doc: dict[str, Any], name: str) -> list[str]:
    return [f"{name}: job {job_id}: actions/checkout without persist-credentials: false"
            for job_id, step in steps(doc)
            if step.get("uses", "").startswith("actions/checkout@")
            and (step.get("with") or {}).get("persist-credentials") is not False]


def injection_problems(doc: dict[str, Any], name: str) -> list[str]:
    return [f"{name}: job {job_id}: step {step.get('name', step['run'][:40])!r}: ${{{{ }}}} inside run: "
            "(pass it through env:)" for job_id, step in steps(doc) if "${{" in step.get("run", "")]


def permission_problems(doc: dict[str, Any], name: str) -> list[str]:
    problems = []
    top = doc.get("permissions")
    if not isinstance(top, dict) or any(level != "read" for level in top.values()):
        problems.append(f"{name}: workflow-level permissions {top!r}: name each scope, read only ({{}} for none)")
    for job_id, job in doc["jobs"].items():
        perms = job.get("permissions") or {}
        allowed = WRITES.get((name, job_id))
        if allowed is not None and perms != allowed:
            problems.append(f"{name}: job {job_id}: permissions {perms}, expected exactly {allowed}")
        elif allowed is None and "write" in perms.values():
            problems.append(f"{name}: job {job_id}: write permissions {perms}: only "
                            f"{', '.join(f'{w}:{j}' for w, j in WRITES)} may write")
    return problems


def make_problems(doc: dict[str, Any], name: str, rules: dict[str, tuple[list[str], list[str]]]) -> list[str]:
    return [f"{name}: job {job_id} runs `make {target}`, which the Makefile does not define"
            for job_id, target in make_targets_run(doc) if target not in rules]


# -- every workflow -------------------------------------------------------------------------------
FILES = {path.name if path != EXAMPLE_CI else "example ci.yml": path for path in all_files()}


def test_the_workflows_promised_exist_and_parse() -> None:
    assert {"ci.yml", "gpu.yml", "release.yml", "extension.yml", "example ci.yml"} <= set(FILES), sorted(FILES)
    for name, path in FILES.items():
        doc = load(path)
        assert doc.get("jobs") and triggers(doc), f"{name}: no jobs or no triggers"


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_workflow_is_pinned_credential_free_injection_free_and_least_privileged(name: str) -> None:
    text, doc = FILES[name].read_text(encoding="utf-8"), load(FILES[name])
    rules = makefile_rules(MAKEFILE.read_text(encoding="utf-8"))
    problems = (pin_problems(text, name) + checkout_problems(doc, name) + injection_problems(doc, name)
                + permission_problems(doc, name) + make_problems(doc, name, rules))
    assert not problems, "\n".join(problems)


def test_each_action_is_pinned_to_one_commit_across_the_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in all_files():
        for m in re.finditer(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (\S+)", path.read_text(encoding="utf-8")):
            pins.setdefault(m.group(1), set()).add(f"{m.group(2)} # {m.group(3)}")
    assert {"actions/checkout", "actions/setup-python", "actions/upload-artifact",
            "pypa/gh-action-pypi-publish"} <= set(pins)
    assert all(len(refs) == 1 for refs in pins.values()), {a: r for a, r in pins.items() if len(r) > 1}


def _first_step(doc: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The first step of any job of ``doc`` that uses the action ``prefix``."""
    return next(step for _, step in steps(doc) if step.get("uses", "").startswith(prefix))


def _job_step(job: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The first step of ``job`` that uses the action ``prefix``."""
    return _first_step({"jobs": {"job": job}}, prefix)


def _makefile_problems(text: str, doc: dict[str, Any]) -> list[str]:
    return make_problems(doc, "ci.yml", makefile_rules(MAKEFILE.read_text(encoding="utf-8")))


def _lint_job_run(command: str) -> Any:
    def mutate(text: str, doc: dict[str, Any]) -> str:
        doc["jobs"]["lint"]["steps"][-1]["run"] = command
        return text
    return mutate


def _drop_persist_credentials(text: str, doc: dict[str, Any]) -> str:
    _first_step(doc, "actions/checkout@")["with"].pop("persist-credentials")
    return text


def _set(path: tuple[str, ...], value: Any) -> Any:
    def mutate(text: str, doc: dict[str, Any]) -> str:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return text
    return mutate


#: id: (put one problem into ci.yml's text or parsed copy, the checker that must find it)
MUTATIONS: dict[str, tuple[Any, Any]] = {
    "unpinned": (lambda text, doc: re.sub(r"@[0-9a-f]{40} # v[\d.]+", "@v7", text, count=1),
                 lambda text, doc: pin_problems(text, "ci.yml")),
    "credentials": (_drop_persist_credentials, lambda text, doc: checkout_problems(doc, "ci.yml")),
    "injection": (_lint_job_run("echo ${{ github.head_ref }}"), lambda text, doc: injection_problems(doc, "ci.yml")),
    "workflow-level write": (_set(("permissions",), {"contents": "write"}),
                             lambda text, doc: permission_problems(doc, "ci.yml")),
    "job write": (_set(("jobs", "lint", "permissions"), {"id-token": "write"}),
                  lambda text, doc: permission_problems(doc, "ci.yml")),
    "unknown make target": (_lint_job_run("make no-such-target"), _makefile_problems),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_each_checker_finds_its_problem_in_a_copy_of_ci_yml(mutation: str) -> None:
    mutate, check = MUTATIONS[mutation]
    path = WORKFLOWS / "ci.yml"
    text, doc = path.read_text(encoding="utf-8"), load(path)
    before = check(text, doc)
    doc = copy.deepcopy(doc)
    text = mutate(text, doc)
    new = [problem for problem in check(text, doc) if problem not in before]
    assert len(new) == 1, new


def test_the_publish_job_alone_can_mint_an_id_token_and_write_permissions_sit_on_jobs_only() -> None:
    doc = copy.deepcopy(workflow("release.yml"))
    assert doc["permissions"] == {}
    assert doc["jobs"]["publish"]["permissions"] == {"id-token": "write"}
    doc["jobs"]["build"]["permissions"]["id-token"] = "write"
    assert permission_problems(doc, "release.yml") == [
        "release.yml: job build: write permissions {'contents': 'read', 'id-token': 'write'}: "
        "only release.yml:publish, release.yml:github-release may write"]


# -- ci.yml ----------------------------------------------------------------------------------------
def test_ci_runs_the_make_targets_make_test_runs_one_job_each() -> None:
    doc, rules = workflow("ci.yml"), makefile_rules(MAKEFILE.read_text(encoding="utf-8"))
    assert {"push", "pull_request", "workflow_call"} <= set(triggers(doc))
    assert set(doc["jobs"]) == {"lint", "wheel-lane", "mock", "real", "coverage", "demo", "example"}
    run = {(job, target) for job, target in make_targets_run(doc)}
    assert run == {("lint", "lint"), ("lint", "lint-workflows"), ("wheel-lane", "wheel-lane"),
                   ("mock", "test-main"), ("real", "test-real"), ("coverage", "coverage-report"),
                   ("demo", "demo")}, run
    reached = reached_by_make_test(rules)
    missing = {target for _, target in run if target != "demo"} - reached
    assert not missing, f"ci.yml runs make targets that `make test` does not: {sorted(missing)}"


def test_ci_runs_the_suite_on_python_3_10_to_3_13_with_xdist_and_the_real_tier_on_every_era() -> None:
    doc, text = workflow("ci.yml"), (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    mock, real = doc["jobs"]["mock"], doc["jobs"]["real"]
    assert mock["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    assert re.search(r"(^| )-n (auto|\d+)", mock["env"]["PYTEST_ARGS"]), mock["env"]
    eras = re.search(r"^ERAS\s*:?=\s*(.+)$", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert eras and real["strategy"]["matrix"]["era"] == eras.group(1).split()
    assert real["env"]["ERA"] == "${{ matrix.era }}"
    assert set(doc["jobs"]["coverage"]["needs"]) == {"mock", "real"}
    # coverage from the plugin's first import, and the comment that says why
    test_main = makefile_rules(MAKEFILE.read_text(encoding="utf-8"))["test-main"][1]
    assert any("coverage run -m pytest" in line for line in test_main), test_main
    assert "coverage run -m pytest" in text and "pytest-cov" in text and "import" in text


def test_ci_uploads_the_test_reports_and_the_coverage_data_including_dot_files() -> None:
    doc = workflow("ci.yml")
    for job_id in ("mock", "real"):
        uploads = [s["with"] for s in doc["jobs"][job_id]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
        paths = {u["path"]: u for u in uploads}
        assert "reports/" in paths and ".coverage.*" in paths, (job_id, uploads)
        assert paths[".coverage.*"].get("include-hidden-files") is True, "coverage's data files start with a dot"
        assert "--junitxml=reports/" in doc["jobs"][job_id]["env"]["PYTEST_ARGS"]
    download = _job_step(doc["jobs"]["coverage"], "actions/download-artifact@")
    assert download["with"]["pattern"] == "coverage-*" and download["with"]["merge-multiple"] is True


# -- gpu.yml ---------------------------------------------------------------------------------------
def test_gpu_runs_on_self_hosted_labels_requires_the_hardware_writes_the_report_and_gates() -> None:
    doc, rules = workflow("gpu.yml"), makefile_rules(MAKEFILE.read_text(encoding="utf-8"))
    on = triggers(doc)
    assert set(on) == {"workflow_dispatch", "workflow_call"}
    for trigger in on.values():
        labels = trigger["inputs"]["runner-labels"]
        assert yaml.safe_load(labels["default"]) == ["self-hosted", "linux", "x64", "gpu"]
    job = doc["jobs"]["gpu"]
    assert job["runs-on"] == "${{ fromJSON(inputs.runner-labels) }}"
    assert job["env"]["COMFYRUNTIME_REQUIRE_HARDWARE"] == "1"
    assert [t for _, t in make_targets_run(doc)] == ["test-gpu", "gate"]
    pytest_runs = [line for line in rules["test-gpu"][1] if "-m pytest" in line]
    assert len(pytest_runs) == 2, rules["test-gpu"]  # the GPU module, the example extension
    assert all("--comfyruntime-require-hardware" in line for line in pytest_runs), pytest_runs
    for option in ("--comfyruntime-report=", "--comfyruntime-summary="):
        assert option in pytest_runs[1], f"make test-gpu does not pass {option} to the example's tests"
    assert "comfyruntime gate" in " ".join(rules["gate"][1])
    assert '>>"$GITHUB_STEP_SUMMARY"' in runs(job)
    upload = _first_step(doc, "actions/upload-artifact@")["with"]
    assert upload["name"] == "comfyruntime-gpu-report" and upload["path"] == "reports/"


# -- release.yml -----------------------------------------------------------------------------------
def test_release_on_a_version_tag_publishes_after_ci_the_gpu_gate_and_the_build() -> None:
    doc = workflow("release.yml")
    assert triggers(doc) == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}
    jobs = doc["jobs"]
    assert set(jobs) == {"ci", "gpu-gate", "build", "publish", "github-release"}
    assert jobs["ci"]["uses"] == "$/.github/workflows/ci.yml"
    assert jobs["gpu-gate"]["uses"] == "$/.github/workflows/gpu.yml"
    assert set(jobs["publish"]["needs"]) == {"ci", "gpu-gate", "build"}
    assert jobs["publish"]["environment"]["name"] == "pypi"
    assert "make wheel-lane" in runs(jobs["build"])
    publish = _job_step(jobs["publish"], "pypa/gh-action-pypi-publish@")
    assert not {"password", "user", "username"} & set(publish.get("with") or {}), "trusted publishing: no token"
    assert jobs["github-release"]["needs"] == ["publish"]


def test_trusted_publishing_sits_in_no_reusable_workflow() -> None:
    for path in all_files():
        doc = load(path)
        if "workflow_call" in triggers(doc):
            assert "gh-action-pypi-publish" not in path.read_text(encoding="utf-8"), path


def test_the_release_attaches_the_artifacts_the_other_jobs_upload() -> None:
    doc, gpu = workflow("release.yml"), workflow("gpu.yml")
    lane = re.search(r"^LANE\s*:?=\s*(\S+)", MAKEFILE.read_text(encoding="utf-8"), re.M)
    build_upload = _job_step(doc["jobs"]["build"], "actions/upload-artifact@")["with"]
    assert lane and build_upload == {"name": "dist", "path": f"{lane.group(1)}/dist/", "if-no-files-found": "error"}
    gpu_artifact = _first_step(gpu, "actions/upload-artifact@")["with"]["name"]
    for job_id, wanted in (("publish", {"dist"}), ("github-release", {"dist", gpu_artifact})):
        got = {s["with"]["name"] for s in doc["jobs"][job_id]["steps"] if s.get("uses", "").startswith("actions/download-artifact@")}
        assert got == wanted, (job_id, got)
    command = runs(doc["jobs"]["github-release"])
    gpu_env = gpu["jobs"]["gpu"]["env"]
    for path in (gpu_env["REPORT"], gpu_env["SUMMARY"]):
        assert "report/" + Path(path).name in command, (path, command)
    assert "gh release create" in command and "dist/*" in command


# -- extension.yml and the example ---------------------------------------------------------------
PROMISED_INPUTS = {"python-version", "comfyui-ref", "runner-labels", "budget-file", "report-name"}


def test_the_reusable_workflow_takes_the_promised_inputs_each_with_a_default() -> None:
    on = triggers(workflow("extension.yml"))
    assert set(on) == {"workflow_call"}
    inputs = on["workflow_call"]["inputs"]
    assert PROMISED_INPUTS <= set(inputs)
    assert all("default" in spec and spec.get("description") for spec in inputs.values())
    version = re.fullmatch(r"v0\.(\d+)\.\d+", inputs["comfyui-ref"]["default"])
    assert version and int(version.group(1)) >= 35, "the default ComfyUI is a 2026 release (0.35+, era D)"
    assert yaml.safe_load(inputs["runner-labels"]["default"]) == ["ubuntu-latest"]


def test_the_reusable_workflow_runs_every_mock_era_and_the_real_root_and_gates_both() -> None:
    doc = workflow("extension.yml")
    mock, real = doc["jobs"]["mock"], doc["jobs"]["real"]
    assert "--comfyruntime-era=all" in runs(mock) and "--comfyruntime-executor" not in runs(mock)
    assert "--comfyruntime-executor=real" in runs(real)
    assert '--comfyui-root="$GITHUB_WORKSPACE/comfyui"' in runs(real)
    comfyui = next(s for s in real["steps"] if (s.get("with") or {}).get("repository"))["with"]
    assert comfyui["ref"] == "${{ inputs.comfyui-ref }}" and comfyui["path"] == "comfyui"
    for job in (mock, real):
        assert job["runs-on"] == "${{ fromJSON(inputs.runner-labels) }}"
        assert "comfyruntime gate" in runs(job) and '--budget "$BUDGET"' in runs(job)
        assert job["env"]["BUDGET"] == "${{ inputs.budget-file }}"
        assert "--comfyruntime-report=" in runs(job) and "--comfyruntime-summary=" in runs(job)
        assert '>>"$GITHUB_STEP_SUMMARY"' in runs(job)
        assert uses(job).count("actions/upload-artifact") == 1
        checkout = _job_step(job, "actions/checkout@")["with"]
        assert checkout["path"] == "extension" != "comfyui"


def test_the_example_calls_the_reusable_workflow_in_a_few_lines_with_inputs_it_declares() -> None:
    doc, text = load(EXAMPLE_CI), EXAMPLE_CI.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 12, "the README promises an extension adds about ten lines"
    (job,) = doc["jobs"].values()
    assert OWN_REUSABLE.match(job["uses"]), job["uses"]
    declared = set(triggers(workflow("extension.yml"))["workflow_call"]["inputs"])
    assert set(job.get("with") or {}) <= declared
    for caller in (job, workflow("ci.yml")["jobs"]["example"]):
        assert set(caller.get("with") or {}) <= declared, caller
    budget = (job.get("with") or {}).get("budget-file", "budgets.toml")
    assert (EXAMPLE / budget).is_file(), f"the example's workflow gates on {budget}, which examples/comfy_meta_ext lacks"


def test_the_readme_ci_section_shows_the_example_lines_and_names_the_inputs_and_targets() -> None:
    text = README.read_text(encoding="utf-8")
    assert "\n## CI\n" in text, "README.md has no '## CI' section (the draft is /tmp/drafts/ci.md)"
    section = text.split("\n## CI\n", 1)[1].split("\n## ", 1)[0]
    assert EXAMPLE_CI.read_text(encoding="utf-8").strip() in section, "README's CI example differs from the example's ci.yml"
    inputs = triggers(workflow("extension.yml"))["workflow_call"]["inputs"]
    targets = {t for name in ("ci.yml", "gpu.yml") for _, t in make_targets_run(workflow(name))}
    missing = [f"input {name}" for name in inputs if f"`{name}`" not in section]
    missing += [f"make {t}" for t in sorted(targets) if f"make {t}" not in section]
    assert not missing, f"README's CI section does not name: {missing}"


# -- the linters -----------------------------------------------------------------------------------
def _linters_missing() -> list[str]:
    venv = REPO / ".venv" / "bin"
    return [t for t in LINTERS if not (venv / t).exists() and shutil.which(t) is None]


needs_linters = pytest.mark.skipif(bool(_linters_missing()),
                                   reason=f"the workflow linters are not installed ({', '.join(_linters_missing())}): "
                                          f"{INSTALL}")


def _lint(root: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = ["bash", str(LINT_SCRIPT)] + ([str(root)] if root else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@needs_linters
def test_the_workflows_lint_clean() -> None:
    proc = _lint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(all_files())} workflow files, no finding" in proc.stdout, proc.stdout


BAD = {
    "actionlint": ("needs: [no-such-job]\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo hi\n", "no-such-job"),
    "shellcheck": ("runs-on: ubuntu-24.04\n    steps:\n      - run: rm -rf $DIR/*\n", "SC2086"),
    "zizmor": ("runs-on: ubuntu-24.04\n    steps:\n      - uses: softprops/action-gh-release@v2\n", "unpinned-uses"),
    "check-jsonschema": ("runs-on: ubuntu-24.04\n    steps:\n      - run: echo hi\n        continue-on-error: maybe\n",
                         "Schema validation errors"),
}


@needs_linters
@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_workflow_with_a_finding_fails_the_lint(tmp_path: Path, kind: str) -> None:
    job, says = BAD[kind]
    folder = tmp_path / "examples" / "ext" / ".github" / "workflows"  # found under examples/ too
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(f"name: bad\non: push\npermissions:\n  contents: read\njobs:\n  bad:\n"
                                    f"    name: bad\n    {job}", encoding="utf-8")
    proc = _lint(tmp_path)
    tool = "actionlint" if kind == "shellcheck" else kind
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert says in proc.stdout + proc.stderr
    failed = re.search(r"^lint_workflows: findings from (.+) \(above\)", proc.stderr, re.M)
    assert failed and tool in failed.group(1).split(), proc.stderr


def test_the_lint_script_says_how_to_install_a_missing_linter(tmp_path: Path) -> None:
    path = tmp_path / "bin"  # a PATH with no linter on it: only what the script needs before it looks
    path.mkdir()
    for command in ("bash", "dirname"):
        (path / command).symlink_to(shutil.which(command) or f"/bin/{command}")
    proc = subprocess.run([str(path / "bash"), str(LINT_SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LINT_WORKFLOWS_BIN": str(tmp_path), "PATH": str(path)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not installed; fix: pip install -r requirements/ci-lint.txt" in proc.stderr
