from pipeline.store.cli import run

run()
