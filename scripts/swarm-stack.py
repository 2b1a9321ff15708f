#!/usr/bin/env python3
# swarm-stack.py -- turns the stack's compose file, as `docker compose config` renders it (every
# ${...} already expanded), into a file `docker stack deploy` takes: the keys Swarm refuses or
# ignores (build, depends_on with conditions, restart, container_name) and the published ports
# (Swarm has no host address for them) are dropped, then the swarm override (docker/swarm.yml:
# placement, replicas, ports, the overlay network) is merged in: mappings key by key, any other
# value replaced. The override's ${NAME} are taken from the environment (NAME unset: an error).
#
# Usage: scripts/swarm-stack.py OVERRIDE < rendered.yml > stack.json
# The rendered file may be JSON (Compose v2: config --format json) or YAML (Compose 1.29; needs
# python3-yaml, which Debian's docker-compose depends on). The output is JSON, which is YAML.
# Exit status: 0 written, 1 a bad input (named), 2 usage.
import json
import os
import re
import sys

DROPPED = ("build", "depends_on", "restart", "container_name", "ports", "links")
MAX_INPUT = 1 << 20  # a compose file is a few kB; anything this big is not one


def load(text, what):
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    try:
        import yaml
    except ImportError:
        sys.exit(f"swarm-stack.py: {what} is YAML and python3-yaml is not installed (apt-get install python3-yaml)")
    return yaml.safe_load(text)


def expand(text, path):
    def one(m):
        name = m.group(1)
        if name not in os.environ:
            sys.exit(f"swarm-stack.py: {path}: ${{{name}}} is not set")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", one, text)


def merge(base, over):
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(base.get(key), dict):
            merge(base[key], val)
        else:
            base[key] = val
    return base


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/swarm-stack.py OVERRIDE < rendered.yml > stack.json")
    path = sys.argv[1]
    rendered = sys.stdin.read(MAX_INPUT + 1)
    if len(rendered) > MAX_INPUT:
        sys.exit(f"swarm-stack.py: the rendered compose file is larger than {MAX_INPUT} bytes")
    try:
        stack = load(rendered, "the rendered compose file")
    except Exception as e:  # a parser's own message names the line
        sys.exit(f"swarm-stack.py: the rendered compose file: {e}")
    if not isinstance(stack, dict) or not isinstance(stack.get("services"), dict):
        sys.exit("swarm-stack.py: the rendered compose file has no services")
    try:
        with open(path, encoding="utf-8") as f:
            over = load(expand(f.read(MAX_INPUT), path), path)
    except OSError as e:
        sys.exit(f"swarm-stack.py: {path}: {e.strerror}")
    except Exception as e:
        sys.exit(f"swarm-stack.py: {path}: {e}")
    if not isinstance(over, dict):
        sys.exit(f"swarm-stack.py: {path}: not a mapping")
    for name, svc in stack["services"].items():
        for key in DROPPED:
            svc.pop(key, None)
        # Compose v2 renders bind mounts with a key the stack file's schema does not have
        for vol in svc.get("volumes", []):
            if isinstance(vol, dict) and isinstance(vol.get("bind"), dict):
                vol["bind"].pop("create_host_path", None)
                if not vol["bind"]:
                    del vol["bind"]
    stack.pop("name", None)  # Compose v2's project name: not a stack file key
    for name in over.get("services", {}):
        if name not in stack["services"]:
            sys.exit(f"swarm-stack.py: {path}: service {name} is not in the compose file")
    stack.pop("version", None)
    out = merge({"version": "3.8", **stack}, over)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
