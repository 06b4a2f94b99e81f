"""How even the cluster is: the standard deviations that cluster_info reports.

Upstream (greedy_load_balancer::score) samples only alive nodes that hold at least one
replica; a dead node still holding replicas makes the sample partial (divide by n - 1
instead of n). Fewer than two sampled nodes give 0. Results are rounded to hundredths
as upstream rounds them (add 0.005, truncate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pegasus_log.frozen import frozen
from pegasus_log.meta.core.guardian import NodeView


@frozen
class BalanceScore:
    primary_stddev: float = 0.0
    total_stddev: float = 0.0


def score(nodes: Iterable[NodeView]) -> BalanceScore:
    primaries: list[int] = []
    totals: list[int] = []
    primary_partial = total_partial = False
    for n in nodes:
        if n.alive:
            if n.partitions:
                primaries.append(n.primaries)
                totals.append(n.partitions)
        else:
            primary_partial |= n.primaries != 0
            total_partial |= n.partitions != 0
    if len(totals) <= 1:
        return BalanceScore()
    return BalanceScore(_stddev(primaries, primary_partial), _stddev(totals, total_partial))


def _stddev(sample: list[int], partial: bool) -> float:
    mean = sum(sample) / len(sample)
    accum = sum((x - mean) ** 2 for x in sample)
    stddev = math.sqrt(accum / (len(sample) - 1 if partial else len(sample)))
    return int((stddev + 0.005) * 100) / 100
