"""Field bundles: groups of catalog fields that several datasets share."""

from __future__ import annotations

from cpg.datasets import BundleSpec

BUNDLES: tuple[BundleSpec, ...] = (
    BundleSpec("file_identity", ("file_id", "path")),
    BundleSpec("span", ("bstart", "bend")),
)
