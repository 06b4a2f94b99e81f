"""docker-compose.yml and the Dockerfile, checked statically against the code.

Docker does not run on these machines, so these checks are what keeps the files users run
in step with the command line: every pegasus command parses with ``build_parser()``, ports
and counts follow the onebox, addresses agree across services, and every variable, volume,
network and dependency the file names exists.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from pegasus_log.shell.main import DEFAULT_META_PORT, DEFAULT_REPLICA_PORT, build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
PYPROJECT = ROOT / "pyproject.toml"

# What replica servers get for duplication and cold backup before the code reads them.
FEATURE_VARIABLES = (
    "PEGASUS_LOG_KAFKA_BOOTSTRAP",
    "PEGASUS_LOG_S3_ENDPOINT",
    "PEGASUS_LOG_S3_ACCESS_KEY",
    "PEGASUS_LOG_S3_SECRET_KEY",
    "PEGASUS_LOG_S3_BUCKET",
)
ZOOKEEPER_CLIENT_PORT = 2181  # the official zookeeper image's default (ZOO_PORT)
MINIO_API_PORT = 9000  # `minio server` without --address
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}

# Compose interpolation: `$$` is a literal `$` (left for the container's shell); `${NAME}`,
# `${NAME:-default}` and `${NAME-default}` come from the environment or .env.
_TOKEN = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}$]*))?\}"
)
_CONTAINER_VARIABLE = re.compile(r"\$\$\{?([A-Za-z_][A-Za-z0-9_]*)")


# ---- reading the files ----


@cache
def _raw() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict)
    return doc


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _interpolate(text: str) -> str:
    def substitute(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        assert m.group("op"), f"${{{m.group('name')}}} has no default in docker-compose.yml"
        return m.group("default")

    return _TOKEN.sub(substitute, text)


def _resolve(node: Any) -> Any:
    """The file as Compose sees it with no variable set: every default applied."""
    if isinstance(node, str):
        return _interpolate(node)
    if isinstance(node, dict):
        return {_resolve(k): _resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(item) for item in node]
    return node


@cache
def _compose() -> dict[str, Any]:
    resolved = _resolve(_raw())
    assert isinstance(resolved, dict)
    return resolved


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _networks(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nets = service.get("networks") or {}
    if isinstance(nets, list):
        return {name: {} for name in nets}
    return {name: spec or {} for name, spec in nets.items()}


def _volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each short-syntax volume."""
    mounts = []
    for entry in service.get("volumes") or []:
        assert isinstance(entry, str), "use the short volume syntax, SOURCE:TARGET[:MODE]"
        source, target = entry.split(":")[:2]
        mounts.append((source, target))
    return mounts


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


# ---- pegasus services and their command lines ----


def _pegasus_services() -> dict[str, dict[str, Any]]:
    """Services built from this source tree."""
    return {name: s for name, s in _services().items() if "build" in s}


def _argv(service: dict[str, Any]) -> list[str]:
    """The pegasus-log arguments of a service: entrypoint override, then command."""
    entrypoint = service.get("entrypoint") or [_console_script()]
    command = service.get("command") or []
    assert isinstance(entrypoint, list) and isinstance(command, list), "use exec-form lists"
    assert entrypoint[0] == _console_script(), f"entrypoint {entrypoint} is not pegasus-log"
    return [str(a) for a in [*entrypoint[1:], *command]]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("build_parser() has no subcommands")


def _option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


@cache
def _nodes(command: str) -> list[tuple[str, str, int]]:
    """(service, host, port) of each pegasus server running `command`, by port."""
    nodes = []
    for name, service in _pegasus_services().items():
        argv = _argv(service)
        if argv[0] == command:
            nodes.append((name, _option(argv, "--host"), int(_option(argv, "--port"))))
    return sorted(nodes, key=lambda n: n[2])


def _meta_list() -> list[str]:
    return [f"{host}:{port}" for _, host, port in _nodes("meta")]


def _service_by_image(prefix: str) -> str:
    names = [n for n, s in _services().items() if str(s.get("image", "")).startswith(prefix)]
    assert len(names) == 1, f"expected one service running image {prefix}*, found {names}"
    return names[0]


def _minio_init(minio: str) -> str:
    """The one-shot service that makes the bucket: it waits for MinIO and runs once."""
    names = [
        n
        for n, s in _services().items()
        if _depends_on(s).get(minio) == "service_healthy" and s.get("restart") == "no"
    ]
    assert len(names) == 1, f"expected one MinIO init service, found {names}"
    return names[0]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


# ---- the Dockerfile ----


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    out = []
    for line in lines:
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _instructions(keyword: str) -> list[str]:
    return [rest for kw, rest in _dockerfile() if kw == keyword]


@cache
def _console_script() -> str:
    scripts = tomllib.loads(PYPROJECT.read_text())["project"]["scripts"]
    entrypoint = json.loads(_instructions("ENTRYPOINT")[-1])
    assert isinstance(entrypoint, list) and len(entrypoint) == 1, "exec form, one program"
    assert entrypoint[0] in scripts, f"{entrypoint[0]} is not a [project.scripts] entry"
    assert scripts[entrypoint[0]] == "pegasus_log.shell.main:main"
    return str(entrypoint[0])


# ---- variables ----


def test_every_variable_has_one_default() -> None:
    defaults: dict[str, set[str]] = {}
    for text in _strings(_raw()):
        bare = re.sub(_TOKEN, "", text)
        assert "$" not in bare, f"{text!r}: write ${{NAME:-default}}, or $$ for the container"
        for m in _TOKEN.finditer(text):
            if m.group("name"):
                assert m.group("op") == ":-", f"{text!r}: give ${{NAME:-default}}"
                defaults.setdefault(m.group("name"), set()).add(m.group("default"))
    assert defaults, "the cluster is configured through variables"
    for name, values in defaults.items():
        assert len(values) == 1, f"{name} has different defaults: {sorted(values)}"
        assert values != {""}, f"{name} has an empty default"


def test_every_variable_is_documented() -> None:
    doc = DEPLOY_DOC.read_text()
    names = {m.group("name") for t in _strings(_raw()) for m in _TOKEN.finditer(t)}
    for name in sorted((names - {None}) | set(FEATURE_VARIABLES)):
        assert f"`{name}`" in doc, f"{name} is not described in docs/deploy.md"


def test_container_side_variables_are_set() -> None:
    for name, service in _raw()["services"].items():
        env = _environment(service)
        for text in _strings(service):
            for var in _CONTAINER_VARIABLE.findall(text):
                assert var in env, f"{name} uses $${var} but does not set it"


def test_mounted_scripts_get_their_variables() -> None:
    for name, service in _services().items():
        env = _environment(service)
        for source, _ in _volume_mounts(service):
            path = (COMPOSE.parent / source).resolve()
            if _is_bind(source) and path.suffix == ".sh":
                required = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?\}", path.read_text())
                assert required, f"{source}: declare the variables it needs as ${{NAME:?}}"
                missing = sorted(set(required) - set(env))
                assert not missing, f"{name} runs {source} without {missing}"


# ---- pegasus command lines ----


def test_pegasus_commands_parse() -> None:
    subparsers = _subparsers()
    assert _pegasus_services(), "no service builds pegasus-log"
    for name, service in _pegasus_services().items():
        argv = _argv(service)
        assert argv and argv[0] in subparsers, f"{name}: {argv[:1]} is not a subcommand"
        known = {s for a in subparsers[argv[0]]._actions for s in a.option_strings}
        for arg in argv[1:]:
            if arg.startswith("-"):
                assert arg in known, f"{name}: `{argv[0]}` has no flag {arg}"
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: pegasus-log {' '.join(argv)} does not parse")


def test_pegasus_services_share_one_image() -> None:
    images = {s.get("image") for s in _pegasus_services().values()}
    builds = {json.dumps(s["build"], sort_keys=True) for s in _pegasus_services().values()}
    assert len(images) == 1 and None not in images, images
    assert builds == {json.dumps({"context": "."})}, builds


def test_counts_and_ports_follow_the_onebox() -> None:
    onebox = _subparsers()["onebox"]
    metas, replicas = onebox.get_default("metas"), onebox.get_default("replicas")
    meta_ports = [port for _, _, port in _nodes("meta")]
    replica_ports = [port for _, _, port in _nodes("replica")]
    expected = [DEFAULT_META_PORT + i for i in range(metas)]
    assert meta_ports == expected, f"meta ports {meta_ports}, the onebox's are {expected}"
    expected = [DEFAULT_REPLICA_PORT + i for i in range(replicas)]
    assert replica_ports == expected, f"replica ports {replica_ports}, the onebox's {expected}"


def test_metas_are_zookeeper_backed() -> None:
    for name, service in _pegasus_services().items():
        argv = _argv(service)
        if argv[0] == "meta":
            assert "--static" not in argv, f"{name} runs a static meta"
            assert "--zookeeper" in argv and "--cluster" in argv, name


def test_each_server_binds_its_fixed_address() -> None:
    networks = _compose()["networks"]
    seen: set[str] = set()
    for name, host, port in _nodes("meta") + _nodes("replica"):
        service = _services()[name]
        (net, spec), *others = _networks(service).items()
        assert not others, f"{name}: one network, so one address"
        assert spec.get("ipv4_address") == host, f"{name}: --host {host} is not its address"
        ipam = networks[net]["ipam"]["config"][0]
        address = ipaddress.IPv4Address(host)
        assert address in ipaddress.IPv4Network(ipam["subnet"]), f"{name}: {host} off subnet"
        dynamic = ipaddress.IPv4Network(ipam["ip_range"])
        assert address not in dynamic, f"{name}: {host} is in the range Docker hands out"
        assert host not in seen, f"{name}: {host} is used twice"
        seen.add(host)
        probe = [str(x) for x in service["healthcheck"]["test"][-2:]]
        assert probe == [host, str(port)], f"{name}: the healthcheck probes {probe}"


def test_replicas_and_shell_name_exactly_the_metas() -> None:
    metas = _meta_list()
    clients = [n for n, s in _pegasus_services().items() if _argv(s)[0] in ("replica", "shell")]
    assert len(clients) > len(_nodes("replica")), "a shell service reaches the cluster too"
    for name in clients:
        given = _option(_argv(_pegasus_services()[name]), "--meta").split(",")
        assert given == metas, f"{name}: --meta {given}, the metas are {metas}"
        deps = _depends_on(_services()[name])
        for meta, _, _ in _nodes("meta"):
            assert deps.get(meta) == "service_healthy", f"{name} must wait for {meta}"


def test_replica_data_lives_on_its_own_named_volume() -> None:
    volumes: set[str] = set()
    for name, _, _ in _nodes("replica"):
        service = _services()[name]
        data_dir = _option(_argv(service), "--data-dir")
        sources = [src for src, target in _volume_mounts(service) if target == data_dir]
        assert len(sources) == 1 and not _is_bind(sources[0]), f"{name}: {data_dir} unmounted"
        assert sources[0] not in volumes, f"{name} shares volume {sources[0]}"
        volumes.add(sources[0])


def test_zookeeper_address_is_the_zookeeper_service() -> None:
    zookeeper = _service_by_image("zookeeper:3.8")
    port = int(_environment(_services()[zookeeper]).get("ZOO_PORT", ZOOKEEPER_CLIENT_PORT))
    for name, _, _ in _nodes("meta"):
        service = _services()[name]
        for address in _option(_argv(service), "--zookeeper").split(","):
            assert _host_port(address) == (zookeeper, port), f"{name}: --zookeeper {address}"
        assert _depends_on(service).get(zookeeper) == "service_healthy", name


# ---- the services duplication and backup will use ----


def test_kafka_runs_kraft_without_zookeeper() -> None:
    env = _environment(_services()[_service_by_image("apache/kafka:")])
    assert "controller" in env["KAFKA_PROCESS_ROLES"].split(",")
    assert not any(key.startswith("KAFKA_ZOOKEEPER") for key in env)
    node_id = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{node_id}@")


def test_replicas_get_kafka_and_s3_settings() -> None:
    kafka = _service_by_image("apache/kafka:")
    minio = _service_by_image("minio/minio:")
    advertised = _environment(_services()[kafka])["KAFKA_ADVERTISED_LISTENERS"].split(",")
    listeners = {_host_port(a.partition("://")[2]) for a in advertised}
    init = _minio_init(minio)
    init_env = _environment(_services()[init])
    for name, _, _ in _nodes("replica"):
        service = _services()[name]
        env = _environment(service)
        missing = [v for v in FEATURE_VARIABLES if v not in env]
        assert not missing, f"{name} lacks {missing}"
        assert _host_port(env["PEGASUS_LOG_KAFKA_BOOTSTRAP"]) in listeners, name
        assert env["PEGASUS_LOG_S3_ENDPOINT"] == f"http://{minio}:{MINIO_API_PORT}", name
        for var in ("PEGASUS_LOG_S3_ACCESS_KEY", "PEGASUS_LOG_S3_SECRET_KEY"):
            assert env[var] == init_env[var], f"{name}: {var} is not the user minio-init makes"
        assert env["PEGASUS_LOG_S3_BUCKET"] == init_env["PEGASUS_LOG_S3_BUCKET"], name
        deps = _depends_on(service)
        assert deps.get(kafka) == "service_healthy", name
        assert deps.get(init) == "service_completed_successfully", name


# ---- the file's own references ----


def test_depends_on_names_services_without_cycles() -> None:
    services = _services()
    for name, service in services.items():
        for dep, condition in _depends_on(service).items():
            assert dep in services and dep != name, f"{name} depends on unknown {dep}"
            assert condition in DEPENDENCY_CONDITIONS, f"{name}: condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits on {dep}'s healthcheck"
            if condition == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} must run once"
    started: set[str] = set()
    while len(started) < len(services):
        ready = {n for n, s in services.items() if set(_depends_on(s)) <= started} - started
        assert ready, f"depends_on has a cycle among {sorted(set(services) - started)}"
        started |= ready


def test_servers_have_healthchecks_and_pinned_images() -> None:
    for name, service in _services().items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, f"{name} has no healthcheck"
        image = str(service.get("image", ""))
        if name not in _pegasus_services():
            tag = image.rpartition(":")[2] if ":" in image else ""
            assert tag and tag != "latest", f"{name}: pin a version of {image}"


def test_volumes_are_declared_and_used() -> None:
    declared = set(_compose().get("volumes") or {})
    used: set[str] = set()
    for name, service in _services().items():
        for source, _ in _volume_mounts(service):
            if _is_bind(source):
                assert (COMPOSE.parent / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert declared == used, f"declared but unused: {sorted(declared - used)}"


def test_networks_are_declared() -> None:
    declared = set(_compose()["networks"])
    for name, service in _services().items():
        nets = set(_networks(service))
        assert nets and nets <= declared, f"{name} joins {sorted(nets - declared)}"


# ---- the image ----


def test_dockerfile_runs_the_console_script_as_an_unprivileged_user() -> None:
    assert _instructions("FROM") == ["python:3.11-slim"]
    assert len(_instructions("ENTRYPOINT")) == 1
    assert _console_script() == "pegasus-log"
    order = [kw for kw, _ in _dockerfile()]
    users = _instructions("USER")
    assert users and users[-1] not in ("root", "0"), f"runs as {users[-1:]}"
    assert order.index("USER") < order.index("ENTRYPOINT")
    assert not any(kw == "RUN" for kw in order[order.index("USER") :]), "RUN after USER"


def test_dockerfile_installs_the_source_tree() -> None:
    copied: list[str] = []
    for args in _instructions("COPY"):
        *sources, _dest = args.split()
        copied += [s for s in sources if not s.startswith("--")]
    readme = tomllib.loads(PYPROJECT.read_text())["project"]["readme"]
    assert {"pyproject.toml", readme, "pegasus_log"} <= set(copied), copied
    assert any(re.search(r"\bpip install\b", run) for run in _instructions("RUN"))
    ignore = DOCKERIGNORE.read_text().splitlines()
    assert "*" in ignore, ".dockerignore starts from an empty context and lets files in"
    for source in copied:
        assert f"!{source}" in ignore, f".dockerignore leaves out {source}"
