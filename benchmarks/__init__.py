"""The benchmark harness as a package: one module per section, ``scripts/`` for the programs timed in fresh
processes, ``harness.py`` the table and the results file. Run ``python benchmarks/run.py`` or ``python -m benchmarks``."""
