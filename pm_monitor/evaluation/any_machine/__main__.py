"""`python -m pm_monitor.evaluation.any_machine`: run the parts, write report.md + summary.json."""
from __future__ import annotations

import argparse
import json

from pm_monitor.evaluation import any_machine
from pm_monitor.evaluation.any_machine.common import OUT
from pm_monitor.evaluation.any_machine.cwru_eval import (
    cwru_lines,
    cwru_section,
    cwru_summary,
    plot_types,
)
from pm_monitor.evaluation.any_machine.femto_eval import femto_lines, femto_section, summarise
from pm_monitor.evaluation.any_machine.mimii_eval import mimii_lines, mimii_section
from pm_monitor.evaluation.any_machine.rig_eval import rig_lines, rig_section

ALL_PARTS = ("femto", "cwru", "mimii", "rig")
SECTION_LINES = {"femto": femto_lines, "cwru": cwru_lines, "rig": rig_lines,
                 "mimii": mimii_lines}


def report(summary: dict) -> str:
    lines = ["# Any machine, day one: evaluation", "",
             "Command: `nice -n 10 python -m pm_monitor.evaluation.any_machine`", ""]
    for key, section_lines in SECTION_LINES.items():
        if key in summary:
            lines += section_lines(summary[key])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=any_machine.__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ALL_PARTS))
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    parts = args.only.split(",")
    if "mimii" in parts:
        summary["mimii"] = mimii_section()
    if "rig" in parts:
        summary["rig"] = rig_section()
    if "cwru" in parts:
        res = cwru_section()
        summary["cwru"] = {"results": res, "summary": cwru_summary(res)}
        plot_types(summary["cwru"]["summary"])
    if "femto" in parts:
        f = femto_section()
        ours = f["ours"]
        f["summary"] = {"lobo": summarise(f["lobo"]),
                        "lobo_level_rise_only": summarise(f["lobo_level_rise_only"]),
                        "lobo_crest_rise_only": summarise(f["lobo_crest_rise_only"]),
                        "ours": summarise(ours),
                        "level_only": summarise(f["level_only"]),
                        "ours_learning": summarise([r for r in ours if r["split"] == "learning"]),
                        "ours_test_full": summarise([r for r in ours if r["split"] == "test_full"]),
                        "reference_rule": {z: summarise(v) for z, v in
                                           f["reference_rule"].items()}}
        summary["femto"] = f
    text = report(summary)
    suffix = "" if set(parts) == set(ALL_PARTS) else "_" + "_".join(parts)  # partial runs
    (OUT / f"report{suffix}.md").write_text(text)
    (OUT / f"summary{suffix}.json").write_text(json.dumps(summary, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
