"""Kinerja worklog service."""
