"""Partition status of one replica and the transitions allowed between statuses.

The table is the whole truth (STYLE rule 6): ``transition`` raises ``IllegalTransition``
for anything not listed, and the core asks ``allowed`` first whenever a message from the
network proposes a change, so that bad input is answered with an error instead.

A change of ballot within one status (a secondary following a new primary, a primary whose
membership changed) is not a transition and is not listed.

Why each edge exists (upstream ``update_local_configuration`` has the same shape):

- INACTIVE -> PRIMARY: the meta assigns or upgrades this replica (ASSIGN_PRIMARY after
  every member died, UPGRADE_TO_PRIMARY, or PRIMARY_FORCE_UPDATE_BALLOT after a restart or
  a lapsed lease).
- INACTIVE -> POTENTIAL_SECONDARY: a primary adds this replica as a learner.
- INACTIVE -> SECONDARY is absent on purpose: a replica that stopped may have missed
  prepares; it comes back only by learning.
- SECONDARY -> PRIMARY: UPGRADE_TO_PRIMARY. SECONDARY -> POTENTIAL_SECONDARY: it was
  removed and is added back as a learner under a newer ballot.
- PRIMARY -> SECONDARY: the meta moves the primary elsewhere (DOWNGRADE_TO_SECONDARY).
- POTENTIAL_SECONDARY -> SECONDARY: learning finished and UPGRADE_TO_SECONDARY was
  accepted by the meta.
- Anything but ERROR -> INACTIVE (removed, lease lapsed) and -> ERROR (local I/O failure).
- ERROR is terminal: the runtime closes the replica and opens it again from disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pegasus_log.rpc.admin import PartitionStatus

INACTIVE = PartitionStatus.PS_INACTIVE
ERROR = PartitionStatus.PS_ERROR
PRIMARY = PartitionStatus.PS_PRIMARY
SECONDARY = PartitionStatus.PS_SECONDARY
POTENTIAL_SECONDARY = PartitionStatus.PS_POTENTIAL_SECONDARY

ALLOWED: Mapping[PartitionStatus, frozenset[PartitionStatus]] = MappingProxyType(
    {
        INACTIVE: frozenset({PRIMARY, POTENTIAL_SECONDARY, ERROR}),
        PRIMARY: frozenset({SECONDARY, INACTIVE, ERROR}),
        SECONDARY: frozenset({PRIMARY, POTENTIAL_SECONDARY, INACTIVE, ERROR}),
        POTENTIAL_SECONDARY: frozenset({SECONDARY, INACTIVE, ERROR}),
        ERROR: frozenset(),
    }
)

SHORT_NAMES: Mapping[PartitionStatus, str] = MappingProxyType(
    {INACTIVE: "ina", ERROR: "err", PRIMARY: "pri", SECONDARY: "sec", POTENTIAL_SECONDARY: "pot"}
)


class IllegalTransition(AssertionError):
    """A transition outside ``ALLOWED``: a bug in the core, never bad input."""


def allowed(old: PartitionStatus, new: PartitionStatus) -> bool:
    return new in ALLOWED.get(old, frozenset())


def transition(old: PartitionStatus, new: PartitionStatus) -> PartitionStatus:
    """``new`` if the table allows ``old -> new``; raises IllegalTransition otherwise."""
    if not allowed(old, new):
        raise IllegalTransition(f"partition status {old.name} -> {new.name} is not allowed")
    return new
