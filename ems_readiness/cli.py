"""The `ems-readiness` command line."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from ems_readiness import __version__
from ems_readiness.engine.terminal import echo, json_text, one_line
from ems_readiness.simulate import BRANCH_CHILD_COMMAND

EXIT_USAGE = 2
EXIT_TENANT = 3


PROG = "ems-readiness"
BRANCH_ISOLATIONS = ("auto", "namespace", "loopback")


class InputError(click.ClickException):
    """Bad profile, flag or input file: one line, exit 2."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        echo_error(self.format_message())


def echo_error(message: str) -> None:
    echo(f"{PROG}: error: {one_line(message)}", err=True)


def fail_usage(message: str) -> NoReturn:
    raise InputError(message)


class OneLineErrors(click.Group):
    """click's own usage errors in the tool's form: one line on stderr, exit 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else PROG
            echo_error(f"{exc.format_message()} (see '{where} --help')")
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            echo_error("aborted")
            sys.exit(1)
        except OSError as exc:
            if exc.errno != errno.EPIPE:  # a closed pipe (| head) is not an error of ours
                raise
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def load_checks_or_exit():
    from ems_readiness.engine.registry import CheckLoadError, load_checks

    try:
        return load_checks()
    except CheckLoadError as exc:
        fail_usage(str(exc))


def choose_checks(only, skip) -> list:
    """The checks --only/--skip select; an unknown id or area, or an empty selection, is exit 2."""
    from ems_readiness.engine.runner import SelectionError, select_checks

    try:
        checks = select_checks(load_checks_or_exit(), list(only), list(skip))
    except SelectionError as exc:
        fail_usage(str(exc))
    if not checks:
        fail_usage("--only/--skip selected no check")
    return checks


def load_results_file(path: str):
    from ems_readiness.engine.model import ResultsFileError, load_results

    try:
        return load_results(path)
    except ResultsFileError as exc:
        fail_usage(str(exc))


# ---- shared output options -----------------------------------------------------------------

def output_options(fn):
    for option in reversed([
        click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Directory for the outputs."),
        click.option("--format", "formats", help="Outputs: html,json,junit,sarif,md,csv (default html,json)."),
        click.option("--fail-on", type=click.Choice(["none", "low", "medium", "high", "critical"]),
                     help="Exit 1 if a failed finding is at or above this severity (default high)."),
        click.option("--fail-on-error", is_flag=True, help="Also exit 1 when a check could not assess (error)."),
        click.option("--lang", type=click.Choice(["en", "zh-CN"]), help="Report language."),
        click.option("--baseline", type=click.Path(dir_okay=False), help="An earlier results.json to compare with."),
        click.option("--suppress", "suppress_file", type=click.Path(dir_okay=False),
                     help="Suppression file (TOML): accepted findings with reason, owner and expiry."),
    ]):
        fn = option(fn)
    return fn


@dataclass
class OutputPlan:
    """The output options, every input file among them read and validated before any probe runs."""

    out_dir: str
    formats: list[str]
    fail_on: str
    fail_on_error: bool
    lang: str
    baseline: Any = None  # Results
    rules: list | None = None  # SuppressionRule


def plan_outputs(profile, check_ids, *, out_dir, formats, fail_on, fail_on_error, lang, baseline,
                 suppress_file) -> OutputPlan:
    from ems_readiness.reports.outputs import parse_formats

    try:
        fmt_list = parse_formats(formats) if formats else parse_formats(profile.output.format)
    except ValueError as exc:
        fail_usage(f"--format: {exc}")
    check_output_folder(out_dir)
    plan = OutputPlan(out_dir, fmt_list, fail_on or profile.output.fail_on, fail_on_error, lang or profile.output.lang)
    if suppress_file:
        from ems_readiness.engine.suppressions import SuppressionError, load_suppressions

        try:
            plan.rules = load_suppressions(suppress_file, check_ids)
        except SuppressionError as exc:
            fail_usage(str(exc))
    if baseline:
        plan.baseline = load_results_file(baseline)
    return plan


def check_output_folder(out_dir: str) -> None:
    """The folder exists and is writable, or can be created: checked now, created only to write."""
    path = Path(out_dir)
    try:
        if path.exists():
            if not path.is_dir():
                fail_usage(f"--out {out_dir}: cannot create the output folder (a file of that name exists)")
            parent = path
        else:
            parent = next(p for p in path.absolute().parents if p.exists())
            if not parent.is_dir():
                fail_usage(f"--out {out_dir}: cannot create the output folder ({parent} is not a folder)")
    except (OSError, ValueError) as exc:
        fail_usage(f"--out {out_dir}: not a usable folder name ({getattr(exc, 'strerror', None) or exc})")
    if not os.access(parent, os.W_OK | os.X_OK):
        fail_usage(f"--out {out_dir}: cannot create the output folder (no write permission in {parent})")


def finish(results, plan: OutputPlan) -> int:
    from ems_readiness.reports.compare import annotate
    from ems_readiness.reports.outputs import write_outputs
    from ems_readiness.engine.rollup import responsibility_results, totals

    if plan.rules is not None:
        from datetime import date

        from ems_readiness.engine.suppressions import apply_suppressions

        for warning in apply_suppressions(results, plan.rules, date.today()):
            echo(f"warning: {one_line(warning)}", err=True)
    if plan.baseline is not None:
        annotate(results, plan.baseline)
    results.responsibilities = responsibility_results(results.checks, results.baseline)
    results.totals = totals(results.checks)
    try:
        written = write_outputs(results, Path(plan.out_dir), plan.formats, plan.lang)
    except OSError as exc:
        fail_usage(f"--out {plan.out_dir}: cannot write the outputs ({exc.strerror or type(exc).__name__}: {exc.filename})")
    summary_line(results)
    for path in written:
        echo(f"wrote {path}", err=True)
    from ems_readiness.engine.exit_policy import exit_code

    return exit_code(results, plan.fail_on, plan.fail_on_error)


def summary_line(results) -> None:
    checks = results.totals.checks
    parts = [f"{checks[s]} {s}" for s in ("pass", "fail", "warn", "error", "skip") if checks.get(s)]
    line = f"{len(results.checks)} checks: " + ", ".join(parts)
    if results.baseline:
        counts = results.baseline.counts
        line += f" | vs baseline: {counts.get('fixed', 0)} fixed, {counts.get('regressed', 0)} regressed, {counts.get('new', 0)} new, {counts.get('still-failing', 0)} still failing"
    echo(line, err=True)
    for check in results.checks:
        if check.status.value in ("fail", "error"):
            bad = [f for f in check.findings if f.status.value == check.status.value]
            detail = f"{len(bad)} of {len(check.findings)} findings" if bad else (check.reason or "")
            echo(one_line(f"  {check.status.value.upper():5} {check.id:8} [{check.severity.value}] {check.title} ({detail})"),
                 err=True)


# ---- progress ------------------------------------------------------------------------------

class Progress:
    """A rich progress bar on a terminal; plain lines in CI and pipes."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.interactive = enabled and sys.stderr.isatty() and not os.environ.get("CI")
        self._bar = None

    def start(self, total: int) -> None:
        if not self.interactive:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

        self._bar = RichProgress(TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.description}"), TimeElapsedColumn(), transient=True)
        self._bar.start()
        self._task = self._bar.add_task("", total=total)

    def done(self, result, n: int, total: int) -> None:
        if self._bar is not None:
            from rich.markup import escape

            description = escape(one_line(f"{result.id} {result.status.value}"))
            self._bar.update(self._task, advance=1, description=description)
        elif self.enabled:
            echo(one_line(f"[{n:>2}/{total}] {result.id:8} {result.status.value:5} {result.duration_ms:8.0f} ms  "
                          f"{result.title}"), err=True)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def run_scan(profile, checks, **option_kw):
    from ems_readiness.engine.runner import ScanAbort, ScanOptions, scan

    progress = Progress(enabled=not option_kw.pop("quiet", False))
    status = (lambda line: click.echo(line, err=True)) if progress.enabled else None
    options = ScanOptions(on_start=progress.start, on_check_done=progress.done, on_status=status, **option_kw)
    scanned: list = []

    async def scan_into_list() -> None:
        # The task's result stays out of asyncio.run: restoring the SIGINT handler formats the main
        # task (signal._int_to_enum), and with the Results model as its result that repr costs
        # ~0.15 s for a 300-port scan.
        scanned.append(await scan(profile, checks, options))

    try:
        asyncio.run(scan_into_list())
        results = scanned[0]
    except ScanAbort as exc:
        progress.stop()
        echo_error(str(exc))
        sys.exit(EXIT_TENANT)
    finally:
        progress.stop()
    if results.tenant_unread:  # first, before the summary: the network side ran, the tenant was not read
        from ems_readiness.engine.auth import SIGN_IN_HINT

        hint = f" (hint: {SIGN_IN_HINT})" if results.tenant_unread.startswith("sign-in") else ""
        echo_error(f"{results.tenant_unread}{hint}")
    return results


def scan_exit(results, code: int) -> int:
    """Exit 3 when the tenant was not read at all, after the report for what was assessed is written."""
    return EXIT_TENANT if results.tenant_unread else code


# ---- commands ------------------------------------------------------------------------------

@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name=PROG)
def main() -> None:
    """Readiness assessment for Microsoft Enterprise Mobility + Security onboarding.

    Probes the tenant (read-only, Microsoft Graph) and the network the way the services will see
    it, and maps every result to the customer responsibilities of the FastTrack onboarding.
    """
    from ems_readiness.engine.secrets import register_environment
    from ems_readiness.engine.terminal import configure_logging, install_excepthook

    register_environment()  # before anything can read, print or echo them
    configure_logging()
    install_excepthook()


@main.command()
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), help="Scan profile (TOML).")
@click.option("--tenant", help="Tenant id or initial domain.")
@click.option("--graph-url", help="Graph root (default https://graph.microsoft.com); http:// only for loopback.")
@click.option("--auth", type=click.Choice(["default", "env", "cli", "device-code", "managed-identity",
                                           "workload-identity", "token"]), help="Credential to sign in with.")
@click.option("--resolver", "resolvers", multiple=True, metavar="NAME=IP[:PORT]", help="DNS resolver (repeatable).")
@click.option("--site", metavar="NAME", help="The site this scan speaks for ([vantage] site; default: the host name).")
@click.option("--only", multiple=True, metavar="ID|AREA", help="Run only these checks or areas (repeatable).")
@click.option("--skip", multiple=True, metavar="ID|AREA", help="Skip these checks or areas (repeatable).")
@click.option("--directory-export", type=click.Path(dir_okay=False),
              help="An ldifde (.ldf) or csvde (.csv) export of the on-premises directory ([directory] export).")
@click.option("--directory-forest", type=click.Path(dir_okay=False),
              help="The forest description (JSON) sent with an export ([directory] forest_file).")
@click.option("--no-network", is_flag=True, help="Skip the network side (DNS, TLS, reachability).")
@click.option("--no-tenant", is_flag=True, help="Skip the tenant side (Graph).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@output_options
def scan(profile_path, tenant, graph_url, auth, resolvers, site, only, skip, directory_export, directory_forest, no_network,
         no_tenant, quiet, out_dir, formats, fail_on, fail_on_error, lang, baseline, suppress_file) -> None:
    """The live assessment."""
    from ems_readiness.engine.profile import ProfileError, apply_overrides, environment_defaults, load_profile

    # every input is read and validated here, before the first probe
    try:
        profile = load_profile(profile_path)
        resolver_map = parse_resolver_flags(resolvers)
        profile = apply_overrides(profile, {"tenant.id": tenant, "tenant.graph_url": graph_url, "tenant.auth": auth,
                                            "dns.resolvers": resolver_map or None, "vantage.site": site,
                                            "directory.export": directory_export and str(Path(directory_export).resolve()),
                                            "directory.forest_file": directory_forest and str(Path(directory_forest).resolve())},
                                  flags={"tenant.id": "--tenant", "tenant.graph_url": "--graph-url",
                                         "tenant.auth": "--auth", "dns.resolvers": "--resolver", "vantage.site": "--site",
                                         "directory.export": "--directory-export",
                                         "directory.forest_file": "--directory-forest"})
        profile = environment_defaults(profile)
    except ProfileError as exc:
        fail_usage(str(exc))
    if profile.network.proxy:
        from ems_readiness.engine.secrets import register_proxy_url

        register_proxy_url(profile.network.proxy)
    validate_directory_files(profile)
    check_directory_password(profile)
    if no_network and no_tenant and not (profile.directory.servers or profile.directory.export):
        fail_usage("--no-network and --no-tenant together leave nothing to scan (no [directory] either)")
    if not no_tenant:
        check_token_variable(profile)
    checks = choose_checks(only, skip)
    check_owner_ids(profile, profile_path)
    plan = plan_outputs(profile, all_check_ids(), out_dir=out_dir or "ems-readiness-report", formats=formats,
                        fail_on=fail_on, fail_on_error=fail_on_error, lang=lang, baseline=baseline,
                        suppress_file=suppress_file)
    results = run_scan(profile, checks, tenant_side=not no_tenant, network_side=not no_network, quiet=quiet)
    sys.exit(scan_exit(results, finish(results, plan)))


def check_token_variable(profile) -> None:
    """A bearer token is printable ASCII; anything else cannot go into a header (never echoed)."""
    from ems_readiness.engine.auth import TOKEN_ENV

    token = os.environ.get(TOKEN_ENV, "").strip()
    if profile.tenant.auth == "token" and token and not (token.isascii() and token.isprintable()):
        fail_usage(f"{TOKEN_ENV}: a bearer token is printable ASCII text; this one is not")


def all_check_ids() -> set[str]:
    return {c.id for c in load_checks_or_exit()}


def check_owner_ids(profile, profile_path) -> None:
    """A check id in [owners] names a check that exists (a role key was checked with the profile)."""
    from ems_readiness.engine.catalogues import owner_roles
    from ems_readiness.engine.profile import did_you_mean

    known = all_check_ids()
    for key in profile.owners:
        if key not in owner_roles().roles and key not in known:
            fail_usage(f"{profile_path or 'profile'}: 'owners': unknown check id {key!r} ({did_you_mean(key, known)})")


def check_directory_password(profile) -> None:
    """A live directory read needs the bind password from the environment: missing is exit 2, not a failed bind."""
    from ems_readiness.probes.directory import PASSWORD_ENV

    if profile.directory.servers and not profile.directory.export and not os.environ.get(PASSWORD_ENV):
        fail_usage(f"[directory] servers are set but {PASSWORD_ENV} is not: the bind password comes from the "
                   "environment only")


def validate_directory_files(profile) -> None:
    """A bad export or forest description is exit 2 with the file and line, before any probing."""
    settings = profile.directory
    if settings.export:
        from ems_readiness.probes.directory_export import ExportError, validate_export

        path = profile.path(settings.export)
        try:
            validate_export(path)
        except ExportError as exc:
            fail_usage(str(exc))
        except OSError as exc:
            fail_usage(f"{path}: cannot read the export ({exc.strerror or type(exc).__name__})")
    if settings.forest_file:
        from ems_readiness.probes.forest_file import ForestFileError, load_forest_file

        try:
            load_forest_file(profile.path(settings.forest_file))
        except ForestFileError as exc:
            fail_usage(str(exc))


def parse_resolver_flags(values) -> dict[str, str]:
    resolvers: dict[str, str] = {}
    for value in values:
        name, sep, address = value.partition("=")
        if not sep or not name or not address:
            fail_usage(f"--resolver {value!r}: expected NAME=IP[:PORT]")
        resolvers[name] = address
    return resolvers


@main.command()
@click.option("--scenario", type=click.Choice(["unready", "ready"]), default="unready", show_default=True)
@click.option("--branch", is_flag=True,
              help="Also scan from the simulated branch office (its own resolver, a firewall dropping some "
                   "endpoints) and merge both sites; each site's results go to OUT/sites/SITE/results.json.")
@click.option("--branch-isolation", type=click.Choice(BRANCH_ISOLATIONS), default="auto", show_default=True,
              help="Where the branch office scans from: a network namespace of its own with a real firewall "
                   "(iptables; needs root), or a second loopback address; auto: the namespace when it can be made.")
@click.option("--only", multiple=True, metavar="ID|AREA")
@click.option("--skip", multiple=True, metavar="ID|AREA")
@click.option("--quiet", "-q", is_flag=True)
@output_options
def demo(scenario, branch, branch_isolation, only, skip, quiet, out_dir, formats, fail_on, fail_on_error, lang,
         baseline, suppress_file) -> None:
    """Scan the built-in simulated customer environment on loopback (no account, no internet)."""
    from ems_readiness.simulate.environment import SimulatedEnvironment
    from ems_readiness.engine.profile import Profile, apply_overrides

    checks = choose_checks(only, skip)
    plan = plan_outputs(Profile(), all_check_ids(), out_dir=out_dir or "ems-readiness-demo", formats=formats,
                        fail_on=fail_on, fail_on_error=fail_on_error, lang=lang, baseline=baseline,
                        suppress_file=suppress_file)
    with SimulatedEnvironment(scenario) as env:
        if not quiet:
            echo(f"simulated environment '{scenario}' up: Graph {env.graph_url}, DNS {env.dns_address}", err=True)
        head_office = apply_overrides(env.profile(), {"vantage.site": DEMO_HEAD_OFFICE})
        results = run_scan(head_office, checks, mode="demo", scenario=scenario, credential=env.credential(),
                           quiet=quiet)
        if branch:
            selection = [*(f"--only={o}" for o in only), *(f"--skip={s}" for s in skip)] + (["--quiet"] if quiet else [])
            branch_results = scan_branch_office(env, checks, selection, branch_isolation, quiet)
    if branch:
        results = merge_demo_sites(results, branch_results, plan)
    sys.exit(scan_exit(results, finish(results, plan)))


def scan_branch_office(env, checks, selection: list[str], isolation: str, quiet: bool):
    """The branch office's scan, in a network namespace of its own when `isolation` allows and one
    can be made, else from its loopback address; one line says which, and its settings record it."""
    from ems_readiness.simulate.branch_office import branch_namespace, firewall_record, scan_in_namespace
    from ems_readiness.simulate.environment import BRANCH_ON_LOOPBACK
    from ems_readiness.simulate.namespace import NamespaceUnavailable

    why_not = "--branch-isolation loopback"
    if isolation != "loopback":
        try:
            with branch_namespace(env) as namespace:
                firewall = ", ".join(rule.describe() for rule in namespace.rules) or "lets everything through"
                echo(f"branch office '{env.branch_site}': in network namespace {namespace.name} "
                     f"(its own loopback; firewall: {firewall})", err=True)
                results = scan_in_namespace(namespace, env, selection)
                return with_settings(results, isolation=f"network namespace {namespace.name}",
                                     firewall=firewall_record(namespace))
        except NamespaceUnavailable as exc:
            if isolation == "namespace":
                fail_usage(f"--branch-isolation namespace: {exc}")
            why_not = str(exc)
    branch = env.start_branch(BRANCH_ON_LOOPBACK)
    address = branch.address if branch is not None else "127.0.0.1"
    echo(f"branch office '{env.branch_site}': on loopback {address} (no network namespace: {why_not})", err=True)
    return with_settings(scan_from_branch(env, checks, quiet), isolation=f"loopback {address}")


def scan_from_branch(env, checks, quiet: bool):
    if not quiet:
        echo(f"scanning from the branch office '{env.branch_site}' (resolver {env.branch_resolvers['internal']})",
             err=True)
    return run_scan(env.branch_profile(), checks, mode="demo", scenario=env.scenario, tenant_side=False, quiet=quiet)


def with_settings(results, **settings):
    """The scan's settings and its entry in `sites` (which a merge keeps) with these added."""
    from ems_readiness.engine.sites import stamp_site

    results.settings.update(settings)
    return stamp_site(results)


@main.command(BRANCH_CHILD_COMMAND, hidden=True)
@click.option("--scenario", type=click.Choice(["unready", "ready"]), required=True)
@click.option("--ports", "ports_json", required=True, help="The head office's listener ports (JSON: name -> port).")
@click.option("--results", "results_dir", required=True, type=click.Path(file_okay=False))
@click.option("--only", multiple=True)
@click.option("--skip", multiple=True)
@click.option("--quiet", "-q", is_flag=True)
def demo_branch_scan(scenario, ports_json, results_dir, only, skip, quiet) -> None:
    """Internal (demo --branch runs it inside the branch office's network namespace): start the simulated
    services there on the head office's ports, scan from the branch and write RESULTS/results.json.
    Exits when its stdin closes (the demo that waits on it is gone)."""
    from ems_readiness.reports.outputs import write_outputs
    from ems_readiness.simulate.branch_office import watch_parent
    from ems_readiness.simulate.environment import BRANCH_IN_NAMESPACE, SimulatedEnvironment

    watch_parent()
    checks = choose_checks(only, skip)
    try:
        ports = {str(name): int(port) for name, port in json.loads(ports_json).items()}
    except (ValueError, TypeError, AttributeError):
        fail_usage("--ports: expected a JSON object of listener names and port numbers")
    with SimulatedEnvironment(scenario, ports=ports) as env:
        env.start_branch(BRANCH_IN_NAMESPACE)
        results = scan_from_branch(env, checks, quiet)
    write_outputs(results, Path(results_dir), ["json"], "en")


DEMO_HEAD_OFFICE = "head-office"


def merge_demo_sites(head_office, branch_office, plan: OutputPlan):
    """Each site's results.json under OUT/sites/SITE/, and the merged document for the report."""
    from ems_readiness.engine.merge import merge_results
    from ems_readiness.reports.outputs import write_outputs

    named = []
    for site in (head_office, branch_office):
        folder = Path(plan.out_dir) / "sites" / site.vantage.site
        try:
            [written] = [p for p in write_outputs(site, folder, ["json"], plan.lang) if p.name == "results.json"]
        except OSError as exc:
            fail_usage(f"--out {plan.out_dir}: cannot write the outputs ({exc.strerror or type(exc).__name__})")
        echo(f"wrote {written}", err=True)
        named.append((str(written), site))
    merged = merge_results(named)
    merged.tenant_unread = head_office.tenant_unread
    return merged


@main.command()
@click.option("--scenario", type=click.Choice(["unready", "ready", "large"]), default="unready", show_default=True)
@click.option("--faults", metavar="SPEC", help="Graph fault injection, e.g. rate=0.3,kinds=429+503,retry_after=0.2; "
              "a hostile Graph: page-loop, slow-drip, huge-body, bad-gzip, deep-nesting, redirect-offhost, "
              "redirect-loop, echo-secrets, odd-shapes, odd-types, status-500-all, status-429-all, proxy-407; "
              "hostile network servers: proxy=block-page|auth|connect-silence|garbage|hang, "
              "tls=garbage|hang|unsupported-key, dns=garbage|hang|bad-id|truncated|huge|control-chars")
@click.option("--write-profile", type=click.Path(dir_okay=False), help="Also write the profile to this file.")
def simulate(scenario, faults, write_profile) -> None:
    """Run the simulated environment alone and print the profile that points a scan at it."""
    from ems_readiness.simulate.environment import SimulatedEnvironment

    try:
        env = SimulatedEnvironment(scenario, faults=faults)
    except ValueError as exc:
        fail_usage(f"--faults: {exc}")
    with env:
        profile_text = env.profile_toml()
        if write_profile:
            try:
                Path(write_profile).write_text(profile_text, encoding="utf-8")
            except OSError as exc:
                fail_usage(f"--write-profile {write_profile}: {exc.strerror or type(exc).__name__}")
        click.echo(profile_text)
        click.echo(f"# export EMS_READINESS_TOKEN='{env.token}'   (a simulated token, not a secret)")
        click.echo("# then: ems-readiness scan --profile <this profile> --out DIR   (Ctrl-C stops the simulation)")
        sys.stdout.flush()
        import signal
        import threading

        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):  # a background job ignores SIGINT; TERM stops it too
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass


@main.command("checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_checks(fmt) -> None:
    """The check catalogue: id, severity, area, owner role, title and responsibilities (JSON: everything)."""
    checks = load_checks_or_exit()
    if fmt == "json":
        echo(json_text([check_metadata(c) for c in checks], indent=2))
        return
    from ems_readiness.engine.catalogues import owner_roles

    rows = [[c.id, c.severity.value, c.area, owner_roles().role_of(c.area, c.owner), c.title,
             ", ".join(c.responsibilities)] for c in checks]
    for line in text_table(["ID", "SEVERITY", "AREA", "OWNER", "TITLE", "RESPONSIBILITIES"], rows):
        echo(line)
    echo(f"\n{len(checks)} checks; 'ems-readiness checks --format json' gives each one's why, fix and Graph permissions.")


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns aligned to their widest cell, a rule under the header; the last column runs free."""
    widths = [max(len(one_line(str(row[i]))) for row in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: list[str]) -> str:
        head = "  ".join(one_line(str(cell)).ljust(width) for cell, width in zip(cells, widths))
        return f"{head}  {one_line(str(cells[-1]))}".rstrip()

    return [line(header), line(["-" * w for w in widths] + ["-" * len(header[-1])]), *(line(row) for row in rows)]


def check_metadata(c) -> dict[str, Any]:
    from ems_readiness.engine.catalogues import owner_roles

    return {"id": c.id, "title": c.title, "area": c.area, "severity": c.severity.value,
            "responsibilities": list(c.responsibilities), "topic": c.topic,
            "permissions": {"application": c.permissions.application, "delegated": c.permissions.delegated},
            "delegated_only": c.delegated_only, "side": c.side,
            "owner": owner_roles().role_of(c.area, c.owner), "why": c.why, "fix": c.fix, "module": c.module}


@main.command()
@click.option("--only", multiple=True, metavar="ID|AREA")
@click.option("--skip", multiple=True, metavar="ID|AREA")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def permissions(only, skip, fmt) -> None:
    """The least-privilege Graph permissions for the selected checks, app-only and delegated."""
    checks = choose_checks(only, skip)
    application = sorted({p for c in checks for p in c.permissions.application})
    delegated = sorted({p for c in checks for p in c.permissions.delegated})
    delegated_only = sorted(c.id for c in checks if c.delegated_only)
    if fmt == "json":
        echo(json_text({"application": application, "delegated": delegated,
                        "delegated_only_checks": delegated_only}, indent=2))
        return
    click.echo("Application permissions (app-only sign-in; grant admin consent):")
    for p in application:
        users = ", ".join(c.id for c in checks if p in c.permissions.application)
        echo(f"  {p:42} {users}")
    click.echo("\nDelegated permissions (signed-in user, who also needs a directory role such as Global Reader):")
    for p in delegated:
        users = ", ".join(c.id for c in checks if p in c.permissions.delegated)
        echo(f"  {p:42} {users}")
    if delegated_only:
        echo(f"\nDelegated sign-in only (skipped under app-only): {', '.join(delegated_only)}")


def suppressible_ids(results, suppress_file) -> set[str]:
    """The check ids a suppression file may name when re-rendering saved results: the document's and
    every registered check's (looked up only when there is such a file: importing every check takes a second)."""
    return (all_check_ids() if suppress_file else set()) | {c.id for c in results.checks}


@main.command()
@click.argument("results_file", type=click.Path(dir_okay=False))
@output_options
def report(results_file, out_dir, formats, fail_on, fail_on_error, lang, baseline, suppress_file) -> None:
    """Re-render saved results (optionally against a baseline)."""
    from ems_readiness.engine.profile import Profile

    results = load_results_file(results_file)
    results.mode = "replay" if results.mode == "live" else results.mode
    plan = plan_outputs(Profile(), suppressible_ids(results, suppress_file),
                        out_dir=out_dir or "ems-readiness-report", formats=formats, fail_on=fail_on,
                        fail_on_error=fail_on_error, lang=lang, baseline=baseline, suppress_file=suppress_file)
    sys.exit(finish(results, plan))


@main.command()
@click.argument("results_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@output_options
def merge(results_files, out_dir, formats, fail_on, fail_on_error, lang, baseline, suppress_file) -> None:
    """Merge the results of several sites (and merged documents) into one results document and report."""
    from ems_readiness.engine.merge import MergeError, merge_files
    from ems_readiness.engine.model import ResultsFileError
    from ems_readiness.engine.profile import Profile

    try:
        results = merge_files(results_files)
    except (MergeError, ResultsFileError) as exc:
        fail_usage(str(exc))
    if formats and "json" not in formats.split(","):
        formats += ",json"  # the merged document is always written: it is the input of the next merge or diff
    plan = plan_outputs(Profile(), suppressible_ids(results, suppress_file),
                        out_dir=out_dir or "ems-readiness-merged", formats=formats, fail_on=fail_on,
                        fail_on_error=fail_on_error, lang=lang, baseline=baseline, suppress_file=suppress_file)
    sys.exit(finish(results, plan))


@main.command()
@click.argument("old_file", type=click.Path(dir_okay=False))
@click.argument("new_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True)
def diff(old_file, new_file, fmt) -> None:
    """Regressed / new / still failing / fixed / gone between two runs; exit 1 if anything regressed or is new."""
    from ems_readiness.reports.compare import compare, render_markdown, render_text, worsened

    comparison = compare(load_results_file(old_file), load_results_file(new_file))
    if fmt == "json":
        echo(json_text(comparison.as_dict(), indent=2))
    elif fmt == "md":
        echo(render_markdown(comparison))
    else:
        echo(render_text(comparison))
    sys.exit(1 if worsened(comparison) else 0)


@main.command()
def schema() -> None:
    """Print the JSON Schema of results.json."""
    from ems_readiness.engine.model import results_schema

    click.echo(json.dumps(results_schema(), indent=2))


@main.group()
def catalog() -> None:
    """The Microsoft endpoint catalogue (package data, never fetched at scan time)."""


@catalog.command("import")
@click.argument("json_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the TOML here (default: stdout).")
def catalog_import(json_file, out_file) -> None:
    """Turn a saved JSON of Microsoft's endpoints web service into the catalogue TOML format."""
    from ems_readiness.engine.endpoints import CatalogError, import_m365_json

    if out_file:
        folder = Path(out_file).absolute().parent
        if not folder.is_dir():
            fail_usage(f"--out {out_file}: folder not found: {folder}")
    try:
        text = import_m365_json(Path(json_file))
    except CatalogError as exc:
        fail_usage(str(exc))
    if out_file:
        try:
            Path(out_file).write_text(text, encoding="utf-8")
        except OSError as exc:
            fail_usage(f"--out {out_file}: cannot write ({exc.strerror or type(exc).__name__})")
    else:
        click.echo(text)


@catalog.command("show")
@click.option("--catalog", "catalog_file", type=click.Path(dir_okay=False), help="A catalogue file instead of the built-in.")
def catalog_show(catalog_file) -> None:
    """Print the endpoint catalogue in use."""
    from ems_readiness.engine.endpoints import CatalogError, dump_catalog, load_catalog

    try:
        click.echo(dump_catalog(load_catalog(Path(catalog_file) if catalog_file else None)))
    except CatalogError as exc:
        fail_usage(str(exc))


if __name__ == "__main__":
    main(prog_name=PROG)
