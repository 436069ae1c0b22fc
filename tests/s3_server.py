"""A local S3 for tests and benchmarks: moto's S3 in a subprocess, with switchable network faults.

``S3Server().start()`` runs this file as a child process on a free port of 127.0.0.1 and waits
until it accepts connections. The child serves moto's S3 (in memory: its state lives exactly as
long as the process) behind a small WSGI layer that

- serializes requests, so a conditional put (``If-None-Match: *``) is atomic as on real S3:
  moto 5.2.5 checks for an existing key and then writes it without a lock, so two threads of
  its server could both "create" the same commit file;
- logs every request (method, path, ``If-None-Match``, status) for tests to inspect;
- can drop connections on purpose: a fault rule (method, path substring, number of matching
  requests to let through first) makes the server reset the TCP connection of every further
  matching request without answering, which the client sees as a network failure. The S3
  state is kept, so clearing the rules is "the network is back".

The rules and the log are driven over HTTP at ``/__faults__/...`` (see ``S3Server``), so a test
can break the network under an exporter running in another process.

    python tests/s3_server.py --port 5000    # serve until killed
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTROL_PREFIX = "/__faults__"
REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # moto checks no credentials

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# --- the child process -----------------------------------------------------------------------


@dataclass
class _Rule:
    """Requests matching ``method`` (any when empty) and ``match`` (a path substring): after
    ``passes`` of them went through, the next ``limit`` (all when None) get ``action``."""

    action: str
    method: str
    match: str
    passes: int
    limit: int | None
    seconds: float
    hits: int = 0

    def take(self, method: str, path: str) -> bool:
        """Whether this rule acts on the request (counting it)."""
        if (self.method and method != self.method) or self.match not in path:
            return False
        if self.passes > 0:
            self.passes -= 1
            return False
        if self.limit is not None and self.hits >= self.limit:
            return False
        self.hits += 1
        return True


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: list[_Rule] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)


def _drop(environ: dict[str, Any]) -> list[bytes]:
    """Cut the client's connection without an answer (shut down now, reset on close); the
    server's attempt to send the response then fails quietly, as for a client that went away."""
    sock: socket.socket = environ["werkzeug.socket"]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.shutdown(socket.SHUT_RDWR)
    return [b"dropped"]


def _json(start_response: StartResponse, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]


def faulty_app(inner: WsgiApp) -> WsgiApp:
    """``inner`` behind the serializing, logging, connection-dropping layer."""
    state = _State()

    def control(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        action = environ["PATH_INFO"][len(CONTROL_PREFIX) :].strip("/")
        with state.lock:
            if action == "rule":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                state.rules.append(_Rule(**json.loads(environ["wsgi.input"].read(length))))
                return _json(start_response, {"rules": len(state.rules)})
            if action == "clear":
                hits = sum(rule.hits for rule in state.rules)
                state.rules.clear()
                return _json(start_response, {"hits": hits})
            if action == "log":
                return _json(start_response, state.log)
        start_response("404 Not Found", [])
        return []

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path.startswith(CONTROL_PREFIX):
            return control(environ, start_response)
        method = environ["REQUEST_METHOD"]
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "if_none_match": environ.get("HTTP_IF_NONE_MATCH"),
        }

        def recording_start_response(status: str, *args: Any) -> Any:
            entry["status"] = int(status.split()[0])
            return start_response(status, *args)

        with state.lock:
            state.log.append(entry)
            rule = next((rule for rule in state.rules if rule.take(method, path)), None)
            if rule is not None and rule.action == "drop":
                entry["status"] = "dropped"
                start_response("503 Service Unavailable", [])
                return _drop(environ)
        if rule is not None and rule.action == "delay":
            entry["delayed"] = rule.seconds
            time.sleep(rule.seconds)
        with state.lock:
            body = list(inner(environ, recording_start_response))
            if rule is not None and rule.action == "lose":
                entry["lost"] = True
                return _drop(environ)
            return body

    return app


def _exit_with_parent(parent: int) -> None:
    """End this process once its parent is gone (a test run that was killed), so no server
    outlives the run that started it."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def serve(host: str, port: int) -> None:
    """Serve moto's S3 behind the fault layer until the process is killed."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    app = faulty_app(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    server.serve_forever()


# --- the test side -----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def aws_env(endpoint: str) -> dict[str, str]:
    """The standard AWS variables that point deltalake (via ``locations``) at ``endpoint``."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


class S3Server:
    """A moto S3 server in a child process on 127.0.0.1, and the handles to break its network."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        """Start the child and wait until it accepts connections."""
        log = self._log_path.open("ab") if self._log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--port", str(self.port)],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            if not isinstance(log, int):
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                msg = f"moto server exited with code {self._process.returncode} ({self._log_path})"
                raise RuntimeError(msg)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        msg = f"moto server did not start within {timeout} s"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Stop the child (its S3 state is gone with it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _request(self, method: str, path: str, body: object | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            content: bytes = response.read()
            return content

    def create_bucket(self, name: str) -> None:
        """Create a bucket (moto needs no signature; a plain PUT is CreateBucket)."""
        self._request("PUT", f"/{name}")

    def _rule(
        self,
        action: str,
        match: str,
        method: str,
        passes: int,
        limit: int | None,
        seconds: float = 0.0,
    ) -> None:
        rule = {
            "action": action,
            "method": method,
            "match": match,
            "passes": passes,
            "limit": limit,
            "seconds": seconds,
        }
        self._request("POST", f"{CONTROL_PREFIX}/rule", rule)

    def drop(
        self, *, match: str = "", method: str = "", passes: int = 0, limit: int | None = None
    ) -> None:
        """Reset the connection of requests whose path contains ``match`` (and whose method is
        ``method``, when given), after letting ``passes`` of them through; ``limit`` of them
        (all when None)."""
        self._rule("drop", match, method, passes, limit)

    def delay(
        self,
        seconds: float,
        *,
        match: str = "",
        method: str = "",
        passes: int = 0,
        limit: int | None = 1,
    ) -> None:
        """Hold matching requests (see ``drop``) for ``seconds`` before serving them."""
        self._rule("delay", match, method, passes, limit, seconds)

    def lose(
        self, *, match: str = "", method: str = "", passes: int = 0, limit: int | None = 1
    ) -> None:
        """Serve matching requests (see ``drop``), then reset the connection instead of answering:
        the request took effect, but the client cannot know."""
        self._rule("lose", match, method, passes, limit)

    def clear(self) -> int:
        """Remove every rule ("the network is back"); return how many requests they acted on."""
        hits: int = json.loads(self._request("POST", f"{CONTROL_PREFIX}/clear"))["hits"]
        return hits

    def requests(self, match: str = "") -> list[dict[str, Any]]:
        """The requests received whose path contains ``match``, oldest first: method, path,
        query, ``if_none_match``, ``status`` (an HTTP code, or "dropped"; missing while in
        flight), and ``delayed`` / ``lost`` for requests a rule acted on."""
        entries: list[dict[str, Any]] = json.loads(self._request("GET", f"{CONTROL_PREFIX}/log"))
        return [entry for entry in entries if match in entry["path"]]

    @contextmanager
    def outage(self, **rule: Any) -> Iterator[None]:
        """Drop matching requests (see ``drop``) inside the block."""
        self.drop(**rule)
        try:
            yield
        finally:
            self.clear()


def main(argv: list[str] | None = None) -> None:
    """``python tests/s3_server.py --port N``: serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
