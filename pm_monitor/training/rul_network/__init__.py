"""Paper 002's deep RUL network: offline only (training, the comparison member of
pm_monitor.evaluation.rul_evaluate, the LRP benchmark). The runtime RUL path (core/rul: prior +
onset + condition-based) never loads it.

raster and cwt_features turn one snapshot into network inputs, snapshot bundles both, network
is the model, ensemble wraps members and calibration, targets holds its labels and onset rule,
accelerate exports it to ONNX / TensorRT, relevance explains it (LRP).
"""
