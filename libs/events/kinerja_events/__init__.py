"""Kinerja's shared library: the wire contract and the machinery every service shares."""
