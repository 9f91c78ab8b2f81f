"""What a run shows and leaves behind: the terminal (``terminal``), the run folder and its
``report.md`` (``files``), and the charts (``plots``). Tables and JSON in, no Keras."""
