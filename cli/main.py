"""`journeys`: the command line for journey authors and operators.

Each command is a thin shell over a package that does the work (compiler, sandbox, ...), so the same
behaviour is reachable from tests and the API without going through the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="journeys",
    help="Validate, compile, visualise and run Tellescope-compatible patient journeys on Temporal.",
    no_args_is_help=True,
    add_completion=False,
)

PathsArg = Annotated[list[Path], typer.Argument(help="Journey YAML files or folders.")]


@app.command()
def validate(paths: PathsArg) -> None:
    """Validate journeys; print a summary per journey, or every error as file:line:col path: msg."""
    from compiler import CompileFailed, compile_paths

    try:
        result = compile_paths(paths)
    except CompileFailed as failed:
        for error in failed.errors:
            typer.echo(str(error), err=True)
        count = len(failed.errors)
        typer.echo(f"{count} error{'s' if count != 1 else ''}", err=True)
        raise typer.Exit(1) from None
    for plan in result.plans:
        typer.echo(
            f"{plan.source}: journey {plan.journeyId} version {plan.version}:"
            f" {_count(plan.steps, 'step')}, {_count(plan.triggers, 'trigger')},"
            f" {_count(plan.roots, 'root')}"
        )
    org = result.organization
    typer.echo(
        f"{_count(result.plans, 'journey')} valid (organization time zone {org.timezone},"
        f" {_count(org.officeHours, 'office-hour block')},"
        f" {_count(org.outOfOfficeHours, 'closure')})"
    )


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def main() -> None:  # pragma: no cover - console entry point
    app()


@app.command()
def graph(
    file: Annotated[Path, typer.Argument(help="A journey YAML file.")],
    format: Annotated[str, typer.Option("--format", help="mermaid or dot")] = "mermaid",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    organization: Annotated[
        Path | None,
        typer.Option(help="Organisation YAML (default: organization.yaml beside FILE)."),
    ] = None,
) -> None:
    """Draw a journey as a flowchart: steps with their actions, edges with events and delays."""
    from compiler import CompileFailed, compile_paths
    from compiler.graph import to_dot, to_mermaid

    if format not in ("mermaid", "dot"):
        raise typer.BadParameter("expected mermaid or dot", param_hint="--format")
    inputs = [file]
    org_file = organization or file.parent / "organization.yaml"
    if org_file.exists() and org_file != file:
        inputs.append(org_file)
    try:
        result = compile_paths(inputs + _referenced_siblings(file))
    except CompileFailed as failed:
        for error in failed.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    plan = next(p for p in result.plans if p.source == str(file))
    text = to_mermaid(plan) if format == "mermaid" else to_dot(plan)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output} ({len(plan.steps)} steps)")


def _referenced_siblings(file: Path) -> list[Path]:
    """Other journeys in the same folder, so cross-journey references (addToJourney) resolve."""
    return [
        p for p in sorted(file.parent.glob("*.y*ml")) if p != file and p.name != "organization.yaml"
    ]


@app.command(name="import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Tellescope JSON: journey, steps, triggers.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the YAML files.")],
) -> None:
    """Convert a Tellescope export into journey YAML with readable step ids."""
    from compiler.importer import ImportError_, import_files

    try:
        written = import_files(files, output)
    except ImportError_ as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"wrote {path}")


# --- database -------------------------------------------------------------------------------------

db_app = typer.Typer(help="The engine's database (DATABASE_URL): migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: DATABASE_URL).")
]


def _database_url(url: str | None) -> str:
    from settings import EngineSettings

    return url or EngineSettings().database_url


@db_app.command("upgrade")
def db_upgrade(
    url: UrlOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations (store/migrations) up to REVISION (default: the newest)."""
    from store.db import current_revisions, get_engine, upgrade_engine

    engine = get_engine(_database_url(url))
    before = current_revisions(engine)
    upgrade_engine(engine, revision)
    after = current_revisions(engine)
    if before == after:
        typer.echo(f"database already at {', '.join(sorted(after)) or 'base'}")
    else:
        typer.echo(
            f"database upgraded from {', '.join(sorted(before)) or 'base'}"
            f" to {', '.join(sorted(after))}"
        )


@db_app.command("current")
def db_current(url: UrlOption = None) -> None:
    """Show the database's revision and the newest one."""
    from store.db import current_revisions, get_engine, head_revisions

    current = current_revisions(get_engine(_database_url(url)))
    head = head_revisions()
    state = "up to date" if current == head else "needs `journeys db upgrade`"
    typer.echo(
        f"current {', '.join(sorted(current)) or 'base'}; newest {', '.join(sorted(head))}: {state}"
    )


# --- deployments ----------------------------------------------------------------------------------

ApiOption = Annotated[
    str | None,
    typer.Option("--api", help="Do it through the engine's API at this URL instead of locally."),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="JOURNEYS_API_KEY", help="API key for --api.", show_default=False
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Do not contact Tellescope (keep the journey record ids known from earlier versions).",
    ),
]


def _default_by() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "cli"


def _deploy_files(paths: list[Path]) -> list[Path]:
    """The YAML files under PATHS, plus organization.yaml beside a file when none is given."""
    from compiler.sources import discover

    files = discover(paths)
    has_org = any(p.name in ("organization.yaml", "organization.yml") for p in files)
    if not has_org:
        for path in paths:
            beside = path.parent / "organization.yaml"
            if path.is_file() and beside.exists() and beside not in files:
                files.append(beside)
                break
    return files


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _print_compile_errors(texts: list[str]) -> None:
    for text in texts:
        typer.echo(text, err=True)
    typer.echo(f"{len(texts)} error{'s' if len(texts) != 1 else ''}", err=True)


def _print_deployed(journeys: list[dict]) -> None:
    for j in journeys:
        if j["status"] == "unchanged":
            typer.echo(
                f"{j['source']}: {j['journeyId']} unchanged (version {j['version']} is current)"
            )
            continue
        was = f"was {j['previousVersion']}" if j["previousVersion"] else "first version"
        what = "deployed version" if j["status"] == "created" else "made current again: version"
        typer.echo(
            f"{j['source']}: {j['journeyId']} {what} {j['version']} ({was});"
            f" Tellescope journey {j['tellescopeJourneyId']} {j['tellescope']}"
        )


def _print_schedules(schedules: dict | None) -> None:
    if not schedules:
        return
    message = f": {schedules['message']}" if schedules.get("message") else ""
    typer.echo(f"trigger schedules {schedules['status']}{message}")


def _api_call(method: str, api: str, path: str, api_key: str | None, **kwargs):
    import httpx

    if not api_key:
        _fail("--api needs an API key: --api-key or JOURNEYS_API_KEY (journeys api-key create)")
    try:
        response = httpx.request(
            method,
            api.rstrip("/") + path,
            headers={"Authorization": f"API_KEY {api_key}"},
            timeout=120,
            **kwargs,
        )
    except httpx.HTTPError as error:
        _fail(f"{api} not reachable: {error}")
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    if response.status_code >= 400:
        errors = (body.get("info") or {}).get("errors") if isinstance(body, dict) else None
        if response.status_code == 422 and errors and all("text" in e for e in errors):
            _print_compile_errors([e["text"] for e in errors])
            raise typer.Exit(1)
        message = body.get("message") if isinstance(body, dict) else body
        _fail(f"{response.status_code} {message}")
    return body


def _run(coroutine):
    """Run a coroutine; commands that connected to Temporal exit hard afterwards (the SDK's
    Rust threads can crash an orderly interpreter exit: sdk-python #300)."""
    import asyncio

    return asyncio.run(coroutine)


def _hard_exit(code: int = 0) -> None:
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def _temporal_client_or_reason():
    from settings import EngineSettings
    from temporal_connection import connect_temporal, temporal_address

    settings = EngineSettings()
    try:
        return await connect_temporal(settings, timeout=5.0), None
    except Exception as error:
        return None, f"Temporal at {temporal_address(settings)} not reachable ({error})"


@app.command()
def deploy(
    paths: PathsArg,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who deploys (default: your user name).")
    ] = None,
    offline: OfflineOption = False,
) -> None:
    """Validate journeys, store new versions and make them current; unchanged files are no-ops.
    Creates (or updates) each journey's Tellescope Journey record and syncs trigger schedules
    when Temporal is reachable."""
    files = _deploy_files(paths)
    by = by or _default_by()
    if api is not None:
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            _fail("--api uploads plain file names: two files share a name")
        body = {"files": {f.name: f.read_text(encoding="utf-8") for f in files}, "deployedBy": by}
        report = _api_call("POST", api, "/v1/deployments", api_key, json=body)
        _print_deployed(report["journeys"])
        _print_schedules(report.get("schedules"))
        return
    code = _run(_deploy_local(files, by, offline))
    _hard_exit(code)


async def _deploy_local(files: list[Path], by: str, offline: bool) -> int:
    import dataclasses

    from temporalio.exceptions import ApplicationError

    from services import deployments as service
    from services.tellescope_journeys import JourneyRecordConflict
    from settings import EngineSettings
    from store.db import upgrade_database
    from store.plans import PlanStore
    from tellescope.client import TellescopeClient

    settings = EngineSettings()
    plans = PlanStore(upgrade_database(settings.database_url))
    sources = []
    for path in files:
        if not path.exists():
            sources.append(service.SourceFile(str(path), ""))
            continue
        sources.append(service.SourceFile(str(path), path.read_text(encoding="utf-8")))
    try:
        compiled = service.compile_sources(sources, plans, plain_names=False)
    except service.CompileErrors as failed:
        _print_compile_errors([str(e) for e in failed.errors])
        return 1
    tellescope = None if offline else TellescopeClient.from_settings()
    try:
        report = await service.deploy(plans, compiled, by=by, tellescope=tellescope)
    except ApplicationError as error:
        typer.echo(f"error: Tellescope: {error.message} (nothing deployed)", err=True)
        return 1
    except JourneyRecordConflict as error:
        typer.echo(f"error: {error} (nothing deployed)", err=True)
        return 1
    finally:
        if tellescope is not None:
            await tellescope.aclose()
    _print_deployed([dataclasses.asdict(j) for j in report.journeys])
    if any(j.status != "unchanged" for j in report.journeys):
        client, reason = await _temporal_client_or_reason()
        if client is None:
            typer.echo(f"trigger schedules skipped: {reason}")
        else:
            sync = await service.sync_schedules(client, plans, settings.task_queue)
            _print_schedules(dataclasses.asdict(sync))
    return 0


@app.command()
def deployments(
    journey: Annotated[str | None, typer.Argument(help="Only this journey.")] = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List deployed versions, oldest first; `*` marks the current one."""
    if api is not None:
        params = {"journeyId": journey} if journey else {}
        rows = _api_call("GET", api, "/v1/deployments", api_key, params=params)["versions"]
    else:
        from settings import EngineSettings
        from store.db import upgrade_database
        from store.plans import PlanStore

        plans = PlanStore(upgrade_database(EngineSettings().database_url))
        rows = [
            {
                "journeyId": r.journey_id,
                "version": r.version,
                "current": r.is_current,
                "deployedAt": r.deployed_at.isoformat(timespec="seconds"),
                "deployedBy": r.deployed_by,
                "sourcePath": r.source_path,
            }
            for r in plans.versions(journey)
        ]
    if journey is not None and not rows:
        _fail(f'journey "{journey}" is not deployed')
    for r in sorted(rows, key=lambda r: (r["journeyId"], str(r["deployedAt"]))):
        mark = "*" if r["current"] else " "
        typer.echo(
            f"{mark} {r['journeyId']}  {r['version']}  {r['deployedAt']}"
            f"  by {r['deployedBy'] or '?'}  {r['sourcePath']}"
        )


@app.command()
def diff(
    journey: Annotated[str, typer.Argument(help="Journey id.")],
    v1: Annotated[
        str | None, typer.Argument(help="Older version, or a YAML file to compare with current.")
    ] = None,
    v2: Annotated[str | None, typer.Argument(help="Newer version (default: current).")] = None,
) -> None:
    """Unified diff of two versions' YAML (default: the current one against the one before it),
    or of a file against the current version."""
    from services import deployments as service
    from services.errors import NotFound
    from settings import EngineSettings
    from store.db import upgrade_database
    from store.plans import PlanNotFound, PlanStore

    plans = PlanStore(upgrade_database(EngineSettings().database_url))
    try:
        if v1 is not None and Path(v1).is_file():
            current = plans.row(journey, v2) if v2 else plans.current(journey)
            text = service.unified_diff(
                current.source,
                Path(v1).read_text(encoding="utf-8"),
                f"{journey}@{current.version}",
                v1,
            )
        else:
            _old, _new, text = service.diff_versions(plans, journey, v1, v2)
    except (PlanNotFound, NotFound) as error:
        _fail(str(error))
    typer.echo(text, nl=False)
    if not text:
        typer.echo("no differences", err=True)


@app.command()
def rollback(
    journey: Annotated[str, typer.Argument(help="Journey id.")],
    version: Annotated[str, typer.Argument(help="The version to make current (or a prefix).")],
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    by: Annotated[str | None, typer.Option("--by", help="Who rolls back.")] = None,
    offline: OfflineOption = False,
) -> None:
    """Make an earlier version current. Running enrollments keep the version they started on."""
    by = by or _default_by()
    if api is not None:
        done = _api_call(
            "POST",
            api,
            f"/v1/deployments/{journey}/rollback",
            api_key,
            json={"version": version, "by": by},
        )
        typer.echo(
            f"{journey}: version {done['version']} is current (was {done['previousVersion']})"
        )
        _print_schedules(done.get("schedules"))
        return
    _hard_exit(_run(_rollback_local(journey, version, by, offline)))


async def _rollback_local(journey: str, version: str, by: str, offline: bool) -> int:
    import dataclasses

    from temporalio.exceptions import ApplicationError

    from services import deployments as service
    from services.errors import NotFound
    from settings import EngineSettings
    from store.db import upgrade_database
    from store.plans import PlanStore
    from tellescope.client import TellescopeClient

    settings = EngineSettings()
    plans = PlanStore(upgrade_database(settings.database_url))
    tellescope = None if offline else TellescopeClient.from_settings()
    try:
        done = await service.rollback(plans, journey, version, by=by, tellescope=tellescope)
    except NotFound as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    except ApplicationError as error:
        typer.echo(f"error: Tellescope: {error.message} (nothing changed)", err=True)
        return 1
    finally:
        if tellescope is not None:
            await tellescope.aclose()
    typer.echo(f"{journey}: version {done.version} is current (was {done.previousVersion})")
    client, reason = await _temporal_client_or_reason()
    if client is None:
        typer.echo(f"trigger schedules skipped: {reason}")
    else:
        sync = await service.sync_schedules(client, plans, settings.task_queue)
        _print_schedules(dataclasses.asdict(sync))
    return 0


# --- API keys, webhooks, the API server -----------------------------------------------------------

api_key_app = typer.Typer(
    help="API keys of the engine's API (stored hashed).", no_args_is_help=True
)
app.add_typer(api_key_app, name="api-key")


def _api_keys():
    from settings import EngineSettings
    from store.api_keys import ApiKeys
    from store.db import upgrade_database

    return ApiKeys(upgrade_database(EngineSettings().database_url))


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "",
) -> None:
    """Create a key and print it. It is shown only this once (only its hash is stored)."""
    key, row = _api_keys().create(name)
    typer.echo(key)
    typer.echo(
        f"API key {row.id}{f' ({name})' if name else ''} created; store it now:"
        " it cannot be shown again.",
        err=True,
    )


@api_key_app.command("list")
def api_key_list() -> None:
    """Key ids, names, creation and last use (never the keys)."""
    for row in _api_keys().list():
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        typer.echo(
            f"{row.id}  {row.name or '-'}  created {row.created_at:%Y-%m-%d}  {used}  {state}"
        )


@api_key_app.command("revoke")
def api_key_revoke(key_id: Annotated[str, typer.Argument(help="The key id (jk_<id>.…).")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    key_id = key_id.removeprefix("jk_").split(".", 1)[0]
    if not _api_keys().revoke(key_id):
        _fail(f"no active API key {key_id}")
    typer.echo(f"API key {key_id} revoked")


webhooks_app = typer.Typer(help="Tellescope record webhooks into the engine.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("configure")
def webhooks_configure(
    url: Annotated[str, typer.Option("--url", help="Public URL of POST /v1/webhooks/tellescope.")],
) -> None:
    """Point Tellescope's record webhooks at the engine (POST /v1/configure-webhooks), signed
    with WEBHOOK_SECRET, which the API verifies deliveries with."""
    from settings import ApiSettings

    secret = ApiSettings().webhook_secret
    if not secret:
        _fail(
            "set WEBHOOK_SECRET (more than 15 random characters, e.g. from"
            " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) for both this"
            " command and the API"
        )
    _run(_configure_webhooks(url, secret))


async def _configure_webhooks(url: str, secret: str) -> None:
    from temporalio.exceptions import ApplicationError

    from tellescope.client import TellescopeClient

    tellescope = TellescopeClient.from_settings()
    try:
        await tellescope.request(
            "POST", "/v1/configure-webhooks", body={"url": url, "secret": secret}
        )
    except ApplicationError as error:
        _fail(f"Tellescope: {error.message}")
    finally:
        await tellescope.aclose()
    typer.echo(f"Tellescope ({tellescope.settings.base_url}) will deliver record webhooks to {url}")


@app.command(name="api")
def api_server(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default API_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default API_PORT, 8000).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the engine's HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from settings import ApiSettings

    settings = ApiSettings()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=log_level,
    )


# Commands defined in their own modules (one concern each).
from cli.dev_cmd import dev as _dev  # noqa: E402
from cli.simulate_cmd import simulate as _simulate  # noqa: E402

app.command(name="simulate")(_simulate)
app.command(name="dev")(_dev)
