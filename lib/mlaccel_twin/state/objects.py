"""S3 objects as files: ``<root>/<bucket>/<encoded key>`` with the key and type beside it.

Keys are encoded into one file name each (percent-encoded, or hashed when long), so any key,
folder markers included, maps to one file; ``<file>.json`` keeps the key as written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MAX_NAME = 200  # file-name bytes before the key is hashed instead


@dataclass(frozen=True)
class StoredObject:
    """An object found on disk: where it belongs and where its bytes are."""

    bucket: str
    key: str
    content_type: str | None
    path: Path


def file_name(key: str) -> str:
    """The file name of ``key`` in its bucket's folder.

    Examples
    --------
    >>> file_name("data/train.csv")
    'data%2Ftrain.csv'
    >>> len(file_name("k" * 500))
    64
    """
    encoded = quote(key, safe="")
    if len(encoded) <= MAX_NAME and not encoded.startswith("."):
        return encoded
    return hashlib.sha256(key.encode()).hexdigest()


class ObjectStore:
    """The S3 objects of one twin, one file each under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def bucket_dir(self, bucket: str) -> Path:
        return self.root / quote(bucket, safe="")

    def add_bucket(self, bucket: str, region: str) -> None:
        folder = self.bucket_dir(bucket)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / ".bucket.json", json.dumps({"name": bucket, "region": region}))

    def remove_bucket(self, bucket: str) -> None:
        shutil.rmtree(self.bucket_dir(bucket), ignore_errors=True)

    def put(self, bucket: str, key: str, body: bytes, content_type: str | None = None) -> None:
        """Write the object, then its description: a crash leaves the old object or the new."""
        folder = self.bucket_dir(bucket)
        folder.mkdir(parents=True, exist_ok=True)
        name = file_name(key)
        _write_atomic(folder / name, body)
        _write_atomic(
            folder / f".{name}.json", json.dumps({"key": key, "content_type": content_type})
        )

    def delete(self, bucket: str, key: str) -> None:
        folder = self.bucket_dir(bucket)
        name = file_name(key)
        (folder / f".{name}.json").unlink(missing_ok=True)
        (folder / name).unlink(missing_ok=True)

    def buckets(self) -> list[tuple[str, str]]:
        """``(name, region)`` of every stored bucket."""
        found = []
        for marker in sorted(self.root.glob("*/.bucket.json")):
            described = json.loads(marker.read_text())
            found.append((str(described["name"]), str(described["region"])))
        return found

    def objects(self, bucket: str) -> Iterator[StoredObject]:
        """Every complete object of ``bucket`` (one whose description was written)."""
        folder = self.bucket_dir(bucket)
        for description in sorted(folder.glob(".*.json")):
            if description.name == ".bucket.json":
                continue
            path = folder / description.name[1 : -len(".json")]
            if not path.exists():
                continue
            described = json.loads(description.read_text())
            yield StoredObject(bucket, described["key"], described.get("content_type"), path)


def _write_atomic(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    with open(tmp, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    # kill -9 keeps what reached the page cache; the rename shows the old file or the new
    tmp.replace(path)
