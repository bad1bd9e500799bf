import sys

from omega_v2.run_diff.command import main

sys.exit(main())
