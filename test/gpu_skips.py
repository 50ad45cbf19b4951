"""The one skip condition for tests that need TensorRT on a CUDA GPU (none on CI machines)."""
from __future__ import annotations

import pytest
import torch


def tensorrt_ready() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


needs_tensorrt = pytest.mark.skipif(not tensorrt_ready(),
                                    reason="needs the tensorrt package and a CUDA GPU")
