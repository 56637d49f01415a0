"""The ``anxin`` command line: each command is an edge that owns its unit of work."""
