import sys

from dldl_core.cli.main import main

sys.exit(main())
