"""Ingest: file checks, strict parsing and an atomic load of each delivered extract."""
