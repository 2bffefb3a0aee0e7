"""Cost of the general losses (issue 14): gradient time relative to the quadratic loss, and the classifier.

(a) ``net.gradient(W)`` with each loss of :mod:`landscape.losses` against the quadratic
    (whitened, Sigma-form) loss on the same widths, at width 512 and depth 8 (the
    ``(512, 8)`` case of ``bench_core.py``): ``d_0 = d_1 = ... = d_7 = 512`` and
    ``d_8 = 512`` (squared, raw squared), ``10`` (cross-entropy, 10 classes) or ``1``
    (logistic); the data losses have ``m`` samples (default 2048). The raw squared loss
    works on the correlations ``X X^T / m``, ``Y X^T / m``, so its cost does not grow with
    ``m``; logistic and cross-entropy pay ``P X`` (``d_h x d_0 x m``) per gradient.
    One BLAS thread; best of 7 interleaved repeats; ratios are measured in this run.
(b) ``DeepLinearClassifier`` fit time and training/test accuracy on scikit-learn's digits
    (1,797 samples, 64 pixels, 10 classes; the first 1,200 for training), against
    scikit-learn's ``LogisticRegression`` (lbfgs, same standardised inputs) timed in the
    same process.

Run: ``python benchmarks/bench_losses.py [--m 2048] [--width 512] [--depth 8]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import landscape as ls
from landscape.losses import CrossEntropyLoss, LogisticLoss, RawSquaredLoss


def best_times(fns, repeats=7):
    """Best wall time of each function, the calls interleaved (a load change hits all alike)."""
    for fn in fns:
        fn()
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def part_a(width, depth, m):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(width, m))
    print(f"(a) gradient of L = l(W_h...W_1), width {width}, depth {depth}, m = {m} samples, 1 BLAS thread")
    print(f"{'loss':>14} {'widths':>22} {'quadratic ms':>13} {'loss ms':>9} {'ratio':>7}")
    cases = [("squared", width, None),
             ("raw_squared", width, lambda dh: RawSquaredLoss(X, rng.normal(size=(dh, m)))),
             ("cross_entropy", 10, lambda dh: CrossEntropyLoss(X, rng.integers(0, dh, size=m), n_classes=dh)),
             ("logistic", 1, lambda dh: LogisticLoss(X, np.where(rng.random(m) < 0.5, -1.0, 1.0)))]
    for name, dh, make in cases:
        widths = [width] * depth + [dh]
        quad = ls.LinearNetwork(widths, rng.uniform(0.5, 2.0, size=min(width, dh)))
        W = [rng.normal(size=s) / np.sqrt(s[1]) for s in quad.shapes]
        net = quad if make is None else ls.LinearNetwork(widths, loss=make(dh))
        with threadpool_limits(1):
            t_quad, t_loss = best_times([lambda: quad.gradient(W), lambda: net.gradient(W)])
        shape = f"[{width}]*{depth}+[{dh}]"
        print(f"{name:>14} {shape:>22} {1e3 * t_quad:13.2f} {1e3 * t_loss:9.2f} {t_loss / t_quad:7.2f}")


def part_b():
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
    print("\n(b) digits: 1,200 training samples, 64 pixels, 10 classes (cross-entropy)")
    print(f"{'model':>38} {'fit s':>7} {'ratio':>7} {'train acc':>10} {'test acc':>9} {'status':>14}")
    mu, sd = Xtr.mean(0), np.where(Xtr.std(0) > 0, Xtr.std(0), 1.0)
    t0 = time.perf_counter()
    ref = LogisticRegression(max_iter=5000).fit((Xtr - mu) / sd, ytr)
    t_ref = time.perf_counter() - t0
    print(f"{'sklearn LogisticRegression (lbfgs)':>38} {t_ref:7.2f} {1.0:7.1f} {ref.score((Xtr - mu) / sd, ytr):10.3f} "
          f"{ref.score((Xte - mu) / sd, yte):9.3f} {'-':>14}")
    for hidden, scale in (((16,), 0.1), ((16,), 1e-2), ((32, 32), 0.1)):
        model = ls.DeepLinearClassifier(hidden_widths=hidden, init_scale=scale, random_state=0)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # separable training data: no minimum; the status column says so
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xtr, ytr)
        t_fit = time.perf_counter() - t0
        name = f"DeepLinearClassifier {hidden} scale {scale:g}"
        print(f"{name:>38} {t_fit:7.2f} {t_fit / t_ref:7.1f} {model.score(Xtr, ytr):10.3f} {model.score(Xte, yte):9.3f} "
              f"{model.status_:>14}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=2048)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=8)
    args = parser.parse_args()
    part_a(args.width, args.depth, args.m)
    part_b()


if __name__ == "__main__":
    main()
