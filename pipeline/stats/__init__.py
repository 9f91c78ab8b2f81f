"""The statistics a run prints: the selection rules (``selection``), the corrected paired t-test (``significance``),
and order=auto's stage importance (``importance``)."""
