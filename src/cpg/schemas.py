"""The Arrow schemas of the CPG output datasets, derived from the registry (never declared here).

They are module constants, resolved once at import through ``cpg.registry_specs`` by the datasets'
roles (a dataset's new name and version changes nothing here), from the default registry (the
in-memory tables unless ``set_default_registry`` ran first). To get a schema from a particular
registry, call ``cpg.registry_specs.dataset_for_role(role, registry=path).schema``.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from cpg.datasets import DatasetRole
from cpg.registry_specs import dataset_for_role

CPG_NODES_SCHEMA: Final[pa.Schema] = dataset_for_role(DatasetRole.NODES).schema
CPG_EDGES_SCHEMA: Final[pa.Schema] = dataset_for_role(DatasetRole.EDGES).schema
CPG_PROPS_SCHEMA: Final[pa.Schema] = dataset_for_role(DatasetRole.PROPS).schema
CPG_PROPS_JSON_SCHEMA: Final[pa.Schema] = dataset_for_role(DatasetRole.PROPS_JSON).schema
CPG_PROPS_BY_FILE_ID_SCHEMA: Final[pa.Schema] = dataset_for_role(
    DatasetRole.PROPS_BY_FILE_ID
).schema
CPG_PROPS_GLOBAL_SCHEMA: Final[pa.Schema] = dataset_for_role(DatasetRole.PROPS_GLOBAL).schema
