"""``python -m pipeline.compare RUN_FOLDER ...``: the door to ``pipeline.frontends.compare``."""
from pipeline.frontends.compare import main

if __name__ == "__main__":
    main()
