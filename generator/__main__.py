"""Entry point of ``python -m generator``: choose the project's own sources, then run the CLI.

Nothing of the project but ``generator.project`` (standard library only) is imported before the
project's ``src/`` is put first on ``sys.path``.

The process ends with ``os._exit`` once its output is flushed: deltalake's runtime sometimes
aborts during interpreter shutdown ("terminate called without an active exception", exit 134),
which would turn any exit code into a crash.
"""

import os
import sys
from pathlib import Path

from generator.project import ProjectError, find_project, use_project_sources


def _bootstrap() -> None:
    try:
        use_project_sources(find_project(Path.cwd()), Path(__file__).resolve().parent)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


_bootstrap()

from generator.cli import main  # noqa: E402  (after the project's sources are chosen)

code = main()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
