"""Model sets: what the monitor runs, described on disk by one `model_set.json` per model
directory and loaded by one loader. See docs/sections/model_sets.md.

- contract.py: ModelSet (the Protocol the pipeline and node code against) and CascadeModelSet
  (the generic cascade + the Explainer; both shipped sets are one).
- descriptor.py: the model_set.json format, InputSpec, read_descriptor (validation).
- loader.py: load_model_set(model_dir, ...).
- rig.py, real_data.py: the builders of the two shipped kinds, from shared stage blocks.
"""
from pm_monitor.core.model_set.contract import CascadeModelSet, ModelSet
from pm_monitor.core.model_set.descriptor import (
    DESCRIPTOR_FILE,
    InputSpec,
    ModelSetDescriptor,
    read_descriptor,
)
from pm_monitor.core.model_set.loader import load_model_set

__all__ = ["DESCRIPTOR_FILE", "CascadeModelSet", "InputSpec", "ModelSet", "ModelSetDescriptor",
           "load_model_set", "read_descriptor"]
