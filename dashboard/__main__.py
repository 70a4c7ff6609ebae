import os
import sys

from dashboard.cli.main import main

try:
    sys.exit(main())
except BrokenPipeError:  # `python -m dashboard tail ... | head`
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
except KeyboardInterrupt:
    sys.exit(130)
