"""Kinerja mkd service."""
