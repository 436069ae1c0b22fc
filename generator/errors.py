"""The errors a run can meet in normal use: each is printed as it is and exits 2."""

from __future__ import annotations

import jinja2

from cpg.dataset_schemas import DatasetSchemaError
from cpg.spec_set import SpecLoadError
from cpg.validation import SpecValidationError
from generator.formatting import FormattingError
from generator.generate import ConcurrentWriterError
from generator.git_registry import GitRegistryError
from generator.options import RegistryMissingError
from generator.outputs import OutputWriteError
from generator.pipeline import RegistryInconsistentError
from generator.pycode import UnusableNamesError
from relspec.rules.templates import TemplateExpansionError
from storage.deltalake.delta import DeltaStorageError, DeltaTableMissingError
from storage.deltalake.registry_history import RegistryVersionError
from storage.deltalake.registry_io import RegistryIntegrityError
from storage.deltalake.registry_layout import (
    RegistryNotFoundError,
    UnknownRegistryTableError,
    UnknownTargetError,
)
from storage.deltalake.registry_runner import RegistryWriteError
from storage.spec_codec import RegistryDecodeError

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    SpecLoadError,
    SpecValidationError,
    UnusableNamesError,
    RegistryVersionError,
    RegistryInconsistentError,
    RegistryDecodeError,
    RegistryIntegrityError,
    RegistryMissingError,
    RegistryNotFoundError,
    RegistryWriteError,
    ConcurrentWriterError,
    DeltaTableMissingError,
    DeltaStorageError,
    UnknownTargetError,
    UnknownRegistryTableError,
    DatasetSchemaError,
    TemplateExpansionError,
    FormattingError,
    GitRegistryError,
    OutputWriteError,
    jinja2.TemplateError,
    OSError,
)
