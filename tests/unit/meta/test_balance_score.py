"""The balance figures cluster_info reports: standard deviations of primaries and of
all replicas over the alive nodes that hold something, rounded to hundredths."""

from __future__ import annotations

from pegasus_log.meta.core.balance_score import BalanceScore, score
from pegasus_log.meta.core.guardian import NodeView
from pegasus_log.rpc.thrift import RpcAddress


def _n(port: int, primaries: int, partitions: int, *, alive: bool = True) -> NodeView:
    return NodeView(RpcAddress("127.0.0.1", port), alive, primaries, partitions)


def test_even_cluster_scores_zero() -> None:
    assert score([_n(1, 4, 8), _n(2, 4, 8)]) == BalanceScore(0.0, 0.0)


def test_fewer_than_two_sampled_nodes_score_zero() -> None:
    assert score([]) == BalanceScore()
    assert score([_n(1, 8, 8), _n(2, 0, 0)]) == BalanceScore()  # empty nodes are not sampled


def test_population_stddev_rounded_to_hundredths() -> None:
    # primaries 3, 3, 2: mean 8/3, population stddev 0.4714 -> 0.47
    got = score([_n(1, 3, 8), _n(2, 3, 8), _n(3, 2, 8)])
    assert got == BalanceScore(0.47, 0.0)


def test_a_dead_node_holding_replicas_makes_the_sample_partial() -> None:
    # totals 2 and 4: population stddev 1.0, sample stddev sqrt(2) = 1.414 -> 1.41
    nodes = [_n(1, 1, 2), _n(2, 1, 4)]
    assert score(nodes).total_stddev == 1.0
    assert score([*nodes, _n(3, 0, 1, alive=False)]).total_stddev == 1.41
    assert score([*nodes, _n(3, 0, 1, alive=False)]).primary_stddev == 0.0
