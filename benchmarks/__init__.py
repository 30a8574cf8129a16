"""Benchmarks of the MAIP DR suite against its own simulation (not part of the test suite).

Run ``python -m benchmarks --help``; docs/benchmarks.md describes each benchmark and its goal.
"""
