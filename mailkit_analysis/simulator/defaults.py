"""Built-in demo credentials of the Mailkit simulator.

These are *not* secrets: they only open the local simulator, never the real
Mailkit API. They exist so that notebooks, the command line and the tests can
talk to a simulator without anyone having to invent credentials.
"""

from __future__ import annotations

#: API ID the simulator accepts unless told otherwise (Mailkit: Profile / Integration).
DEFAULT_CLIENT_ID: int = 100001

#: MD5 code the simulator accepts unless told otherwise. Demo value, not a secret.
DEFAULT_CLIENT_MD5: str = "5e1f0a1b2c3d4e5f60718293a4b5c6d7"
