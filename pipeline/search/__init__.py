"""The search: the stage loop (``runner``), one stage (``stage``), candidates read back before they are trained
(``reuse``), the final duel (``duel``), and which candidates a stage evaluates (``strategies``). Knows no Keras: the
engines train, behind ``pipeline.engines.base``."""
