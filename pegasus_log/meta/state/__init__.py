"""The meta server's persistent state: the store protocol and its two implementations
(in-memory twin, ZooKeeper), upstream's znode layout and encoding, and the typed
repository the meta server calls."""
