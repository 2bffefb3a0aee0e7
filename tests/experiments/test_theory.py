"""The lab's theory: exact escape times of a balanced aligned mode, their asymptotics and fits.

Checked against the closed forms of spec 6.2 (logistic, quadrature), the scalar ODE
integrated by scipy, spec fact 9 and measured escapes of aligned balanced starts, to 1e-6.
"""

import numpy as np
import pytest
from scipy import integrate

from landscape.dynamics import closed_forms
from landscape.errors import LandscapeValueError
from landscape.experiments import theory
from landscape.experiments._measure import escape_times, initial_batch, network_for

CASES = [(h, eps, s) for h in (2, 3, 4, 5) for eps in (0.3, 0.1, 1e-2, 1e-3) for s in (3.0, 1.0) if eps**h < s / 2]


@pytest.mark.parametrize("h, eps, s", CASES)
def test_escape_time_is_the_half_learning_time_of_the_closed_forms(h, eps, s):
    assert theory.escape_time(eps, s, h) == pytest.approx(closed_forms.half_learning_time(eps**h, s, h), rel=1e-10)
    # and balanced_mode (which inverts the quadrature by root finding) gives s / 2 there (where T is not huge:
    # its root finder works in absolute time)
    T = theory.escape_time(eps, s, h)
    if T < 1e5:
        assert closed_forms.balanced_mode(T, eps**h, s, h) == pytest.approx(s / 2, rel=1e-6)


@pytest.mark.parametrize("h, eps, s", [c for c in CASES if c[1] >= 1e-2])
def test_escape_time_solves_the_scalar_mode_ode(h, eps, s):
    """du/dt = h u^{2-2/h} (s - u) from eps^h reaches s/2 at T (scipy DOP853, event)."""
    T = theory.escape_time(eps, s, h)
    ev = lambda t, u: u[0] - s / 2  # noqa: E731
    ev.terminal = True
    sol = integrate.solve_ivp(lambda t, u: h * u ** (2 - 2 / h) * (s - u), (0, 2 * T), [eps**h], method="DOP853",
                              rtol=1e-12, atol=1e-14 * eps**h, events=ev)
    assert sol.t_events[0][0] == pytest.approx(T, rel=1e-6)


def test_spec_fact_9():
    assert [round(theory.escape_time(0.1, 3.0, h), 6) for h in (2, 3, 4)] == [0.950074, 3.136267, 16.614839]


@pytest.mark.parametrize("h", [2, 3, 4, 5])
@pytest.mark.parametrize("s", [3.0, 0.7])
def test_asymptotic_expansion_error_is_of_the_stated_order(h, s):
    """T - (leading + C_h - eps^2/(2 s^2)) is O(eps^4) at h = 2 and O(eps^{h+2}) above (exact T by quadrature)."""
    order = 4 if h == 2 else h + 2
    for eps in (0.05, 0.02):
        exact = closed_forms.half_learning_time(eps**h, s, h)
        err = abs(exact - theory.escape_time_asymptotic(eps, s, h))
        assert err <= 5.0 * eps**order * max(1.0, s ** (-3)) + 1e-12 * exact


@pytest.mark.parametrize("h", [3, 4, 6])
def test_constant_is_the_limit_of_time_minus_leading_term(h):
    s = 2.0
    eps = 1e-2
    exact = closed_forms.half_learning_time(eps**h, s, h)
    assert exact - theory.escape_time_leading(eps, s, h) + eps**2 / (2 * s * s) == pytest.approx(
        theory.escape_time_constant(s, h), abs=1e-7)


@pytest.mark.parametrize("h", [2, 3, 4])
def test_local_slope_is_the_derivative_of_the_exact_time(h):
    s, eps, d = 3.0, 0.05, 1e-5
    if h == 2:
        num = (theory.escape_time(eps * np.exp(-d), s, h) - theory.escape_time(eps * np.exp(d), s, h)) / (2 * d)
    else:
        num = (np.log(theory.escape_time(eps * np.exp(d), s, h)) - np.log(theory.escape_time(eps * np.exp(-d), s, h))) / (2 * d)
    assert theory.local_slope(eps, s, h) == pytest.approx(num, rel=1e-6)
    assert theory.local_slope(1e-6, s, h) == pytest.approx(theory.predicted_slope(s, h), rel=1e-6)


@pytest.mark.parametrize("h", [2, 3, 4])
def test_aligned_balanced_escape_is_measured_to_1e_6(h):
    """The measurement pipeline (compiled dopri5, event on sigma_max(P)) gives the exact time on aligned starts."""
    net = network_for(h, [3.0, 2.0, 1.0])
    for eps in (1e-5, 1e-3, 0.1):
        got = escape_times(net, initial_batch(net, "aligned", eps, [0]), 60 * theory.escape_time(eps, 3.0, h) + 10)
        assert got["status"][0] == "escaped"
        assert got["escape_time"][0] == pytest.approx(theory.escape_time(eps, 3.0, h), rel=1e-6)


def test_fit_slope_recovers_the_exponent_of_the_asymptotic_form():
    eps = np.geomspace(1e-6, 1e-3, 5)
    for b in (-1.0, -2.0, -2.5):
        assert theory.fit_slope(eps, 0.3 * eps**b + 1.7, 4) == pytest.approx(b, abs=1e-7)
    assert theory.fit_slope(eps, 0.5 * np.log(1 / eps) + 2.0, 2) == pytest.approx(0.5, abs=1e-12)
    assert np.isnan(theory.fit_slope(eps[:2], eps[:2] ** -1.0, 3))


def test_ols_slope_interval_covers_at_the_nominal_rate():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 12)
    hits = 0
    for _ in range(400):
        b, lo, hi = theory.ols_slope(x, 2.0 * x + rng.normal(scale=0.3, size=x.size))
        hits += lo <= 2.0 <= hi
    assert 0.92 <= hits / 400 <= 0.98


def test_bad_arguments_are_named():
    with pytest.raises(LandscapeValueError, match="eps must be positive"):
        theory.escape_time(0.0, 3.0, 3)
    with pytest.raises(LandscapeValueError, match="eps must be positive"):
        theory.escape_time(2.0, 3.0, 2)
    with pytest.raises(LandscapeValueError, match="depth"):
        theory.escape_time(0.1, 3.0, 1)


def test_docstring_examples_run():
    import doctest

    from landscape.experiments import theory as mod

    result = doctest.testmod(mod, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


def test_every_public_name_resolves():
    import landscape as ls
    from landscape import experiments

    assert ls.experiments is experiments
    for name in experiments.__all__:
        assert getattr(experiments, name) is not None, name
