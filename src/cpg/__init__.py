"""The CPG specs: kinds, property contracts, derivations and dataset declarations."""
