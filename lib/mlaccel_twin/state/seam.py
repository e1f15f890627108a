"""Seam: the twin's state survives a stop, a crash (kill -9) or a reboot.

- S3: each object is written to disk (:class:`~mlaccel_twin.state.objects.ObjectStore`) when
  moto stores it, before the request is answered, and removed with it; buckets likewise.
- Control plane: after a request that may change a saved part (a Create, Update, Delete... of
  the catalog, registry, models, endpoints, state machines or functions), that part is read
  back through the twin's API and saved as JSON (:mod:`mlaccel_twin.state.control`), again
  before the request is answered.
- :func:`restore` puts everything back when a twin starts with the same state folder.

Only a twin started with a state folder (the background service) saves anything.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's S3 backend or server no longer has what this seam hooks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace
from mlaccel_twin.state import control
from mlaccel_twin.state.store import SERVICE_KEY, StateStore, active_store, restoring

__all__ = [
    "SERVICE_KEY",
    "StateStore",
    "active_store",
    "check_seams",
    "install",
    "restore",
    "restoring",
]

log = logging.getLogger(__name__)


def check_seams() -> None:
    """Fail loudly when moto's S3 backend or server no longer has what this seam hooks."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.s3.models import S3Backend

    needed: list[tuple[Any, str]] = [
        (S3Backend, n) for n in ("put_object", "delete_object", "create_bucket", "delete_bucket")
    ]
    needed.append((DomainDispatcherApplication, "__call__"))
    fail_if_broken("state", missing_attributes(needed))


def install(runtime: TwinRuntime) -> None:
    """Hook S3 writes and control-plane requests; they save only when a store is active."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.s3.models import S3Backend

    check_seams()
    replace(S3Backend, "put_object", _after(_object_written))
    replace(S3Backend, "delete_object", _after(_object_deleted))
    replace(S3Backend, "create_bucket", _after(_bucket_created))
    replace(S3Backend, "delete_bucket", _after(_bucket_deleted))
    replace(DomainDispatcherApplication, "__call__", _saving_changes)


def _after(
    record: Callable[[StateStore, Any, tuple[Any, ...], dict[str, Any]], None],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            store = active_store()
            if store is not None:
                record(store, result, args, kwargs)
            return result

        return hooked

    return make


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _object_written(store: StateStore, key: Any, args: Any, kwargs: Any) -> None:
    bucket = _argument(args, kwargs, 0, "bucket_name")
    content_type = (getattr(key, "metadata", None) or {}).get("Content-Type")
    store.objects.put(bucket, key.name, bytes(key.value), content_type)


def _object_deleted(store: StateStore, _: Any, args: Any, kwargs: Any) -> None:
    store.objects.delete(
        _argument(args, kwargs, 0, "bucket_name"), _argument(args, kwargs, 1, "key_name")
    )


def _bucket_created(store: StateStore, bucket: Any, args: Any, kwargs: Any) -> None:
    store.objects.add_bucket(bucket.name, bucket.region_name)


def _bucket_deleted(store: StateStore, _: Any, args: Any, kwargs: Any) -> None:
    store.objects.remove_bucket(_argument(args, kwargs, 0, "bucket_name"))


def _saving_changes(original: Callable[..., Any]) -> Callable[..., Any]:
    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        answer = original(self, environ, start_response)
        parts = control.parts_changed_by(
            str(environ.get("HTTP_X_AMZ_TARGET") or ""),
            str(environ.get("REQUEST_METHOD") or ""),
            str(environ.get("PATH_INFO") or ""),
        )
        store = active_store() if parts else None
        if store is not None:
            try:
                store.save(active_runtime().client, parts)
            except Exception:  # the request itself succeeded or failed on its own
                log.exception("saving the twin's %s state failed", ", ".join(parts))
        return answer

    return __call__


def restore(runtime: TwinRuntime, store: StateStore) -> dict[str, float]:
    """Put the saved state back into a twin that just started; return seconds per part."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    timings: dict[str, float] = {}
    store.restoring = True
    try:
        started = time.monotonic()
        s3 = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
        for bucket, region in store.objects.buckets():
            s3.create_bucket(bucket, region)
            for stored in store.objects.objects(bucket):
                key = s3.put_object(bucket, stored.key, stored.path.read_bytes())
                if stored.content_type:
                    key.set_metadata({"Content-Type": stored.content_type})
        timings["s3"] = time.monotonic() - started
        for part in control.PARTS:
            saved = store.saved(part)
            if saved is None:
                continue
            started = time.monotonic()
            try:
                control.RESTORES[part](runtime.client, saved)
            except Exception:
                log.exception("restoring the twin's %s state failed; it starts without it", part)
            timings[part] = time.monotonic() - started
    finally:
        store.restoring = False
    return timings
