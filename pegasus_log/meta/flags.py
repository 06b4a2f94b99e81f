"""The meta server's flags (observability/flags.py; admin-cli ``server-config meta``).

Upstream's names and sections where upstream has the same setting (section
``meta_server``: what admin-cli lists for a meta), ours otherwise. Mutable: the replica
counts a table may be created with, how long a dropped table is kept, and the
balancer's and proposals' pacing; each change applies from the meta's next use of it.
Failure detection and the ZooKeeper address are fixed at start. Durations that are
fractional in ours are doubles, in the unit their name says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pegasus_log.failure_detector import fd_flags
from pegasus_log.meta.service import MetaOptionsError, MetaService
from pegasus_log.observability.flags import Flag, FlagRefused, FlagType

_META = "meta_server"


def meta_flags(service: MetaService) -> list[Flag]:
    def option(field: str) -> Callable[[], Any]:
        return lambda: getattr(service.options, field)

    def setter(field: str) -> Callable[[Any], None]:
        def write(value: Any) -> None:
            try:
                service.update_options(**{field: value})
            except MetaOptionsError as e:
                raise FlagRefused(str(e)) from e

        return write

    def positive(value: Any) -> bool:
        return bool(value > 0)

    def non_negative(value: Any) -> bool:
        return bool(value >= 0)

    return [
        Flag(
            _META,
            "min_allowed_replica_count",
            FlagType.FV_INT32,
            "min replica count allowed for any table of the cluster",
            option("replica_count_min"),
            setter("replica_count_min"),
            positive,
        ),
        Flag(
            _META,
            "max_allowed_replica_count",
            FlagType.FV_INT32,
            "max replica count allowed for any table of the cluster",
            option("replica_count_max"),
            setter("replica_count_max"),
            positive,
        ),
        Flag(
            _META,
            "hold_seconds_for_dropped_app",
            FlagType.FV_INT32,
            "seconds a dropped table can be recalled, when its drop gives no time",
            option("dropped_app_hold_s"),
            setter("dropped_app_hold_s"),
            non_negative,
        ),
        Flag(
            _META,
            "balance_copies_max",
            FlagType.FV_INT32,
            "balancer copies (a replica learned on another node, then removed) under way"
            " at once, cluster wide",
            option("balance_copies_max"),
            setter("balance_copies_max"),
            non_negative,
        ),
        Flag(
            _META,
            "balance_copy_timeout_seconds",
            FlagType.FV_DOUBLE,
            "seconds after which a balancer copy still under way is given up",
            option("balance_copy_timeout_s"),
            setter("balance_copy_timeout_s"),
            positive,
        ),
        Flag(
            _META,
            "proposal_retry_seconds",
            FlagType.FV_DOUBLE,
            "seconds before a membership change asked of a primary is asked again",
            option("proposal_retry_s"),
            setter("proposal_retry_s"),
            positive,
        ),
        Flag(
            _META,
            "config_push_timeout_seconds",
            FlagType.FV_DOUBLE,
            "seconds one push of a configuration to a replica server may take",
            option("push_timeout_s"),
            setter("push_timeout_s"),
            positive,
        ),
        Flag(
            _META,
            "create_app_wait_seconds",
            FlagType.FV_DOUBLE,
            "seconds create_app waits for every partition's group to form",
            option("create_wait_s"),
            setter("create_wait_s"),
            non_negative,
        ),
        Flag(
            _META,
            "meta_tick_seconds",
            FlagType.FV_DOUBLE,
            "how often the leader checks node liveness and cures partitions",
            option("tick_s"),
        ),
        Flag(
            "replication",
            "cluster_name",
            FlagType.FV_STRING,
            "The name of this cluster",
            option("cluster_name"),
        ),
        Flag(
            "zookeeper",
            "hosts_list",
            FlagType.FV_STRING,
            "ZooKeeper hosts list",
            option("zookeeper_hosts"),
        ),
        *fd_flags(service.options.fd),
    ]
