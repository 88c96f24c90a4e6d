"""Synthetic daily use forecast by statsmodels (PyPI), for refill-core's `statsmodels` test.

Prints one JSON object: for each seeded series (steady, weekly, doubling, intermittent, lumpy
use), its first 120 days (what both forecasts learn from), the 30 days after (what they are
scored on), statsmodels' simple exponential smoothing with its own optimiser forecasting those
30 days, and its one-step forecasts with a fixed constant and a known start (which Refill's must
equal exactly).
"""

import json
import sys
import warnings

import numpy as np
from statsmodels.tsa.holtwinters import SimpleExpSmoothing

TRAIN, HORIZON, PER_CLASS = 120, 30, 25
FIXED_ALPHA = 0.2


def series(kind, rng):
    rate = 1000.0 / rng.uniform(10, 40)
    days = np.arange(TRAIN + HORIZON)
    noise = lambda cv: np.maximum(0.0, 1.0 + cv * rng.standard_normal(days.size))
    if kind == "steady":
        y = rate * noise(0.2)
    elif kind == "weekly":
        y = rate * np.where(days % 7 >= 5, 1.8, 0.68) * noise(0.15)
    elif kind == "doubling":
        y = rate * np.where(days >= TRAIN - 20, 2.0, 1.0) * noise(0.2)
    elif kind == "intermittent":
        y = np.where(rng.uniform(size=days.size) < 0.3, rate / 0.3 * noise(0.3), 0.0)
    elif kind == "lumpy":
        sizes = np.exp(0.9 * rng.standard_normal(days.size)) / np.exp(0.405)
        y = np.where(rng.uniform(size=days.size) < 0.25, rate / 0.25 * sizes, 0.0)
    else:
        raise ValueError(kind)
    return rate, y


def main():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(2026)
    out = []
    for kind in ["steady", "weekly", "doubling", "intermittent", "lumpy"]:
        for _ in range(PER_CLASS):
            rate, y = series(kind, rng)
            train, test = y[:TRAIN], y[TRAIN:]
            prior = rate * rng.uniform(0.67, 1.5)
            fitted = SimpleExpSmoothing(train, initialization_method="estimated").fit()
            fixed = SimpleExpSmoothing(
                train, initialization_method="known", initial_level=prior
            ).fit(smoothing_level=FIXED_ALPHA, optimized=False)
            out.append(
                {
                    "kind": kind,
                    "prior": prior,
                    "train": train.tolist(),
                    "test": test.tolist(),
                    "ses_forecast": float(np.sum(fitted.forecast(HORIZON))),
                    "ses_alpha": float(fitted.params["smoothing_level"]),
                    "fixed_alpha": FIXED_ALPHA,
                    "fixed_one_step": np.asarray(fixed.fittedvalues).tolist(),
                }
            )
    json.dump({"series": out}, sys.stdout)


if __name__ == "__main__":
    main()
