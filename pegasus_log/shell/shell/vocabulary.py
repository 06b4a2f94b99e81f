"""The shell's vocabulary: every command upstream's shell knows, with its usage, and
whether it runs yet (and if not, what it waits for)."""

from __future__ import annotations

from pegasus_log.frozen import frozen

NOT_IN_META = "the meta server does not serve it yet"
NO_REMOTE_COMMANDS = "the servers do not serve the remote command or metrics it needs yet"
NO_BACKUP = "cold backup is not built yet"
NO_DUPLICATION = "duplication is not built yet"
NO_BULK_LOAD = "bulk load is not built yet"
OFFLINE_TOOL = "offline tool, not built yet"


@frozen
class Command:
    name: str
    usage: str
    summary: str
    unavailable: str = ""  # why it cannot run yet; empty when it can
    needs_table: bool = False


def _data(name: str, usage: str, summary: str) -> Command:
    return Command(name, usage, summary, needs_table=True)


def _env(name: str, usage: str, summary: str) -> Command:
    """An app env command: works on the current table (``use``)."""
    return Command(name, usage, summary, needs_table=True)


def _later(name: str, usage: str, summary: str, why: str = NOT_IN_META) -> Command:
    return Command(name, usage, summary, unavailable=why)


_FILTERS = (
    "[-h|--hash_key_filter_type anywhere|prefix|postfix] [-x|--hash_key_filter_pattern str] "
    "[-s|--sort_key_filter_type anywhere|prefix|postfix|exact] "
    "[-y|--sort_key_filter_pattern str] "
    "[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str]"
)
_CHECK_TYPES = (
    "[-t|--check_type not_exist|not_exist_or_empty|exist|not_empty] "
    "[match_anywhere|match_prefix|match_postfix] "
    "[bytes_less|bytes_less_or_equal|bytes_equal|bytes_greater_or_equal|bytes_greater] "
    "[int_less|int_less_or_equal|int_equal|int_greater_or_equal|int_greater]"
)
_RANGE = (
    "<hash_key> <start_sort_key> <stop_sort_key> "
    "[-a|--start_inclusive true|false] [-b|--stop_inclusive true|false] "
)

COMMANDS: tuple[Command, ...] = (
    Command("help", "[command]", "print help of all commands or of one"),
    Command("version", "", "print the shell version"),
    Command(
        "cluster_info",
        "[-r|--resolve_ip] [-o|--output file_name] [-j|--json]",
        "cluster information",
    ),
    Command(
        "app",
        "<app_name> [-d|--detailed] [-r|--resolve_ip] [-o|--output file_name] [-j|--json]",
        "partitions of a table",
    ),
    Command(
        "app_disk",
        "<app_name> [-d|--detailed] [-r|--resolve_ip] [-j|--json] [-o|--output file_name]",
        "disk usage of a table",
    ),
    Command(
        "ls",
        "[-a|--all] [-d|--detailed] [-j|--json] [-o|--output file_name] "
        "[-s|--status all|available|creating|dropping|dropped] [-p|--app_name_pattern str] "
        "[-m|--match_type all|exact|anywhere|prefix|postfix]",
        "list tables",
    ),
    Command(
        "nodes",
        "[-d|--detailed] [-j|--json] [-r|--resolve_ip] [-u|--resource_usage] "
        "[-o|--output file_name] [-s|--status all|alive|unalive] [-q|--qps] "
        "[-i|--sample_interval_ms num]",
        "replica servers of the cluster",
    ),
    Command(
        "create",
        "<app_name> [-p|--partition_count num] [-r|--replica_count num] "
        "[-f|--fail_if_exist] [-i|--atomic_idempotent] [-e|--envs k1=v1,k2=v2...]",
        "create a table",
    ),
    Command("drop", "<app_name> [-r|--reserve_seconds num]", "drop a table"),
    Command("recall", "<app_id> [new_app_name]", "recall a dropped table"),
    Command("rename", "<old_app_name> <new_app_name>", "rename a table"),
    Command(
        "set_meta_level", "<stopped|blind|freezed|steady|lively>", "set the meta function level"
    ),
    Command("get_meta_level", "", "print the meta function level"),
    Command(
        "balance",
        "<-g|--gpid appid.pidx> <-p|--type move_pri|copy_pri|copy_sec> "
        "<-f|--from from_address> <-t|--to to_address>",
        "move a primary or a replica of one partition",
    ),
    Command(
        "propose",
        "[-f|--force] <-g|--gpid appid.pidx> <-p|--type config_type> "
        "<-t|--target node> <-n|--node node>",
        "send a configuration proposal (-f -p ASSIGN_PRIMARY: a primary for a partition "
        "whose every replica died)",
    ),
    Command("use", "[app_name]", "set the table the data commands work on"),
    Command(
        "cc", "<meta_list>", "change to the cluster of these meta servers (host:port,host:port...)"
    ),
    Command("escape_all", "[true|false]", "print every byte of keys and values as \\xHH"),
    Command("timeout", "[time_in_ms]", "timeout of read and write operations"),
    Command("hash", "<hash_key> <sort_key>", "hash of a key, and its partition"),
    _data("set", "<hash_key> <sort_key> <value> [ttl_in_seconds]", "set a value"),
    _data(
        "multi_set",
        "<hash_key> <sort_key> <value> [sort_key value...]",
        "set values of one hash key",
    ),
    _data("get", "<hash_key> <sort_key>", "get a value"),
    _data(
        "multi_get",
        "<hash_key> [sort_key...]",
        "get values of one hash key (all sort keys when none given)",
    ),
    _data(
        "multi_get_range",
        _RANGE + "[-s|--sort_key_filter_type anywhere|prefix|postfix] "
        "[-y|--sort_key_filter_pattern str] [-n|--max_count num] [-i|--no_value] "
        "[-r|--reverse]",
        "get values of a sort key range of one hash key",
    ),
    _data("multi_get_sortkeys", "<hash_key>", "get the sort keys of one hash key"),
    _data("del", "<hash_key> <sort_key>", "delete a value"),
    _data("multi_del", "<hash_key> <sort_key> [sort_key...]", "delete values of one hash key"),
    _data(
        "multi_del_range",
        _RANGE + "[-s|--sort_key_filter_type anywhere|prefix|postfix] "
        "[-y|--sort_key_filter_pattern str] [-o|--output file_name] [-i|--silent]",
        "delete a sort key range of one hash key",
    ),
    _data("incr", "<hash_key> <sort_key> [increment]", "atomically add to an integer value"),
    _data(
        "check_and_set",
        "<hash_key> [-c|--check_sort_key str] "
        + _CHECK_TYPES
        + " [-o|--check_operand str] [-s|--set_sort_key str] [-v|--set_value str] "
        "[-l|--set_value_ttl_seconds num] [-r|--return_check_value]",
        "atomically check a value and set one",
    ),
    _data(
        "check_and_mutate",
        "<hash_key> [-c|--check_sort_key str] "
        + _CHECK_TYPES
        + " [-o|--check_operand str] [-r|--return_check_value] "
        "[-m|--mutation 'set <sort_key> <value> [ttl]'|'del <sort_key>']...",
        "atomically check a value and apply mutations (read one per line when no -m)",
    ),
    _data("exist", "<hash_key> <sort_key>", "whether a value exists"),
    _data("count", "<hash_key>", "number of sort keys of one hash key"),
    _data("ttl", "<hash_key> <sort_key>", "seconds a value has left to live"),
    _data(
        "hash_scan",
        _RANGE + "[-s|--sort_key_filter_type anywhere|prefix|postfix] "
        "[-y|--sort_key_filter_pattern str] "
        "[-v|--value_filter_type anywhere|prefix|postfix|exact] [-z|--value_filter_pattern str] "
        "[-o|--output file_name] [-n|--max_count num] [-t|--timeout_ms num] [-d|--detailed] "
        "[-i|--no_value]",
        "scan the sort keys of one hash key",
    ),
    _data(
        "full_scan",
        _FILTERS + " [-o|--output file_name] [-n|--max_count num] "
        "[-t|--timeout_ms num] [-d|--detailed] [-i|--no_value] [-p|--partition num]",
        "scan the whole table",
    ),
    _data(
        "copy_data",
        "<-c|--target_cluster_meta host:port,...> <-a|--target_app_name str> "
        "[-p|--partition num] [-b|--max_batch_count num] [-t|--timeout_ms num] "
        + _FILTERS
        + " [-m|--max_multi_set_concurrency num] [-o|--scan_option_batch_size num] "
        "[-e|--no_ttl] [-n|--no_overwrite] [-i|--no_value] [-g|--geo_data] "
        "[-u|--use_multi_set]",
        "copy the table's data to a table of this or another cluster",
    ),
    _data(
        "clear_data",
        "[-p|--partition num] [-b|--max_batch_count num] [-t|--timeout_ms num] "
        + _FILTERS
        + " [-f|--force]",
        "delete the table's data",
    ),
    _data(
        "count_data",
        "[-c|--precise] [-p|--partition num] [-b|--max_batch_count num] "
        "[-t|--timeout_ms num] " + _FILTERS + " [-d|--diff_hash_key] [-a|--stat_size] "
        "[-n|--top_count num] [-r|--run_seconds num]",
        "count the table's records",
    ),
    Command(
        "remote_command",
        "[-t all|meta-server|replica-server] [-r|--resolve_ip] "
        "[-l host:port,host:port...] [-i|--sample_interval_ms num] <command> [arguments...]",
        "send a remote command (help, server-info, server-stat) to servers",
    ),
    Command(
        "server_info",
        "[-t all|meta-server|replica-server] [-l host:port,host:port...] [-r|--resolve_ip]",
        "version, git commit and start time of servers",
    ),
    Command(
        "server_stat",
        "[-t all|meta-server|replica-server] [-l host:port,host:port...] "
        "[-r|--resolve_ip] [-i|--sample_interval_ms num]",
        "request rates, latencies, replicas, memory and disk of servers",
    ),
    Command(
        "app_stat",
        "[-a|--app_name str] [-q|--only_qps] [-u|--only_usage] [-j|--json] "
        "[-o|--output file_name] [-i|--sample_interval_ms num]",
        "statistics of tables",
    ),
    Command(
        "flush_log",
        "[-t all|meta-server|replica-server] [-l host:port,host:port...] [-r|--resolve_ip]",
        "flush the logs of servers",
    ),
    Command(
        "local_get",
        "<db_path> <hash_key> <sort_key>",
        "get a value from a partition's RocksDB directory (<data_dir>/<app_id>.<index>.pegasus)",
    ),
    Command("rdb_key_str2hex", "<hash_key> <sort_key>", "the RocksDB key of a record, in hex"),
    Command("rdb_key_hex2str", "<rdb_key_in_hex>", "hash key and sort key of a RocksDB key"),
    Command("rdb_value_hex2str", "<value_in_hex>", "expiry, timetag and user data of a value"),
    _later(
        "sst_dump",
        "[--command=check|scan|none|raw] <--file=data_dir_OR_sst_file> "
        "[--from=user_key] [--to=user_key] [--read_num=num] [--show_properties] "
        "[--pegasus_data]",
        "dump sstables",
        OFFLINE_TOOL,
    ),
    Command(
        "mlog_dump",
        "<-i|--input log_dir> [-o|--output file_name] [-d|--detailed] "
        "[-g|--gpid app_id.partition_index]",
        "dump a replica server's mutation log (<data_dir>/plog), as it is on disk",
    ),
    Command(
        "recover",
        "[-f|--node_list_file file_name] [-s|--node_list_str str] "
        "[-w|--wait_seconds num] [-b|--skip_bad_nodes] [-l|--skip_lost_partitions] "
        "[-o|--output file_name]",
        "rebuild the meta state from replica servers",
    ),
    _later(
        "add_backup_policy",
        "<-p|--policy_name str> <-b|--backup_provider_type str> "
        "<-a|--app_ids 1,2...> <-i|--backup_interval_seconds num> "
        "<-s|--start_time hour:minute> <-c|--backup_history_cnt num>",
        "add a cold backup policy",
        NO_BACKUP,
    ),
    _later("ls_backup_policy", "[-j|--json]", "list backup policies", NO_BACKUP),
    _later(
        "query_backup_policy",
        "<-p|--policy_name p1,p2...> [-b|--backup_info_cnt num] [-j|--json]",
        "query backup policies",
        NO_BACKUP,
    ),
    _later(
        "modify_backup_policy",
        "<-p|--policy_name str> [-a|--add_app 1,2...] "
        "[-r|--remove_app 1,2...] [-i|--backup_interval_seconds num] "
        "[-c|--backup_history_count num] [-s|--start_time hour:minute]",
        "modify a backup policy",
        NO_BACKUP,
    ),
    _later(
        "disable_backup_policy",
        "<-p|--policy_name str> [-f|--force]",
        "stop a backup policy",
        NO_BACKUP,
    ),
    _later("enable_backup_policy", "<-p|--policy_name str>", "restart a backup policy", NO_BACKUP),
    _later(
        "restore_app",
        "<-c|--old_cluster_name str> <-p|--old_policy_name str> "
        "<-a|--old_app_name str> <-i|--old_app_id id> <-t|--timestamp/backup_id timestamp> "
        "<-b|--backup_provider_type str> [-n|--new_app_name str] [-s|--skip_bad_partition] "
        "[-r|--restore_path str]",
        "restore a table from a backup",
        NO_BACKUP,
    ),
    _later(
        "query_restore_status",
        "<restore_app_id> [-d|--detailed]",
        "progress of a restore",
        NO_BACKUP,
    ),
    _env("get_app_envs", "[-j|--json]", "envs of the current table"),
    _env("set_app_envs", "<key> <value> [key value...]", "set envs of the current table"),
    _env("del_app_envs", "<key> [key...]", "delete envs of the current table"),
    _env("clear_app_envs", "[-a|--all] [-p|--prefix str]", "clear envs of the current table"),
    Command(
        "ddd_diagnose",
        "[-g|--gpid appid|appid.pidx] [-d|--diagnose] "
        "[-a|--auto_diagnose] [-s|--skip_prompt] [-o|--output file_name]",
        "diagnose partitions whose replicas all died",
    ),
    _later(
        "add_dup",
        "<app_name> <remote_cluster_name> [-s|--sst] [-a|--remote_app_name str] "
        "[-r|--remote_replica_count num]",
        "add a duplication",
        NO_DUPLICATION,
    ),
    _later("query_dup", "<app_name> [-d|--detail]", "duplications of a table", NO_DUPLICATION),
    _later(
        "dups",
        "[-a|--app_name_pattern str] [-m|--match_type all|exact|anywhere|prefix|"
        "postfix] [-p|--list_partitions] [-g|--progress_gap num] [-u|--show_unfinishd] "
        "[-o|--output file_name] [-j|--json]",
        "list duplications",
        NO_DUPLICATION,
    ),
    _later("remove_dup", "<app_name> <dup_id>", "remove a duplication", NO_DUPLICATION),
    _later("start_dup", "<app_name> <dup_id>", "start a duplication", NO_DUPLICATION),
    _later("pause_dup", "<app_name> <dup_id>", "pause a duplication", NO_DUPLICATION),
    _later(
        "set_dup_fail_mode",
        "<app_name> <dup_id> <slow|skip>",
        "set the fail mode of a duplication",
        NO_DUPLICATION,
    ),
    _later(
        "start_bulk_load",
        "<-a --app_name str> <-c --cluster_name str> "
        "<-p --file_provider_type str> <-r --root_path> [-i --ingest_behind]",
        "start a bulk load",
        NO_BULK_LOAD,
    ),
    _later(
        "query_bulk_load_status",
        "<-a --app_name str> [-i --partition_index num] [-d --detailed]",
        "progress of a bulk load",
        NO_BULK_LOAD,
    ),
    _later("pause_bulk_load", "<-a --app_name str>", "pause a bulk load", NO_BULK_LOAD),
    _later("restart_bulk_load", "<-a --app_name str>", "restart a bulk load", NO_BULK_LOAD),
    _later(
        "cancel_bulk_load", "<-a --app_name str> [-f --forced]", "cancel a bulk load", NO_BULK_LOAD
    ),
    _later(
        "clear_bulk_load", "<-a --app_name str>", "clear the result of a bulk load", NO_BULK_LOAD
    ),
    Command(
        "detect_hotkey",
        "<-a|--app_id num> <-p|--partition_index num> "
        "<-t|--hotkey_type read|write> <-c|--detect_action start|stop|query> "
        "<-d|--address str>",
        "hot key detection on a replica",
    ),
    Command("get_replica_count", "<app_name> [-j|--json]", "replica count of a table"),
    Command(
        "set_replica_count",
        "<app_name> <replica_count>",
        "set the replica count of a table (asks first; the meta then adds or removes replicas)",
    ),
    Command(
        "get_atomic_idempotent",
        "<app_name> [-j|--json]",
        "whether atomic writes of a table are to be made idempotent (the table's flag)",
    ),
    Command("enable_atomic_idempotent", "<app_name>", "set the table's atomic_idempotent flag"),
    Command("disable_atomic_idempotent", "<app_name>", "clear the table's atomic_idempotent flag"),
    _later(
        "local_partition_split",
        "<src_data_dirs> <dst_data_dirs> <src_app_id> "
        "<dst_app_id> <src_partition_ids> <src_partition_count> <dst_partition_count> "
        "<dst_app_name> [--post_full_compact] [--post_count] [--threads_per_data_dir num] "
        "[--threads_per_partition num]",
        "split partitions offline",
        OFFLINE_TOOL,
    ),
    Command("exit", "", "exit the shell"),
    Command("quit", "", "exit the shell"),
)

COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}
assert len(COMMANDS_BY_NAME) == len(COMMANDS), "a command is registered twice"
