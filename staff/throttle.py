"""Login throttling for the staff app, on the rate limiter every worker shares (``ledger/ratelimit.py``).

Counted in fixed 15-minute windows, keyed by what the attempt comes from:

- **(user name, client)**: 5 failed passwords for one name from one client refuse that client further
  attempts *for that name* until the window ends. Someone else's client is not affected, so guessing
  a colleague's password from one place never locks the colleague out.
- **client**: 20 failed attempts from one client, whatever the names, refuse that client (one address
  trying many names).
- **user name, from every client**: never a lock. Past 10 failures in a window the account counts as
  under attack: every attempt on it, from anywhere, waits 2 seconds before its password is checked
  (the wait is the same for right and wrong passwords, so it tells nothing), and the attack is audited
  once per window. A right password from a client that has not used up its own 5 still signs in.

An attempt is counted *before* its password is checked (an atomic increment), so parallel requests
cannot check more passwords than the limit; a successful login gives the client's attempt back and
clears its count for that name.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = 15 * 60  # seconds
PAIR_LIMIT = 5  # failures of one user name from one client
CLIENT_LIMIT = 20  # failures from one client, any names
ATTACK_THRESHOLD = 10  # failures of one user name from all clients: the account is under attack
ATTACK_DELAY = 2.0  # seconds every attempt on an account under attack waits
_NO_LIMIT = 1 << 30


@dataclass(frozen=True)
class Admission:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends (when refused)
    delay: float = 0.0  # seconds to wait before checking the password
    first_alarm: bool = False  # the account just became "under attack" in this window


def _name(username: str) -> str:
    return (username or "").strip().lower()[:64]


class LoginThrottle:
    """``admit`` before checking a password; then ``failed`` or ``succeeded``."""

    def __init__(self, limiter, *, window: int | None = None, pair_limit: int | None = None,
                 client_limit: int | None = None, attack_threshold: int | None = None,
                 attack_delay: float | None = None):
        self.limiter = limiter
        self.window = window or WINDOW
        self.pair_limit = pair_limit or PAIR_LIMIT
        self.client_limit = client_limit or CLIENT_LIMIT
        self.attack_threshold = attack_threshold or ATTACK_THRESHOLD
        self.attack_delay = ATTACK_DELAY if attack_delay is None else attack_delay

    @staticmethod
    def _keys(username: str, client: str) -> tuple[str, str, str]:
        name, client = _name(username), (client or "unknown")[:100]
        return (f"staff-login:client:{client}", f"staff-login:pair:{name}|{client}",
                f"staff-login:user:{name}")

    def admit(self, username: str, client: str) -> Admission:
        client_key, pair_key, user_key = self._keys(username, client)
        verdict = self.limiter.hit_all([(client_key, self.client_limit, self.window),  # one transaction
                                         (pair_key, self.pair_limit, self.window)])
        if not verdict.allowed:
            return Admission(False, verdict.retry_after)
        failures = self.limiter.count(user_key, window=self.window)
        if failures >= self.attack_threshold:
            alarm = self.limiter.hit(user_key + ":alarm", limit=1, window=self.window).hits == 1
            return Admission(True, delay=self.attack_delay, first_alarm=alarm)
        return Admission(True)

    def failed(self, username: str, client: str) -> None:
        _client_key, _pair_key, user_key = self._keys(username, client)
        self.limiter.hit(user_key, limit=_NO_LIMIT, window=self.window)

    def succeeded(self, username: str, client: str) -> None:
        client_key, pair_key, _user_key = self._keys(username, client)
        self.limiter.clear(pair_key, window=self.window)
        self.limiter.hit(client_key, limit=_NO_LIMIT, window=self.window, cost=-1)  # the attempt back
