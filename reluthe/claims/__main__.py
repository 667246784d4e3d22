"""``python -m reluthe.claims``: print the claim table (``docs/claims.md``) for this registry."""

from __future__ import annotations

from reluthe.claims import claim_files
from reluthe.claims._catalogue import claim_table

if __name__ == "__main__":
    print(claim_table(claim_files()), end="")
