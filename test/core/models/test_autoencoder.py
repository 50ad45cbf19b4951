import torch

from pm_monitor.core.models.autoencoder import FeatureAutoencoder, reconstruction_error


def test_reconstruction_has_input_shape():
    model = FeatureAutoencoder(n_features=10)
    assert model(torch.randn(3, 10)).shape == (3, 10)


def test_error_is_the_mean_over_present_features_only():
    torch.manual_seed(0)
    model = FeatureAutoencoder(n_features=4).eval()
    x = torch.randn(2, 4)
    present = torch.tensor([[True, True, False, False], [False, False, False, False]])
    with torch.no_grad():
        err = reconstruction_error(model, x, present)
        manual = ((model(x) - x)[0, :2] ** 2).mean()
    torch.testing.assert_close(err[0], manual)
    assert err[1] == 0.0  # nothing measured: no evidence of an anomaly, and no division by 0
