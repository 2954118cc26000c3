"""The CI templates in examples/ use only commands, flags and values the CLI has.

No YAML parser is a dependency, so the templates are read as text: every shell line that starts
with `ems-readiness` (backslash continuations joined) is a command, checked against the click
definition of `ems_readiness.cli:main`.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from ems_readiness.cli import main
from ems_readiness.reports.outputs import FORMATS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEMPLATES = ["github-actions.yml", "azure-pipelines.yml"]

# a YAML key that introduces a one-line script, e.g. "- run: ems-readiness checks"
_YAML_SCRIPT_KEY = re.compile(r"^(?:-\s+)?(?:run|script|bash|inlineScript):\s*")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)(?:[ =]\"?([A-Za-z0-9_.,-]+)\"?(?=\s|$))?")


def shell_lines(text: str) -> list[str]:
    """Lines with YAML comments dropped and backslash continuations joined."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return joined


def commands(path: Path) -> list[str]:
    found = []
    for line in shell_lines(path.read_text(encoding="utf-8")):
        line = _YAML_SCRIPT_KEY.sub("", line)
        if line.startswith("ems-readiness "):
            found.append(line)
    return found


def subcommand(command: str) -> str:
    return next(token for token in command.split()[1:] if not token.startswith("-"))


def option_params(name: str) -> dict[str, click.Parameter]:
    cmd = main.commands[name]
    return {opt: param for param in cmd.params for opt in param.opts if opt.startswith("--")}


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_runs_a_scan_per_site_and_merges(template):
    found = commands(EXAMPLES / template)
    assert found, f"{template}: no ems-readiness command found"
    assert {"scan", "merge"} <= {subcommand(c) for c in found}
    scans = [c for c in found if subcommand(c) == "scan"]
    # every site scan names its site from the matrix; exactly one kind reads the tenant, the others do not
    assert all(re.search(r'--site "\$\{\{ (matrix\.site|site\.name) \}\}"', c) for c in scans), scans
    assert any("--no-tenant" in c for c in scans) and any("--auth" in c and "--no-tenant" not in c for c in scans)
    # the scans hand their results.json to the merge, which reads every site's
    assert all("--format json" in c for c in scans)
    [merge] = [c for c in found if subcommand(c) == "merge"]
    assert "*/results.json" in merge and "--baseline" in merge


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_installs_a_pinned_build_not_an_unpublished_package(template):
    text = (EXAMPLES / template).read_text(encoding="utf-8")
    installs = [line for line in shell_lines(text) if "pip install" in line]
    assert installs, f"{template}: installs nothing"
    for line in installs:
        # ems-readiness is not on PyPI: only the wheel built from the pinned tag is installed
        assert re.search(r"pip install \S*wheel/\*\.whl$", _YAML_SCRIPT_KEY.sub("", line)), line
    assert "pip wheel --no-deps" in text
    ref = re.search(r"(?:EMS_READINESS_REF|emsReadinessRef): (\S+)", text)
    assert ref and re.fullmatch(r"v\d+\.\d+\.\d+", ref.group(1)), f"{template}: no pinned tag"


def test_github_matrix_runs_on_each_sites_runner_and_merge_collects_them():
    text = (EXAMPLES / "github-actions.yml").read_text(encoding="utf-8")
    assert 'runs-on: [self-hosted, "${{ matrix.runner }}"]' in text
    sites = re.findall(r"- site: (\S+)\n\s+runner: (\S+)\n\s+tenant: (true|false)", text)
    assert len(sites) >= 2 and [t for *_, t in sites].count("true") == 1
    assert "name: site-${{ matrix.site }}" in text and "pattern: site-*" in text
    assert "needs: [build, scan]" in text and "if: ${{ !cancelled() }}" in text


def test_azure_stages_demand_each_sites_agent_and_merge_collects_them():
    text = (EXAMPLES / "azure-pipelines.yml").read_text(encoding="utf-8")
    assert "${{ each site in parameters.sites }}" in text
    assert "name: ${{ site.pool }}" in text and "ems-readiness.site -equals ${{ site.name }}" in text
    sites = re.findall(r"- name: (\S+)\n\s+pool: (\S+)\n\s+tenant: (true|false)", text)
    assert len(sites) >= 2 and [t for *_, t in sites].count("true") == 1
    assert "artifact: site-${{ site.name }}" in text and "itemPattern: site-*/**" in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_command_and_flag_exists(template):
    for command in commands(EXAMPLES / template):
        name = subcommand(command)
        assert name in main.commands, f"{template}: unknown command 'ems-readiness {name}'"
        params = option_params(name)
        for flag, value in _FLAG.findall(command):
            assert flag in params, f"{template}: 'ems-readiness {name}' has no option {flag}"
            check_value(template, name, flag, params[flag], value)


def check_value(template: str, command: str, flag: str, param: click.Parameter, value: str) -> None:
    if not value or isinstance(param, click.Option) and param.is_flag:
        return
    if flag == "--format" and command in ("scan", "demo", "report"):
        unknown = set(value.split(",")) - set(FORMATS)
        assert not unknown, f"{template}: {flag} {value}: unknown output(s) {sorted(unknown)}"
    elif isinstance(param.type, click.Choice):
        assert value in param.type.choices, f"{template}: {flag} {value!r} not one of {param.type.choices}"


def test_flag_extraction_sees_conditional_flags():
    line = 'ems-readiness scan --out out --format html,json ${BASELINE:+--baseline "$BASELINE"}'
    assert _FLAG.findall(line) == [("--out", "out"), ("--format", "html,json"), ("--baseline", "")]


def test_github_workflow_pieces():
    text = (EXAMPLES / "github-actions.yml").read_text(encoding="utf-8")
    for piece in [
        "id-token: write", "security-events: write", "contents: read", "actions: read",
        "schedule:", "cron:", "workflow_dispatch:",
        "uses: azure/login@v2", "client-id:", "--auth cli",
        "uses: dawidd6/action-download-artifact@", "if_no_artifact_found: warn",
        "--baseline", "uses: github/codeql-action/upload-sarif@v3", "category:",
        "uses: mikepenz/action-junit-report@", "junit.xml",
        "uses: actions/upload-artifact@v4", "name: ems-readiness\n",
    ]:
        assert piece in text, f"github-actions.yml lacks {piece!r}"


def test_azure_pipeline_pieces():
    text = (EXAMPLES / "azure-pipelines.yml").read_text(encoding="utf-8")
    for piece in [
        "schedules:", "task: AzureCLI@2", "azureSubscription:", "addSpnToEnvironment: true",
        "--auth workload-identity", "AZURE_FEDERATED_TOKEN_FILE", "task: DownloadPipelineArtifact@2",
        "--baseline", "task: PublishTestResults@2", "testResultsFormat: JUnit",
        "task: PublishPipelineArtifact@1", "artifact: ems-readiness",
    ]:
        assert piece in text, f"azure-pipelines.yml lacks {piece!r}"


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_is_plain_yaml_text(template):
    text = (EXAMPLES / template).read_text(encoding="utf-8")
    assert "\t" not in text, "YAML forbids tabs for indentation"
    for number, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"{template}:{number}: odd indentation"
    # the artifact the baseline is read from is the one the run uploads
    assert len(set(re.findall(r"(?:name|artifactName|artifact): (ems-readiness\S*)\n", text))) == 1
