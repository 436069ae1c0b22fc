"""Shared fixtures: real registry exports on disk (Delta tables under pytest's temp dirs), and
a local S3 server (moto, on 127.0.0.1) for registries at ``s3://`` URIs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.deltalake.registry_runner import run_registry_exports
from tests.s3_server import S3Server, aws_env

S3_BUCKET = "cpg-registry-test"


@pytest.fixture(scope="session")
def exported_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output dir holding the canonical registry, exported once per session; do not modify."""
    output_dir = tmp_path_factory.mktemp("canonical_export")
    run_registry_exports(output_dir)
    return output_dir


@pytest.fixture
def fresh_registry(tmp_path: Path) -> Path:
    """An output dir holding a canonical registry of its own, for tests that break tables."""
    run_registry_exports(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A moto S3 server in a child process on a free port of 127.0.0.1, holding ``S3_BUCKET``;
    stopped after the session. Its log is ``<pytest tmp>/s3_server0/moto.log``."""
    server = S3Server(log_path=tmp_path_factory.mktemp("s3_server") / "moto.log")
    server.start()
    try:
        server.create_bucket(S3_BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_registry(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``s3://<bucket>/<unique prefix>``, an empty registry root of this test on the local S3.

    The standard AWS variables point at the server for the duration of the test (subprocesses
    inherit them); fault rules a test set on the server are cleared afterwards.
    """
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(s3_server.endpoint).items():
        monkeypatch.setenv(name, value)
    yield f"s3://{S3_BUCKET}/{uuid.uuid4().hex}/registry"
    s3_server.clear()


BROKEN_FILE = "_broken.py"
"""The file with a syntax error that the click fixture build adds to click's own files."""


@pytest.fixture(scope="session")
def click_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output of ``python -m graph build`` (a subprocess, as a user runs it, SCIP layer
    included) on a copy of click 8.1.7 plus one file with a syntax error; built once per
    session, do not modify."""
    from tests.integration.test_click_build import click_folder
    from tests.integration.test_graph_build import run_cli

    repo = tmp_path_factory.mktemp("click_repo") / "click"
    shutil.copytree(click_folder(), repo, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / BROKEN_FILE).write_text("def broken(:\n    pass\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("click_build")
    result = run_cli("build", repo, "--out", out, "--workers", "2", "-q")
    assert result.returncode == 0, result.stderr
    return out
