"""DROMARL's pieces: the gradient penalty on hand cases, the VRNN's ELBO on synthetic data."""

from __future__ import annotations

import torch

from learners.dromarl import VRNN, gradient_penalty


def test_gradient_penalty_linear_hand_case() -> None:
    # Q(s) = w . s: grad_s Q = w everywhere, ||w|| = 5 -> penalty (5 - 1)^2 = 16; dP/dw = 2 (5 - 1) w / 5
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    fake = torch.tensor([[0.0, 1.0], [5.0, 5.0]])
    alpha = torch.tensor([[0.3], [0.9]])
    gp = gradient_penalty(lambda s: s @ w, real, fake, alpha, lipschitz=1.0)
    assert torch.isclose(gp, torch.tensor(16.0))
    (g,) = torch.autograd.grad(gp, w)
    assert torch.allclose(g, torch.tensor([4.8, 6.4]))
    # below the bound the one-sided penalty vanishes, the two-sided one does not
    assert gradient_penalty(lambda s: s @ w, real, fake, alpha, lipschitz=6.0).item() == 0.0
    assert torch.isclose(gradient_penalty(lambda s: s @ w, real, fake, alpha, lipschitz=6.0, one_sided=False),
                         torch.tensor(1.0))


def test_gradient_penalty_interpolates() -> None:
    # Q(s) = k s_1^2: at s~ = 0.5 (1, 0) + 0.5 (3, 0) = (2, 0) the gradient is (4k, 0); k = 1: (4 - 1)^2 = 9
    k = torch.tensor(1.0, requires_grad=True)
    gp = gradient_penalty(lambda s: k * s[:, 0] ** 2, torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 0.0]]),
                          torch.tensor([[0.5]]), lipschitz=1.0)
    assert torch.isclose(gp, torch.tensor(9.0))
    (g,) = torch.autograd.grad(gp, k)  # d/dk (4k - 1)^2 = 8 (4k - 1) = 24
    assert torch.isclose(g, torch.tensor(24.0))


def test_vrnn_elbo_increases_on_synthetic_data() -> None:
    gen = torch.Generator().manual_seed(0)
    B, T, X, A = 32, 12, 3, 2
    x = torch.zeros(B, T, X)
    a = torch.randn(B, T, A, generator=gen) * 0.5
    for t in range(1, T):  # AR(1) with action input
        x[:, t] = 0.8 * x[:, t - 1] + 0.3 * a[:, t - 1, :1] + 0.1 * torch.randn(B, X, generator=gen)
    wm = VRNN(X, A, 4, 16, gen)
    opt = torch.optim.Adam(wm.parameters(), lr=1e-2)
    with torch.no_grad():
        first = wm(x, a, gen)["elbo"].item()
    for _ in range(60):
        loss = -wm(x, a, gen)["elbo"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = wm(x, a, gen)["elbo"].item()
        sample, std = wm.predict(torch.zeros(5, 16), gen)
    assert last > first + 10.0
    assert sample.shape == (5, X) and std.shape == (5, X) and bool((std > 0).all())
