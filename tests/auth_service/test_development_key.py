"""The development signing key in DATA_DIR: one key, however many replicas start at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from auth_service.signing import _development_key, public_jwk

REPLICAS = 8

# Each replica waits for the same instant, then takes the key, as replicas started together do.
REPLICA = """
import sys, time
from pathlib import Path
from auth_service.signing import _development_key, public_jwk
start = float(sys.argv[2])
while time.time() < start:
    pass
print(public_jwk(_development_key(Path(sys.argv[1])).public_key())["kid"])
"""


def test_replicas_starting_together_all_sign_with_the_key_in_the_file(tmp_path: Path) -> None:
    start = time.time() + 3
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    kids = {replica.communicate(timeout=60)[0].strip() for replica in replicas}
    assert all(replica.returncode == 0 for replica in replicas)
    stored = load_pem_private_key((tmp_path / "jwt" / "signing.pem").read_bytes(), None)
    assert isinstance(stored, Ed25519PrivateKey)
    assert kids == {public_jwk(stored.public_key())["kid"]}
    assert [p.name for p in (tmp_path / "jwt").iterdir()] == ["signing.pem"]


def test_the_key_file_is_kept_across_restarts_and_private(tmp_path: Path) -> None:
    first = _development_key(tmp_path)
    again = _development_key(tmp_path)
    assert public_jwk(first.public_key()) == public_jwk(again.public_key())
    assert (tmp_path / "jwt" / "signing.pem").stat().st_mode & 0o777 == 0o600
