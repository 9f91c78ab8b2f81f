"""Stage strategies: which candidates a stage evaluates, and at which budget (``base``: the seam; ``grid``: the
whole grid or a random budget; ``racing``: successive halving over epochs; ``nuisance``: re-tuning inside a stage;
``plan``: the stages of a run with their strategies)."""
