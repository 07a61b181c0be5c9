from keelbase.cli import main

raise SystemExit(main())
