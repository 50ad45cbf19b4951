import torch

from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM


def test_shapes_and_attention_is_a_distribution_over_time():
    torch.manual_seed(0)
    model = HealthStateBiLSTM(n_features=12, hidden_size=16).eval()
    out = model(torch.randn(5, 8, 12))
    assert out.state_logits.shape == (5, 4)
    assert out.fault_logits.shape == (5, 4)
    assert out.attention.shape == (5, 8)
    assert torch.all(out.attention >= 0)
    torch.testing.assert_close(out.attention.sum(dim=1), torch.ones(5))


def test_gradients_reach_the_input():
    model = HealthStateBiLSTM(n_features=6, hidden_size=8).eval()
    x = torch.randn(2, 8, 6, requires_grad=True)
    model(x).state_logits[:, 1].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
