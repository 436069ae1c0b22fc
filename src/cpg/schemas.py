"""The Arrow schemas of the CPG output datasets, derived from the registry (never declared here).

They are module constants, resolved once at import through ``cpg.registry_specs`` from the default
registry (the in-memory tables unless ``set_default_registry`` ran first). To get a schema from a
particular registry, call ``cpg.registry_specs.dataset_schema(name, registry=path)``.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from cpg.registry_specs import dataset_schema

CPG_NODES_SCHEMA: Final[pa.Schema] = dataset_schema("cpg_nodes_v1")
CPG_EDGES_SCHEMA: Final[pa.Schema] = dataset_schema("cpg_edges_v1")
CPG_PROPS_SCHEMA: Final[pa.Schema] = dataset_schema("cpg_props_v1")
CPG_PROPS_JSON_SCHEMA: Final[pa.Schema] = dataset_schema("cpg_props_json_v1")
CPG_PROPS_BY_FILE_ID_SCHEMA: Final[pa.Schema] = dataset_schema("cpg_props_by_file_id_v1")
CPG_PROPS_GLOBAL_SCHEMA: Final[pa.Schema] = dataset_schema("cpg_props_global_v1")
