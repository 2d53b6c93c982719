"""Core: periods, declarations (metrics and scorecards), paths, shared records. Imports no other stage."""
