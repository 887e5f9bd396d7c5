"""Kinerja attendance service."""
