"""The front ends: the command line (``cli``, ``multirun``), ``StagedSearchCV`` (``estimator``, ``arguments``) and the
comparison of finished runs (``compare``). Each turns what a user gives into a ``RunSpec`` and hands it to the
search; none trains anything itself."""
