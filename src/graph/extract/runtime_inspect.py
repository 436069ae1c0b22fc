"""The runtime layer (``--runtime`` only): what importing the repository's modules shows.

Importing a module runs its code, so the build never does it: ``RuntimeProcess.start`` runs
``runtime_probe.py`` in a separate interpreter (``python -I``, the repository's import roots
first on ``sys.path``), in a scratch working directory, with a timeout for the whole run and one
per module, and without network where the machine allows it: the process runs in a network
namespace of its own (``unshare -n``, or ``unshare -rn`` as another user) with no interface but
loopback. Where neither works (no util-linux, no user namespaces) it runs with the machine's
network, and the build summary says so: a best effort, not a sandbox. It does not write
``__pycache__`` into the repository (``python -B``). Modules named ``__main__`` are
not imported: that would run a program, not define a module.

``extract_runtime_tables`` turns the probe's events into rows:

- RT_OBJECT per module, class and function (and method) a module defines, plus one per step of a
  wrapper's ``__wrapped__`` chain, linked by RT_WRAPS (``unwrap_depth``). Ids hash module,
  qualified name and unwrap depth (``functools.wraps`` copies the qualified name, so the depth
  tells a wrapper from what it wraps). An object whose source file is in the repository carries
  that file (``source_path``, ``source_line``).
- RT_MEMBER per member (``getmembers_static``; a class's own), RT_SIGNATURE and its
  RT_SIGNATURE_PARAMs per callable: nodes here, their edges (RT_HAS_MEMBER, RT_HAS_SIGNATURE,
  RT_HAS_PARAM) made by the rules from the ``rt_members``, ``rt_signatures`` and
  ``rt_signature_params`` relations.
- A DIAG (``diag_source`` ``inspect``) on the file of a module whose import failed
  (``runtime-import-error``), passed its time (``runtime-timeout``), or was under way when the
  process died or the whole run passed its time (``runtime-died``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.bounded_process import BoundedProcess, Finished, tail
from graph.extract.diagnostics import WARNING, diagnostic
from graph.extract.file_contains import extract_file_contains
from graph.extract.filesystem import file_node_id
from graph.extract.ids import stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow

RT_OBJECT = NodeKind.RT_OBJECT.value
RT_MEMBER = NodeKind.RT_MEMBER.value
RT_SIGNATURE = NodeKind.RT_SIGNATURE.value
RT_SIGNATURE_PARAM = NodeKind.RT_SIGNATURE_PARAM.value
RT_WRAPS = EdgeKind.RT_WRAPS.value
DIAG = NodeKind.DIAG.value
PROBE = Path(__file__).with_name("runtime_probe.py")
DEFAULT_TIMEOUT = 600.0
DEFAULT_MODULE_TIMEOUT = 30.0


@dataclass(frozen=True)
class RuntimeLimits:
    """Seconds the whole run and one module's import may take."""

    timeout: float | None = DEFAULT_TIMEOUT
    module_timeout: float = DEFAULT_MODULE_TIMEOUT


@dataclass(frozen=True)
class RuntimeModule:
    """A module to import: its dotted name and the path of its file (as rows name it)."""

    name: str
    path: str


@dataclass
class RuntimeRun:
    """What the probes reported, whether a run passed its time limit, their CPU seconds, and
    whether they had no network."""

    events: list[dict[str, Any]]
    timed_out: bool
    cpu_seconds: float
    isolated: bool


class RuntimeProcess:
    """A running probe; when one dies inside a module (a crash, ``os._exit``), ``wait`` starts
    another on the modules it had not reached, so one module costs the others nothing."""

    def __init__(
        self,
        roots: Sequence[Path],
        modules: Sequence[RuntimeModule],
        limits: RuntimeLimits,
        isolation: list[str],
    ) -> None:
        self._roots = roots
        self._limits = limits
        self._isolation = isolation
        self._modules = list(modules)
        self._process = self._launch(self._modules)

    @classmethod
    def start(
        cls, roots: Sequence[Path], modules: Sequence[RuntimeModule], limits: RuntimeLimits
    ) -> RuntimeProcess:
        """Start the probe on ``modules``, importable from ``roots``; ``OSError`` if it cannot
        be started."""
        return cls(roots, modules, limits, network_isolation())

    def _launch(self, modules: Sequence[RuntimeModule]) -> BoundedProcess:
        def command(scratch: Path) -> list[str]:
            config = {
                "roots": [str(root) for root in self._roots],
                "modules": [module.name for module in modules],
                "output": str(scratch / "events.jsonl"),
                "module_timeout": self._limits.module_timeout,
            }
            (scratch / "config.json").write_text(json.dumps(config), encoding="utf-8")
            probe = [sys.executable, "-I", "-B", str(PROBE), str(scratch / "config.json")]
            return [*self._isolation, *probe]

        return BoundedProcess.start(command, timeout=self._limits.timeout, prefix="cpg-rt-")

    def wait(self) -> RuntimeRun:
        """The probes' events once every module was tried (or a run passed its time limit)."""
        events: list[dict[str, Any]] = []
        cpu = 0.0
        remaining = self._modules
        while True:
            try:
                finished = self._process.wait()
                found = _read_events(self._process.scratch / "events.jsonl")
            finally:
                self._process.close()
            events.extend(found)
            cpu += finished.cpu_seconds
            tried = {str(event["start"]) for event in found if "start" in event}
            remaining = [module for module in remaining if module.name not in tried]
            culprit = _unfinished(found)
            if culprit is not None:
                reason = "a time limit" if finished.timed_out else _exit(finished)
                events.append({"failed": culprit, "error": reason, "code": "runtime-died"})
            if finished.timed_out or culprit is None or not remaining:
                return RuntimeRun(events, finished.timed_out, cpu, bool(self._isolation))
            self._process = self._launch(remaining)


def _unfinished(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The module a probe had started and neither finished nor failed: where it died."""
    current: str | None = None
    for event in events:
        if "start" in event:
            current = str(event["start"])
        elif "done" in event or "failed" in event:
            current = None
    return current


def _exit(finished: Finished) -> str:
    return f"the probe died while importing it (exit code {finished.returncode}): " + tail(
        finished.output, 200
    )


def network_isolation() -> list[str]:
    """The command prefix that gives a process no network: ``unshare -n`` (root) or
    ``unshare -rn`` (a user namespace); empty when neither works here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for flags in (["-n"], ["-r", "-n"]):
        probe = subprocess.run(
            [unshare, *flags, "true"], capture_output=True, timeout=10, check=False
        )
        if probe.returncode == 0:
            return [unshare, *flags]
    return []


def _read_events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a process killed while writing
            break
    return events


@dataclass
class _Ids:
    seen: set[str] = field(default_factory=set)

    def first(self, node_id: str) -> bool:
        """Whether ``node_id`` is seen for the first time."""
        if node_id in self.seen:
            return False
        self.seen.add(node_id)
        return True


def object_id(repo_id: str, module: str, qualname: str, depth: int) -> str:
    return stable_id(RT_OBJECT, repo_id, module, qualname, depth)


def extract_runtime_tables(
    events: Iterable[Mapping[str, Any]],
    *,
    repo_id: str,
    repo: Path,
    modules: Sequence[RuntimeModule],
) -> FileFacts:
    """The rows of the probes' ``events`` for ``repo``'s ``modules``."""
    facts = FileFacts()
    paths = {module.name: module.path for module in modules}
    ids = _Ids()
    for event in events:
        if "failed" in event:
            code = str(event.get("code") or "runtime-import-error")
            _module_diag(facts, repo_id, paths, str(event["failed"]), str(event["error"]), code)
        elif "object" in event:
            _object(facts, ids, repo_id, repo, event["object"])
    for node in [node for node in facts.nodes if node.node_kind == DIAG]:
        assert node.path is not None and node.file_id is not None
        facts.extend(extract_file_contains([node], path=node.path, file_id=node.file_id))
    return facts


def _module_diag(
    facts: FileFacts, repo_id: str, paths: Mapping[str, str], module: str, message: str, code: str
) -> None:
    path = paths.get(module)
    if path is None:
        return
    diagnostic(
        facts,
        file_id=file_node_id(repo_id, path),
        path=path,
        stage="runtime",
        severity=WARNING,
        code=code,
        message=f"import {module}: {message}",
        span=(0, 0),
    )


def _object(facts: FileFacts, ids: _Ids, repo_id: str, repo: Path, obj: Mapping[str, Any]) -> None:
    module, qualname, depth = str(obj["module"]), str(obj["qualname"]), int(obj["depth"])
    rt_id = object_id(repo_id, module, qualname, depth)
    if not ids.first(rt_id):
        return
    source = _in_repo(obj.get("source_file"), repo)
    file_id = None if source is None else file_node_id(repo_id, source)
    facts.add_node(
        NodeRow(rt_id, RT_OBJECT, source, file_id),
        {
            "rt_id": rt_id,
            "qualname": qualname,
            "module": module,
            "object_type": obj.get("object_type"),
            "name": obj.get("name"),
            "source_path": source,
            "source_line": obj.get("source_line") if source is not None else None,
        },
    )
    if obj.get("wraps"):
        wrapped = object_id(repo_id, module, qualname, depth + 1)
        row = edge_row(RT_WRAPS, rt_id, wrapped, path=None, file_id=None, method="__wrapped__")
        facts.add_edge(row, {"unwrap_depth": depth + 1})
    for member in obj.get("members", ()):
        _member(facts, ids, rt_id, member)
    signature = obj.get("signature")
    if signature:
        _signature(facts, ids, rt_id, signature)


def _member(facts: FileFacts, ids: _Ids, rt_id: str, member: Mapping[str, Any]) -> None:
    name = str(member["name"])
    member_id = stable_id(RT_MEMBER, rt_id, name)
    if not ids.first(member_id):
        return
    props = {
        "member_id": member_id,
        "name": name,
        "member_kind": member.get("kind"),
        "declaring_type": member.get("declaring_type"),
        "value_repr": member.get("repr"),
        "value_module": member.get("module"),
        "value_qualname": member.get("qualname"),
    }
    facts.add_node(NodeRow(member_id, RT_MEMBER, None, None), props)
    facts.add_relation_row(
        "rt_members",
        {
            "rt_id": rt_id,
            "member_id": member_id,
            "name": name,
            "member_kind": props["member_kind"],
            "value_repr": props["value_repr"],
            "value_module": props["value_module"],
            "value_qualname": props["value_qualname"],
        },
    )


def _signature(facts: FileFacts, ids: _Ids, rt_id: str, signature: Mapping[str, Any]) -> None:
    text = str(signature["text"])
    sig_id = stable_id(RT_SIGNATURE, rt_id, text)
    if not ids.first(sig_id):
        return
    returns = signature.get("return")
    facts.add_node(
        NodeRow(sig_id, RT_SIGNATURE, None, None),
        {"sig_id": sig_id, "signature": text, "return_annotation": returns},
    )
    facts.add_relation_row(
        "rt_signatures",
        {"rt_id": rt_id, "sig_id": sig_id, "signature": text, "return_annotation": returns},
    )
    for position, param in enumerate(signature.get("params", ())):
        name = str(param["name"])
        param_id = stable_id(RT_SIGNATURE_PARAM, sig_id, name)
        props = {
            "param_id": param_id,
            "name": name,
            "kind": param.get("kind"),
            "default_repr": param.get("default"),
            "annotation_repr": param.get("annotation"),
            "position": position,
        }
        facts.add_node(NodeRow(param_id, RT_SIGNATURE_PARAM, None, None), props)
        facts.add_relation_row("rt_signature_params", {"sig_id": sig_id, **props})


def _in_repo(source: object, repo: Path) -> str | None:
    """A source file's path relative to the repository (POSIX), None outside it."""
    if not isinstance(source, str):
        return None
    try:
        return Path(source).resolve().relative_to(repo).as_posix()
    except ValueError:
        return None
