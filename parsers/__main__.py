import os
import sys

from .cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # `python -m parsers inspect ... | head`
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
