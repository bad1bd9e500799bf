import sys

from omega_v2.cli import main

sys.exit(main())
