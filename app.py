"""Start the mlstutor web UI: ``python app.py [--host 127.0.0.1] [--port 7860] [--auth user:pass]``."""

import sys

from mlstutor.cli import main

if __name__ == "__main__":
    sys.exit(main(["ui", *sys.argv[1:]]))
