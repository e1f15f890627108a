"""The ``mlaccel`` command: ``mlaccel twin start|status|stop|reset|advance``,
``mlaccel notebooks run``, ``mlaccel snippets install|list``, ``mlaccel cleanup`` and
``mlaccel doctor``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mlaccel import _paths
from mlaccel.errors import MLAccelError


def _twin(args: argparse.Namespace) -> int:
    from mlaccel._connect import load_local_backend

    duration = [args.duration] if args.duration else []
    as_json = ["--json"] if args.json else []
    return load_local_backend().command(
        [args.action, *duration, "--port", str(args.port), *as_json]
    )


TWIN_ACTIONS = """actions:
  start    start the background twin on loopback (or reuse the running one)
  status   whether it runs: its URL, process, start time and uptime, job folder
  stop     stop it; its state stays on disk for the next start
  reset    clear its state (S3 objects, catalog, registry, functions...) for a clean slate
  advance  move its clock ahead so schedules run now, e.g. `mlaccel twin advance 1h`"""


def _notebooks(args: argparse.Namespace) -> int:
    import os

    import mlaccel
    from mlaccel.config import resolve_backend
    from mlaccel.notebooks import (
        describe_failure,
        load_overrides,
        load_suite,
        run_suite,
        select_entries,
    )

    # every mistake in the files and names given is found here, before a twin or kernel starts
    overrides = load_overrides(args.params) if args.params else {}
    suite = args.suite or _paths.notebooks_dir() / "suite.yaml"  # the clone's, else the wheel's
    entries = load_suite(suite, overrides, overrides_source=f"parameters file {args.params}")
    if args.only:
        entries = select_entries(entries, args.only)
    # The kernels resolve the backend as this process does (--backend, else MLACCEL_BACKEND,
    # else local): it is passed on only when given here, never imposed.
    backend = resolve_backend(args.backend)
    env = {"MLACCEL_BACKEND": args.backend} if args.backend else {}
    twin = None
    started_twin = False
    if backend == "local":
        from mlaccel._connect import load_local_backend

        twin = load_local_backend()
        url = os.environ.get("MLACCEL_TWIN_URL")
        if not url:
            url, started_twin = twin.start_service()
        env["MLACCEL_TWIN_URL"] = url
    try:
        # Connecting first fails at once without credentials, before any kernel starts.
        target = mlaccel.connect(backend, **({"twin_url": env["MLACCEL_TWIN_URL"]} if twin else {}))
        where = target.describe()
        _say(f"running {len(entries)} notebooks on {where}")
        Path(args.output).mkdir(parents=True, exist_ok=True)
        results = run_suite(
            entries,
            Path(args.output),
            stop_on_failure=args.stop_on_failure,
            env=env,
            target=where,
            workdir=_kernel_workdir(suite),
        )
    finally:
        if twin is not None and started_twin and not args.keep_twin:
            twin.stop_service()
    _say((Path(args.output) / "summary.md").read_text())
    for r in results:
        if r.status == "failed":
            _say(f"FAILED {r.notebook} {describe_failure(r)}")
            if r.html or r.output:
                _say(f"  see {Path(args.output) / (r.html or r.output or '')}")
    if (
        args.strict_hygiene
        and "\noutput hygiene: " in (Path(args.output) / "summary.md").read_text()
    ):
        _say("FAILED output hygiene (--strict-hygiene): see the findings above")
        return 1
    return 1 if any(r.status == "failed" for r in results) else 0


def _kernel_workdir(suite: Path) -> Path | None:
    """Where the kernels start: a suite in a clone (or the user's own) in its notebooks' folder,
    as papermill does; the installed wheel's notebooks in the current folder, so that nothing a
    kernel writes lands inside the installed package (the notebooks themselves write under the
    run's output folder, ``config.output_dir``)."""
    return Path.cwd() if _paths.is_installed_copy(suite) else None


def _snippets(args: argparse.Namespace) -> int:
    from mlaccel import snippets

    found = snippets.load_snippets(args.source)
    if args.action == "list":
        for s in found:
            _say(f"{s.name}  {s.title}  (needs: {s.needs})")
        return 0
    result = snippets.install(found, prefix=args.target)
    where = "copied to" if result.copied else "in place in"
    _say(f"snippets sidebar {where} {result.labextension}")
    _say(f"server extension enabled by {result.server_config}")
    _say(f"in JupyterLab: the Snippets tab of the left sidebar lists {len(found)} snippets")
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    """List the kit's resources (of one run), then remove them unless ``--dry-run``."""
    import mlaccel
    from mlaccel import cleanup

    run_id = None if args.run_id is None else cleanup.check_run_id(args.run_id, "--run-id")
    connection = mlaccel.connect(args.backend)
    found = cleanup.find_resources(connection=connection, run_id=run_id)
    scope = f"run {run_id}" if run_id else "any run"
    if not found:
        _say(f"nothing the kit created in {scope} is left on {connection.backend}")
        return 0
    _say(f"{len(found)} resources the kit created in {scope} on {connection.backend}:")
    for resource in found:
        _say(f"  {resource.label}  (run {resource.run_id or 'unknown'})")
    if args.dry_run:
        _say("dry run: nothing removed; run again without --dry-run to remove them")
        return 0
    removed = cleanup.remove_resources(found, connection=connection)
    gone = [r.label for r in found if r.label not in removed]
    _say(f"removed {len(removed)}" + (f"; already gone: {', '.join(gone)}" if gone else ""))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Check the account (or the twin) for the kit; exit 1 when a check fails."""
    import os

    from mlaccel import doctor
    from mlaccel.config import resolve_backend

    backend = resolve_backend(args.backend)
    twin = None
    started_twin = False
    url = os.environ.get("MLACCEL_TWIN_URL")
    if backend == "local" and not url:
        from mlaccel._connect import load_local_backend

        twin = load_local_backend()
        url, started_twin = twin.start_service()
    try:
        checks = doctor.check_backend(backend, twin_url=url if backend == "local" else None)
    finally:
        if twin is not None and started_twin:
            twin.stop_service()
    if args.json:
        _say(doctor.to_json(checks, backend=backend))
    else:
        _say(doctor.render_table(checks, title=f"mlaccel doctor: is {backend} ready for the kit?"))
    return doctor.exit_code(checks)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlaccel", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlaccel {_version()}")
    sub = parser.add_subparsers(dest="group", required=True)

    twin = sub.add_parser(
        "twin",
        help="the local AWS twin as a background service",
        epilog=TWIN_ACTIONS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    twin.add_argument("action", choices=["start", "status", "stop", "reset", "advance"])
    twin.add_argument("duration", nargs="?", help="advance: how far (1h, 30m, 1d)")
    twin.add_argument("--port", type=_port, default=0, help="loopback port (default: a free one)")
    twin.add_argument("--json", action="store_true", help="status: print it as JSON")
    twin.set_defaults(func=_twin)

    nbs = sub.add_parser("notebooks", help="run the notebook suite headless")
    nbs.add_argument("action", choices=["run"])
    nbs.add_argument(
        "--suite", type=Path, help="suite YAML file (default: the kit's notebooks/suite.yaml)"
    )
    nbs.add_argument("--params", type=Path, help="YAML of parameter overrides")
    nbs.add_argument("--backend", choices=["local", "aws"], help="default: MLACCEL_BACKEND/local")
    nbs.add_argument("--output", default="output/notebooks", help="folder for the results")
    nbs.add_argument(
        "--only", nargs="+", action="extend", help="run only these notebooks (by name)"
    )
    nbs.add_argument("--stop-on-failure", action="store_true", help="skip the rest after one fails")
    nbs.add_argument("--keep-twin", action="store_true", help="leave a twin this run started")
    nbs.add_argument(
        "--strict-hygiene",
        action="store_true",
        help="exit 1 when an executed notebook has output-hygiene findings (else only listed)",
    )
    nbs.set_defaults(func=_notebooks)

    snip = sub.add_parser(
        "snippets",
        help="the kit's snippets: list them, or put JupyterLab's Snippets sidebar in place",
    )
    snip.add_argument("action", choices=["install", "list"])
    snip.add_argument(
        "--target",
        type=Path,
        help="environment prefix to install the sidebar into (default: this Python's prefix)",
    )
    snip.add_argument(
        "--source", type=Path, help="snippets folder (default: MLACCEL_SNIPPETS, else the kit's)"
    )
    snip.set_defaults(func=_snippets)

    clean = sub.add_parser(
        "cleanup",
        help="remove what the kit created (tagged mlaccel:created-by), e.g. after a failed run",
    )
    clean.add_argument("--run-id", help="only this run's resources (its mlaccel:run-id tag)")
    clean.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
    clean.add_argument("--backend", choices=["local", "aws"], help="default: MLACCEL_BACKEND/local")
    clean.set_defaults(func=_cleanup)

    doc = sub.add_parser(
        "doctor",
        help="check credentials, region, roles, bucket, permissions, quotas and images",
    )
    doc.add_argument("--backend", choices=["local", "aws"], help="default: MLACCEL_BACKEND/local")
    doc.add_argument("--json", action="store_true", help="print the checks as JSON")
    doc.set_defaults(func=_doctor)
    return parser


def _port(text: str) -> int:
    """A TCP port for ``--port``; argparse turns the error into one line of usage."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 1 to 65535, or 0 for any")
    return port


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlaccel")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        return int(args.func(args))
    except MLAccelError as exc:
        sys.stderr.write(f"mlaccel: {exc}\n")
        return 2
    except OSError as exc:
        if exc.filename is None:  # not a path the user gave: a real fault, with its traceback
            raise
        sys.stderr.write(
            f"mlaccel: {exc.filename}: {exc.strerror}; check the path and its rights\n"
        )
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("mlaccel: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
