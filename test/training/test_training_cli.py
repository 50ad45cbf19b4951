"""The train/evaluate entry point: config errors are clear, tasks are dispatched."""
from __future__ import annotations

import sys
import types

import pytest

from pm_monitor.training import cli


def test_dispatches_to_the_task_module(tmp_path, monkeypatch):
    module = types.ModuleType("fake_task")
    module.train = lambda config, out_dir: {"trained": config["name"], "dir": out_dir.name}
    monkeypatch.setitem(sys.modules, "fake_task", module)
    config_path = tmp_path / "demo.yaml"
    config_path.write_text(f"task: fake_task\nresults_dir: {tmp_path / 'out'}\n")
    config = cli.load_config(config_path)
    assert cli.run("train", config) == {"trained": "demo", "dir": "out"}
    assert cli.main(["train", str(config_path)]) == 0
    assert cli.main(["evaluate", str(config_path)]) == 2  # the fake task has no evaluate()


@pytest.mark.parametrize("text", ["[1, 2]", "seed: 3\n", "task: [unclosed"])
def test_bad_configs_name_the_file(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(cli.ConfigError, match=r"bad\.yaml"):
        cli.load_config(path)
