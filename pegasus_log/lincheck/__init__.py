"""Linearizability checking of pegasus-log: a concurrent get / set / check_and_set
workload that records a history (``workload``), the history's records (``history``), and
the porcupine-based checker in ``tools/lincheck`` that judges it (``checker``).

Run against a running cluster (faults are up to you, e.g. kill -9 a replica server):

    python -m pegasus_log.lincheck --meta 127.0.0.1:34601 --table temp --seconds 30
"""
