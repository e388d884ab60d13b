import sys

from gouda.cli import main

sys.exit(main())
