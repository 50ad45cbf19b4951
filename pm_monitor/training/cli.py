"""`train` and `evaluate` entry points for the real-data models, configured by YAML.

    python -m pm_monitor.training.cli train pm_monitor/training/configs/cwru.yaml
    python -m pm_monitor.training.cli evaluate pm_monitor/training/configs/cwru.yaml

A config names its task module (``task: pm_monitor.training.tasks.cwru``); the module exposes
``train(config: dict, out_dir: Path) -> dict`` and ``evaluate(config: dict, out_dir: Path) -> dict``
(metrics). Results go to ``out_dir`` (``results_dir`` in the config, default
``results/<config name>``) as metrics JSON, a markdown table and PNG plots.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("train", "evaluate")


class ConfigError(ValueError):
    """The training config is unreadable or incomplete; the message names the file."""


def load_config(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("task"), str):
        raise ConfigError(f"{path}: a config is a mapping with a 'task' module name")
    config.setdefault("name", path.stem)
    config.setdefault("results_dir", f"results/{config['name']}")
    config.setdefault("seed", 0)
    return config


def run(command: str, config: dict[str, Any]) -> dict[str, Any]:
    """Import the task module and call its train/evaluate; returns its metrics."""
    try:
        module = importlib.import_module(config["task"])
    except ImportError as exc:
        raise ConfigError(f"task module {config['task']!r} cannot be imported ({exc})") from None
    function = getattr(module, command, None)
    if function is None:
        raise ConfigError(f"task module {config['task']!r} has no {command}()")
    out_dir = Path(config["results_dir"])
    if not out_dir.is_absolute():
        out_dir = REPO_ROOT / out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    return function(config, out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pm_monitor.training.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("config", type=Path, help="YAML config with a 'task' module")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        start = time.perf_counter()
        metrics = run(args.command, config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=1, default=str)[:4000])
    print(f"[{args.command}] {config['name']} done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
