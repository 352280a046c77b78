"""The fixed lists of values an entry body may hold: one home, read by the validators, the body builders and
the CLI's choices alike (a value added here is accepted everywhere at once)."""

from __future__ import annotations

ROLES = ("licensor", "licensee", "both")
STATUSES = ("invalidated", "withdrawn", "lapsed")
PERIOD_LENGTHS = ("quarter", "half")
CROSS_LICENSE_TERMS = ("royalty-free", "balancing-payment")
