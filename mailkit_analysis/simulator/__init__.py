"""A built-in Mailkit simulator: the real wire protocol on loopback, from a seed.

The simulator serves ``mailkit.sendmail_mass.results``,
``mailkit.campaigns.list`` and ``mailkit.report.campaign`` over both of
Mailkit's transports (``/json.fcgi`` and ``/rpc.fcgi``) from a deterministic,
realistic account, and can inject network faults on demand. A cache the generator or a
scenario wrote can be served too (:class:`.cached_account.CachedAccount`). Notebooks use it
to demo the toolkit without credentials; tests use it instead of mocks.

Examples
--------
>>> from mailkit_analysis.simulator import MailkitSimulator
>>> with MailkitSimulator(seed=7) as sim:
...     url = sim.json_url
"""

from .account import SimulatedAccount
from .defaults import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5
from .faults import FaultConfig
from .server import MailkitSimulator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_MD5",
    "FaultConfig",
    "MailkitSimulator",
    "SimulatedAccount",
]
