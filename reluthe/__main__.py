"""``python -m reluthe`` runs ``python -m reluthe.check_claims`` with the same arguments."""

import sys

from reluthe.check_claims import main

if __name__ == "__main__":
    sys.exit(main())
