"""The config tree: what may be searched (``catalogue``), the settings and their checks
(``schema``), and Hydra's side of it (``compose``, imported only by the entry point)."""
