"""Explanations: Grad-CAM on Stage 2, integrated gradients and attention on Stage 1."""
