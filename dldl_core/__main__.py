import sys

from dldl_core.cli import main

sys.exit(main())
