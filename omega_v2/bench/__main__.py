import sys

from omega_v2.bench.command import main

sys.exit(main())
