"""``python -m pipeline``: a thin Hydra shell around ``pipeline.app.main``."""
import hydra

from pipeline import config  # noqa: F401  (registers the schema)


@hydra.main(config_path="../conf", config_name="config", version_base=None)
def main(cfg) -> None:
    from pipeline import app

    app.main(cfg)


if __name__ == "__main__":
    main()
