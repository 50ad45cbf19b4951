from pm_monitor.training.run_plan import plan_runs


def test_splits_are_disjoint_in_seeds_and_schedules():
    splits = {name: plan_runs(name) for name in ("train", "val", "test")}
    seeds = [run.seed for runs in splits.values() for run in runs]
    assert len(seeds) == len(set(seeds))
    schedules = {name: {run.schedule for run in runs if run.schedule.faults}
                 for name, runs in splits.items()}
    assert not schedules["test"] & (schedules["train"] | schedules["val"])


def test_every_fault_kind_and_location_is_trained_and_tested():
    for split in ("train", "test"):
        faults = {(f.fault_type, f.location) for run in plan_runs(split)
                  for f in run.schedule.faults}
        assert len(faults) == 6
        assert any(not run.schedule.faults for run in plan_runs(split))


def test_fault_runs_end_after_failure():
    for run in plan_runs("train"):
        for fault in run.schedule.faults:
            assert run.duration_s > fault.failure_s
