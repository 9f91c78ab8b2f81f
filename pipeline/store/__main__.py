from pipeline.store.cli import main

raise SystemExit(main())
