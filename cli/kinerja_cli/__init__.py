"""The `kinerja` command."""
