"""The functional core: portfolio values, drift math, trigger policies and the planner.

Nothing in this package performs I/O, reads the environment or the clock; every input,
including the current time, is passed in. An import-linter contract in CI keeps it so.
"""
