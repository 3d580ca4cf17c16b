"""Fuzz targets for what reads outside input; see docs/security.md#fuzzing."""
