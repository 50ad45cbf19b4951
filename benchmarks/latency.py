"""Latency of the cascade per stage and end to end, per inference backend, plus batched throughput.

Feeds the simulated rig (outer-race fault growing from healthy to failed) through the monitor's
pure data path (MonitorPipeline: decode -> synchronise -> features -> Stage 1 + anomaly ->
gate -> Stage 2 + RUL -> alert decision), one pipeline per backend fed the same messages in
alternating order, and prints p50 / p99 of:
- each stage (the cascade's own timings), the Stage 1 path (features + Stage 1 + anomaly) of
  every window, the full cascade of the windows where Stage 2 ran, the explanation (integrated
  gradients, torch on every backend: not hot path);
- end to end: from handing the message that completes a window (its last sample or frame) to
  the pipeline, to the alert decision being returned, i.e. ready to publish (ROS serialisation
  and transport are not included: this is the monitor's own compute).
Then each model alone at batch sizes 1 / 8 / 32 (windows per second: several assets or a
backlog at once), and ONNX Runtime / torch thread counts.

python benchmarks/latency.py [--duration 120] [--backends torch,onnxruntime] [--out results/latency]
Writes latency.json, latency.md and latency.png under --out. Run it on an otherwise idle machine:
the numbers are wall-clock times and other processes on the same cores show up in p99.
"""
from __future__ import annotations

import os

# One BLAS / OpenMP thread, set before numpy and torch create their pools: on this shared
# 2-core machine a second thread made numpy's least squares (the RUL fit) up to 75x slower at
# p50 under heavy load and 8x at p99 under moderate load, like torch's OpenMP (see the thread
# study). Override from the shell to compare.
BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _name in BLAS_ENV:
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pm_monitor.core.alarms import AlarmManager  # noqa: E402
from pm_monitor.core.explain.explainer import Explainer  # noqa: E402
from pm_monitor.core.imaging.codec import encode, from_celsius  # noqa: E402
from pm_monitor.core.inference import (  # noqa: E402
    InferenceConfig,
    NetworkSet,
    cascade_specs,
    export_onnx,
    rig_network_set,
)
from pm_monitor.core.inference.cascade_models import cascade_torch_models  # noqa: E402
from pm_monitor.core.inference.runners import OnnxRuntimeRunner  # noqa: E402
from pm_monitor.core.model_set.rig import rig_cascade, shipped_rig_rul  # noqa: E402
from pm_monitor.core.models.bundle import load_bundle  # noqa: E402
from pm_monitor.core.pipeline import MonitorPipeline, monitor_assembler  # noqa: E402
from pm_monitor.sim import (  # noqa: E402
    FaultSchedule,
    RigConfig,
    RigSimulator,
    ScheduledFault,
)
from pm_monitor.sim.streaming import RigClock  # noqa: E402
from pm_monitor.training.rig_model_inputs import collect_rig_model_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RIG_DIR = ROOT / "models" / "rig_baseline"
CHANNELS = {"accel": ["x", "y", "z"], "mic": ["mic"]}
STAGES = ("features", "stage1", "anomaly", "stage1_path", "stage2", "rul", "total",
          "total_with_stage2", "explanation", "end_to_end", "end_to_end_gate_closed",
          "end_to_end_with_stage2", "end_to_end_cpu", "end_to_end_gate_closed_cpu",
          "end_to_end_with_stage2_cpu")
# 2-core CPU, ONNX Runtime. The Stage 1 path is also judged end to end on windows whose gate
# stayed closed (decode + synchronise + features + Stage 1 + anomaly), wall and CPU time.
BARS_MS = {"stage1_path": 10.0, "end_to_end_gate_closed": 10.0,
           "end_to_end_gate_closed_cpu": 10.0, "total_with_stage2": 60.0,
           "end_to_end_with_stage2": 60.0, "end_to_end_with_stage2_cpu": 60.0}
WARMUP_WINDOWS = 5
BATCH_SIZES = (1, 8, 32)
MODEL_REPEATS = 200


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    array = np.asarray(values)
    return {"n": int(array.size), "p50": float(np.percentile(array, 50)),
            "p99": float(np.percentile(array, 99)), "max": float(array.max())}


def run_pipelines(bundle, models: dict[str, NetworkSet], duration_s: float,
                  explain_every: int) -> dict[str, dict[str, list[float]]]:
    """One pass of the rig, every message handed to one MonitorPipeline per backend in turn
    (the order alternates per message), so load from other processes hits all backends alike.
    Returns per backend the per-window latencies in ms."""
    fault = ScheduledFault("outer_race", "de_bearing", 0.1 * duration_s, 0.85 * duration_s, 2.0)
    clock = RigClock(RigSimulator(RigConfig(), FaultSchedule((fault,)), seed=11), 10**18,
                     chunk_s=0.02, camera_hz=30.0, thermal_hz=9.0)
    lanes = {}
    explainer = Explainer.from_bundle(bundle)  # explanations run on torch for every backend
    for backend, backend_models in models.items():
        # with the shipped rig model set's RUL stage, as the monitor runs it
        cascade = rig_cascade(bundle, backend_models, rul=shipped_rig_rul(RIG_DIR))
        pipeline = MonitorPipeline(monitor_assembler(bundle.window_s, bundle.hop_s, 0.1, 2.0),
                                   cascade, AlarmManager("rig_1"))
        lanes[backend] = (cascade, pipeline, {stage: [] for stage in STAGES}, [0])
    order = list(lanes)
    steps = np.arange(0.02, duration_s + 1e-9, 0.02)
    for t in tqdm(steps, desc="rig -> pipelines", leave=False):
        for item in clock.advance_to(float(t)):
            # Encoding stands for the sensor driver: outside the timed part.
            if item.kind in CHANNELS:
                method, args = "on_chunk", (item.kind, item.stamp_ns, item.sample_rate,
                                            CHANNELS[item.kind], item.first_sample_index,
                                            item.data.reshape(-1))
            elif item.kind == "thermal":
                method, args = "on_image", ("thermal", item.stamp_ns, "thermal_optical",
                                            encode(from_celsius(item.data), "mono16"))
            elif item.kind == "camera":
                method, args = "on_image", ("camera", item.stamp_ns, "camera_optical",
                                            encode(item.data, "rgb8"))
            else:
                continue
            order.reverse()
            for backend in order:
                cascade, pipeline, samples, windows = lanes[backend]
                start, start_cpu = time.perf_counter(), time.thread_time()
                outputs = getattr(pipeline, method)(*args)
                elapsed_ms = (time.perf_counter() - start) * 1e3
                # CPU time of this thread: what the work costs without waiting for the core
                # (all inference runs on this thread: 1 torch / ORT / BLAS thread).
                cpu_ms = (time.thread_time() - start_cpu) * 1e3
                for output in outputs:
                    # as the node: the RUL stage after the window's decision is out (not in
                    # end to end); one estimate per update period of the stage (1 s on the rig)
                    begun = time.perf_counter()
                    estimate = pipeline.observe_rul(output)
                    rul_ms = (time.perf_counter() - begun) * 1e3
                    windows[0] += 1
                    if windows[0] <= WARMUP_WINDOWS:
                        continue
                    _record(samples, output.result, elapsed_ms / len(outputs),
                            cpu_ms / len(outputs))
                    if estimate is not None:
                        samples["rul"].append(rul_ms)
                    if explain_every and windows[0] % explain_every == 0:
                        begun = time.perf_counter()
                        explainer.explain(output.result)
                        samples["explanation"].append((time.perf_counter() - begun) * 1e3)
    return {backend: lane[2] for backend, lane in lanes.items()}


def _record(samples: dict[str, list[float]], result, end_to_end_ms: float,
            end_to_end_cpu_ms: float) -> None:
    timing = result.timings_ms
    for stage in ("features", "stage1", "anomaly", "total"):
        samples[stage].append(timing[stage])
    samples["stage1_path"].append(timing["features"] + timing["stage1"] + timing["anomaly"])
    samples["end_to_end"].append(end_to_end_ms)
    samples["end_to_end_cpu"].append(end_to_end_cpu_ms)
    if result.stage2_ran:
        samples["stage2"].append(timing["stage2"])
        samples["total_with_stage2"].append(timing["total"])
        samples["end_to_end_with_stage2"].append(end_to_end_ms)
        samples["end_to_end_with_stage2_cpu"].append(end_to_end_cpu_ms)
    else:
        samples["end_to_end_gate_closed"].append(end_to_end_ms)
        samples["end_to_end_gate_closed_cpu"].append(end_to_end_cpu_ms)


def time_call(fn, repeats: int) -> list[float]:
    for _ in range(3):
        fn()
    laps = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        laps.append((time.perf_counter() - start) * 1e3)
    return laps


def batched_throughput(models: NetworkSet, real, repeats: int) -> dict[str, dict]:
    """Per model and batch size: p50 / p99 ms per batch and windows per second."""
    table: dict[str, dict] = {}
    for model in ("stage1", "anomaly", "thermal"):
        for batch in BATCH_SIZES:
            rows = np.arange(batch) % len(real)
            inputs = real.model_inputs(model, rows)
            laps = time_call(lambda m=model, x=inputs: models.run(m, x),
                             max(20, repeats // batch))
            stats = percentiles(laps)
            stats["windows_per_s"] = batch / (statistics.median(laps) / 1e3)
            table[f"{model}@{batch}"] = stats
    return table


def thread_study(bundle, real, cache_dir: Path, repeats: int) -> dict[str, dict]:
    """Stage 1 and thermal at batch 1 and 32 with 1 and 2 threads, torch and ONNX Runtime."""
    results: dict[str, dict] = {}
    torch_models = rig_network_set(bundle)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for model in ("stage1", "thermal"):
            spec = cascade_specs(bundle)[model]
            exported = export_onnx(spec, cascade_torch_models(bundle)[model], cache_dir)
            ort_runner = OnnxRuntimeRunner(spec, exported.path, intra_op_threads=threads)
            for batch in (1, 32):
                inputs = real.model_inputs(model, np.arange(batch) % len(real))
                n = max(20, repeats // batch)
                results[f"torch {threads} thread(s) {model}@{batch}"] = percentiles(
                    time_call(lambda m=model, x=inputs: torch_models.run(m, x), n))
                results[f"onnxruntime {threads} thread(s) {model}@{batch}"] = percentiles(
                    time_call(lambda r=ort_runner, x=inputs: r.run(x), n))
    torch.set_num_threads(1)
    return results


# Times the RUL estimate (core/rul: prior + damage Kalman filter, numpy / scipy / filterpy) in
# a fresh process, since BLAS threads are fixed when numpy loads: the shipped rig RUL model, 240
# snapshots of slowly rising indicators, 100 estimates.
BLAS_SNIPPET = """
import json, sys, time
from pathlib import Path
import numpy as np
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel, PrognosisTracker
model = PrognosisModel.load(Path(sys.argv[1]).parent / "rul_rig" / "rul_prognosis.json")
tracker = PrognosisTracker(model, OperatingCondition())
level = np.full(len(model.indicator_names), 0.05)
for i in range(240):
    tracker.update(1.0 * i, level * np.exp(i / 120), None)
laps = []
for _ in range(100):
    start = time.perf_counter()
    tracker.estimate()
    laps.append((time.perf_counter() - start) * 1e3)
print(json.dumps(laps))
"""


def blas_study(bundle_dir: Path) -> dict[str, dict]:
    """RUL estimate with 1 and 2 OpenBLAS threads (each in its own process)."""
    results = {}
    for threads in (1, 2):
        env = dict(os.environ, PYTHONPATH=str(ROOT), **{name: str(threads) for name in BLAS_ENV})
        done = subprocess.run([sys.executable, "-c", BLAS_SNIPPET, str(bundle_dir)], env=env,
                              capture_output=True, text=True, check=True, timeout=600)
        laps = json.loads(done.stdout.strip().splitlines()[-1])
        results[f"numpy/OpenBLAS {threads} thread(s) rul_estimate"] = percentiles(laps)
    return results


def markdown(report: dict) -> str:
    lines = [f"# Cascade latency ({report['machine']})", "",
             f"Command: `{report['command']}`  ", f"Wall time: {report['wall_s']:.0f} s; load "
             f"average before / after: {report['load_before']} / {report['load_after']}  ",
             f"Threads: torch {report['torch_threads']}, ONNX Runtime intra-op "
             f"{report['ort_threads']}, BLAS/OpenMP env {report['blas_env']}", "",
             "Wall-clock rows include waiting for a core (other processes share the 2 "
             "cores); `_cpu` rows are this thread's CPU time for the same calls.", "",
             "## Per stage and end to end (ms, one window at a time)", "",
             "| stage | " + " | ".join(f"{b} p50 | {b} p99" for b in report["backends"]) + " |",
             "|---|" + "---|---|" * len(report["backends"])]
    for stage in STAGES:
        cells = []
        for backend in report["backends"]:
            s = report["stages"][backend][stage]
            cells += [f"{s['p50']:.2f}", f"{s['p99']:.2f}"] if s["n"] else ["-", "-"]
        counts = "/".join(str(report["stages"][b][stage]["n"]) for b in report["backends"])
        lines.append(f"| {stage} (n={counts}) | " + " | ".join(cells) + " |")
    lines += ["", "Bars (2-core CPU, ONNX Runtime): " + ", ".join(
        f"{k} p99 <= {v:.0f} ms" for k, v in BARS_MS.items()), ""]
    for backend in report["backends"]:
        verdicts = ", ".join(
            f"{stage} p99 {report['stages'][backend][stage]['p99']:.2f} ms "
            f"({'meets' if report['stages'][backend][stage]['p99'] <= bar else 'MISSES'})"
            for stage, bar in BARS_MS.items() if report["stages"][backend][stage]["n"])
        lines.append(f"- {backend}: {verdicts}")
    lines += ["", "## Each model alone, batched (ms per batch; windows per second)", "",
              "| model@batch | " + " | ".join(f"{b} p50 | {b} p99 | {b} win/s"
                                           for b in report["backends"]) + " |",
              "|---|" + "---|---|---|" * len(report["backends"])]
    for key in report["batched"][report["backends"][0]]:
        cells = []
        for backend in report["backends"]:
            s = report["batched"][backend][key]
            cells += [f"{s['p50']:.3f}", f"{s['p99']:.3f}", f"{s['windows_per_s']:.0f}"]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    if report.get("threads"):
        lines += ["", "## Threads (ms per batch, p50 / p99)", "", "| configuration | p50 | p99 |",
                  "|---|---|---|"]
        for key, s in report["threads"].items():
            lines.append(f"| {key} | {s['p50']:.3f} | {s['p99']:.3f} |")
    lines.append("")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [s for s in STAGES if s != "explanation"]
    palette = [("#9ecae1", "#08519c"), ("#a1d99b", "#006d2c"), ("#fdae6b", "#a63603")]
    fig, ax = plt.subplots(figsize=(11, 7))
    height = 0.8 / (2 * len(report["backends"]))
    y = np.arange(len(stages))
    for i, backend in enumerate(report["backends"]):
        for j, quantile in enumerate(("p50", "p99")):
            values = [report["stages"][backend][s].get(quantile, 0.0) for s in stages]
            offset = (2 * i + j) * height
            ax.barh(y + offset, values, height, label=f"{backend} {quantile}",
                    color=palette[i % len(palette)][j])
    for stage, bar in BARS_MS.items():
        k = stages.index(stage)
        ax.plot([bar, bar], [k - 0.1, k + 0.9], "k--", lw=1.2)
        ax.annotate(f"bar {bar:.0f} ms", (bar * 1.05, k + 0.05), fontsize=8, ha="left")
    ax.set_yticks(y + 0.4 - height / 2)
    ax.set_yticklabels(stages)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("latency per window, ms (log scale); *_cpu rows: CPU time of the thread")
    ax.set_title(f"Cascade latency per stage, {report['machine']}, "
                 f"load average {report['load_before'][0]}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0, help="simulated seconds")
    parser.add_argument("--backends", default="torch,onnxruntime")
    parser.add_argument("--explain-every", type=int, default=8,
                        help="explain every n-th window (0: never)")
    parser.add_argument("--repeats", type=int, default=MODEL_REPEATS)
    parser.add_argument("--no-thread-study", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "results" / "latency"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # what the monitor node does; see the thread study for why
    started = time.monotonic()
    load_before = [round(v, 2) for v in os.getloadavg()]
    bundle = load_bundle(RIG_DIR)
    real = collect_rig_model_inputs(bundle)
    cache_dir = Path(tempfile.mkdtemp(prefix="pm_latency_cache_"))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    report: dict = {"machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, {gpu}",
                    "command": "python benchmarks/latency.py " + " ".join(
                        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                        if k not in ("out", "no_thread_study")),
                    "backends": [], "stages": {}, "batched": {}, "selection": {},
                    "torch_threads": 1, "ort_threads": InferenceConfig().ort_threads,
                    "blas_env": {name: os.environ.get(name) for name in BLAS_ENV}}
    models = {}
    for backend in backends:
        config = InferenceConfig(backend=backend, engine_cache_dir=str(cache_dir))
        models[backend] = rig_network_set(bundle, config)
        print(f"== {backend}: {models[backend].summary()}")
        for line in models[backend].report:
            print("   ", line)
        report["backends"].append(backend)
        report["selection"][backend] = {"summary": models[backend].summary(),
                                        "report": models[backend].report}
    samples = run_pipelines(bundle, models, args.duration, args.explain_every)
    for backend in backends:
        report["stages"][backend] = {stage: percentiles(v)
                                     for stage, v in samples[backend].items()}
        report["batched"][backend] = batched_throughput(models[backend], real, args.repeats)
    if not args.no_thread_study:
        report["threads"] = thread_study(bundle, real, cache_dir, args.repeats)
        report["threads"].update(blas_study(ROOT / "models" / "rig_baseline"))
    report["wall_s"] = time.monotonic() - started
    report["load_before"] = load_before
    report["load_after"] = [round(v, 2) for v in os.getloadavg()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    (out / "latency.md").write_text(text)
    plot(report, out / "latency.png")
    print(text)
    print(f"wrote {out / 'latency.json'}, latency.md, latency.png")


if __name__ == "__main__":
    main()
