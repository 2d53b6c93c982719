"""Validate: the contracts' row rules, run as DuckDB SQL over every row and as Great Expectations suites."""
