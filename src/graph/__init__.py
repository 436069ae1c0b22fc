"""The graph pipeline: build a CPG of a Python repository, validated by the registry."""
