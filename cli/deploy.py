"""`journeys deploy`, `deployments`, `diff` and `rollback`: deployed versions, locally (the store
in DATABASE_URL) or through the engine's API (`--api`). Deploy and rollback migrate the database
first; `deployments` and `diff` only read it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    ApiKeyOption,
    ApiOption,
    OfflineOption,
    PathsArg,
    api_call,
    default_by,
    fail,
    hard_exit,
    open_store,
    print_compile_errors,
    run,
    temporal_client_or_reason,
)


def _deploy_files(paths: list[Path]) -> list[Path]:
    """The YAML files under PATHS, plus organization.yaml beside a file when none is given."""
    from compiler.sources import discover

    # A missing path would otherwise be read as an empty document and reported as
    # "journeys:1:1 expected a mapping with `journey:`", which hides the typo.
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        fail(f"{', '.join(missing)}: no such file or folder (nothing deployed)")
    files = discover(paths)
    if not files:
        fail(f"{', '.join(str(p) for p in paths)}: no YAML files found (nothing deployed)")
    has_org = any(p.name in ("organization.yaml", "organization.yml") for p in files)
    if not has_org:
        for path in paths:
            beside = path.parent / "organization.yaml"
            if path.is_file() and beside.exists() and beside not in files:
                files.append(beside)
                break
    return files


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
    by = by or default_by()
    if api is not None:
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            fail("--api uploads plain file names: two files share a name")
        body = {"files": {f.name: f.read_text(encoding="utf-8") for f in files}, "deployedBy": by}
        report = api_call("POST", api, "/v1/deployments", api_key, json=body)
        _print_deployed(report["journeys"])
        _print_schedules(report.get("schedules"))
        return
    code = run(_deploy_local(files, by, offline))
    hard_exit(code)


async def _deploy_local(files: list[Path], by: str, offline: bool) -> int:
    import dataclasses

    from temporalio.exceptions import ApplicationError

    from services import deployments as service
    from services.tellescope_journeys import JourneyRecordConflict
    from settings import EngineSettings
    from store.plans import PlanStore
    from tellescope.client import TellescopeClient

    settings = EngineSettings()
    plans = PlanStore(open_store(migrate=True))
    sources = []
    for path in files:
        if not path.exists():
            sources.append(service.SourceFile(str(path), ""))
            continue
        sources.append(service.SourceFile(str(path), path.read_text(encoding="utf-8")))
    try:
        compiled = service.compile_sources(sources, plans, plain_names=False)
    except service.CompileErrors as failed:
        print_compile_errors([str(e) for e in failed.errors])
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
    for warning in report.warnings:
        typer.echo(warning, err=True)
    _print_deployed([dataclasses.asdict(j) for j in report.journeys])
    if any(j.status != "unchanged" for j in report.journeys):
        client, reason = await temporal_client_or_reason()
        if client is None:
            typer.echo(f"trigger schedules skipped: {reason}", err=True)
        else:
            sync = await service.sync_schedules(client, plans, settings.task_queue)
            _print_schedules(dataclasses.asdict(sync))
    return 0


def deployments(
    journey: Annotated[str | None, typer.Argument(help="Only this journey.")] = None,
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List deployed versions, oldest first; `*` marks the current one."""
    if api is not None:
        params = {"journeyId": journey} if journey else {}
        rows = api_call("GET", api, "/v1/deployments", api_key, params=params)["versions"]
    else:
        from store.plans import PlanStore

        plans = PlanStore(open_store(migrate=False))
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
        fail(f'journey "{journey}" is not deployed')
    for r in sorted(rows, key=lambda r: (r["journeyId"], str(r["deployedAt"]))):
        mark = "*" if r["current"] else " "
        typer.echo(
            f"{mark} {r['journeyId']}  {r['version']}  {r['deployedAt']}"
            f"  by {r['deployedBy'] or '?'}  {r['sourcePath']}"
        )


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
    from store.plans import PlanNotFound, PlanStore

    plans = PlanStore(open_store(migrate=False))
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
        fail(str(error))
    typer.echo(text, nl=False)
    if not text:
        typer.echo("no differences", err=True)


def rollback(
    journey: Annotated[str, typer.Argument(help="Journey id.")],
    version: Annotated[str, typer.Argument(help="The version to make current (or a prefix).")],
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    by: Annotated[str | None, typer.Option("--by", help="Who rolls back.")] = None,
    offline: OfflineOption = False,
) -> None:
    """Make an earlier version current. Running enrollments keep the version they started on."""
    by = by or default_by()
    if api is not None:
        done = api_call(
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
    hard_exit(run(_rollback_local(journey, version, by, offline)))


async def _rollback_local(journey: str, version: str, by: str, offline: bool) -> int:
    import dataclasses

    from temporalio.exceptions import ApplicationError

    from services import deployments as service
    from services.errors import NotFound
    from settings import EngineSettings
    from store.plans import PlanStore
    from tellescope.client import TellescopeClient

    settings = EngineSettings()
    plans = PlanStore(open_store(migrate=True))
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
    client, reason = await temporal_client_or_reason()
    if client is None:
        typer.echo(f"trigger schedules skipped: {reason}", err=True)
    else:
        sync = await service.sync_schedules(client, plans, settings.task_queue)
        _print_schedules(dataclasses.asdict(sync))
    return 0


def delete(
    journey: Annotated[str, typer.Argument(help="Journey id (readable or Tellescope).")],
    api: ApiOption = None,
    api_key: ApiKeyOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who deletes (with --api: the API key).")
    ] = None,
) -> None:
    """Delete a journey (docs/semantics.md §2.2): its running enrollments are removed (cancel
    reason 5, Journey Deleted), its triggers stop, `enduser.journeys[J]` is unset and its
    Tellescope journey record deleted. Needs Temporal (nothing is done without it); deploying
    the journey again brings it back."""
    by = by or default_by()
    if api is not None:
        done = api_call("DELETE", api, f"/v1/journeys/{journey}", api_key)
        _print_deleted(done)
        return
    hard_exit(run(_delete_local(journey, by)))


def _print_deleted(done: dict) -> None:
    typer.echo(
        f"{done['journeyId']}: deleted (version {done['version']});"
        f" {len(done['removed'])} enrollment(s) removed,"
        f" {len(done['unset'])} membership(s) unset;"
        f" Tellescope journey {done['tellescopeJourneyId']} {done['tellescope']}"
    )
    if done.get("failed"):
        typer.echo(f"removal failed (Temporal) for: {', '.join(done['failed'])}", err=True)
    _print_schedules(done.get("schedules"))


async def _delete_local(journey: str, by: str) -> int:
    import dataclasses

    from services.errors import NotFound
    from services.journey_deletion import delete_journey
    from settings import EngineSettings
    from store.ledger import Ledger
    from store.plans import PlanStore
    from tellescope.client import TellescopeClient

    settings = EngineSettings()
    engine = open_store(migrate=True)
    plans = PlanStore(engine)
    client, reason = await temporal_client_or_reason()
    if client is None:
        typer.echo(f"error: {reason} (nothing deleted)", err=True)
        return 1
    tellescope = TellescopeClient.from_settings()
    try:
        done = await delete_journey(
            plans,
            journey,
            by=by,
            client=client,
            ledger=Ledger(engine),
            tellescope=tellescope,
            task_queue=settings.task_queue,
        )
    except NotFound as error:
        typer.echo(f"error: {error}", err=True)
        return 1
    finally:
        await tellescope.aclose()
    _print_deleted(dataclasses.asdict(done))
    return 0
