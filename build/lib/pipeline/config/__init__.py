"""The config tree: what may be searched (``catalogue``), the settings (``schema``), their checks (``validation``),
the scorer against the task (``scoring``), and Hydra's side of it (``compose``, used only by the entry point)."""
