"""Kinerja payroll service."""
