"""What every layer uses: the records passed between them (``records``), conditions and labels (``space``), grid values
as the core carries them (``values``), scikit-learn's result columns (``cvresults``), errors and how the process ends
(``errors``, ``exits``), and where the installation's files are (``install``)."""
