"""Depth 2 with d_0 != d_2: the Hessian nullity exceeds the orbit dimension (a correction of
spec 4.3, which states equality from square cases), and the extra null directions are
critical points (weights reading ker Sigma), so the set stays Morse-Bott."""

import numpy as np

import landscape as ls


def test_nullity_exceeds_the_orbit_at_a_non_square_depth_two_origin():
    net = ls.LinearNetwork([4, 4, 3], [3.0, 2.0, 1.0])
    d = ls.fiber_dimension(net, [])
    assert (int(d.orbit_dimension), int(d.hessian_nullity)) == (0, 4)
    # the 4 null directions: W_1 reading the input direction e_4 that Sigma (3 x 4) ignores
    rng = np.random.default_rng(0)
    W1 = np.zeros((4, 4))
    W1[:, 3] = rng.normal(size=4)
    W = [W1, np.zeros((3, 4))]
    assert all(np.linalg.norm(g) == 0.0 for g in net.gradient(W))  # a critical point off the (trivial) orbit
    assert np.isclose(float(net.loss(W)), 0.5 * (9 + 4 + 1))
    dims = ls.manifold_dimensions(net, ls.representative(net, []))
    assert dims.critical == 4 and dims.centre == 0
