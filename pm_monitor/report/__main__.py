"""python -m pm_monitor.report <recording or demo output dir> --out DIR  (HTML + PNG)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pm_monitor.core.recording.mcap_bag import RecordingError
from pm_monitor.report import figures
from pm_monitor.report.attributions import shapley_figure
from pm_monitor.report.html import write_html
from pm_monitor.report.run_data import RunData, load_run


def build_report(run: RunData, out: Path, title: str = "pm_monitor run report") -> Path:
    """Write timeline.png, importance.png, heatmaps.png (when there is something to show)
    and index.html into `out`; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    images = {
        "timeline": figures.timeline(run, out / "timeline.png"),
        "importance": figures.importance(run, out / "importance.png"),
        "shapley": shapley_figure(run, out / "shapley.png"),
        "heatmaps": figures.heatmap_thumbnails(run, out / "heatmaps.png"),
    }
    return write_html(run, out, images, title)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pm_monitor.report",
                                     description="Report (HTML + PNG) of a monitor run.")
    parser.add_argument("source", type=Path,
                        help="MCAP recording (rosbag2 folder or .mcap file) or a demo "
                             "output dir (uses its recording/ if present)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--title", default="pm_monitor run report")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        run = load_run(args.source)
    except (FileNotFoundError, RecordingError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    page = build_report(run, args.out, args.title)
    print(f"{page} ({len(run.health)} windows, {len(run.alerts)} alert messages, "
          f"{len(run.explanations)} explanations, {len(run.heatmaps)} heatmaps; "
          f"{time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
