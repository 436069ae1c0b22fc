"""Where a Delta table lives: a local path or an object-store URI, and how to reach it.

Object-store credentials and endpoints come from the standard AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` or
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``) and are passed to deltalake as storage options.
delta-rs 1.x commits to S3 with conditional puts (``If-None-Match: *``), so concurrent writers
cannot overwrite each other's commits; unsafe renames are never enabled.

The HTTP client gets bounded timeouts and retries (``CLIENT_DEFAULTS``; object_store's own
defaults retry a failing request for up to 3 minutes, so an unreachable endpoint would hang the
generator). Registry tables are small, so each request either finishes well within these or
the endpoint is in trouble. Each is overridable by ``CPG_REGISTRY_S3_<KEY>``, e.g.
``CPG_REGISTRY_S3_MAX_RETRIES=10``.
"""

from __future__ import annotations

import os
from pathlib import Path

Location = str | Path
"""A local path or a URI such as ``s3://bucket/prefix``."""

_AWS_OPTIONS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
)


CLIENT_DEFAULTS: dict[str, str] = {
    "connect_timeout": "5s",  # TCP connect, per attempt
    "timeout": "30s",  # one whole request, per attempt
    "max_retries": "3",  # transient failures (connection errors, 5xx, timeouts)
    "retry_timeout": "30s",  # no new attempt after this long since the first
}
"""object_store client and retry options (delta-rs passes them through) for object-store URIs."""


def is_uri(location: Location) -> bool:
    """Whether ``location`` is an object-store URI rather than a local path."""
    return isinstance(location, str) and "://" in location


def join(location: Location, *parts: str) -> Location:
    """``location`` with ``parts`` appended, keeping URIs as strings and paths as ``Path``."""
    if is_uri(location):
        return "/".join([str(location).rstrip("/"), *parts])
    return Path(location, *parts)


def storage_options(location: Location) -> dict[str, str] | None:
    """deltalake storage options for ``location`` (None for local paths)."""
    if not is_uri(location):
        return None
    options = {key: os.environ[key] for key in _AWS_OPTIONS if os.environ.get(key)}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["AWS_REGION"] = region
    if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    for key, default in CLIENT_DEFAULTS.items():
        options[key] = os.environ.get(f"CPG_REGISTRY_S3_{key.upper()}", default)
    return options
