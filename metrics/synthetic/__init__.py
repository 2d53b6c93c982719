"""Synthetic data generators for the demo, tests and benchmarks; never imported by the pipeline."""
