"""Explanations of cascade decisions: integrated gradients per sensor against a healthy
background, temporal attention, modality gate weights and bias, Grad-CAM on any CNN, a Stage 1
counterfactual, the Explainer that assembles them and an asynchronous runner."""
