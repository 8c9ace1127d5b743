r"""Parameter uncertainty: a Laplace approximation at the calibration optimum, and predictive intervals.

**Why Laplace.** The calibration is a weighted least-squares fit with common random numbers, so
its residuals are smooth in the parameters and a Jacobian costs one objective evaluation per
parameter (13). MCMC would need thousands of evaluations (each ~six virtual trials), a parametric
bootstrap one full refit per replicate; neither fits the budget of a command that runs on a
laptop. The Laplace approximation is exact for a model linear in its parameters with Gaussian
errors and is checked on a synthetic nonlinear problem in the tests
(``tests/trial/test_posterior.py``: it covers the known parameters at about its nominal rate).

**The approximation.** With standardised residuals :math:`r(x)` (targets and the grade-step
prior) in the log-parameters :math:`x = \ln\theta`, the forward-difference Jacobian
:math:`J = \partial r/\partial x` at the optimum :math:`\hat x` and a weak Gaussian prior of sd
:math:`\sigma_0` on each :math:`x_j` (:data:`PRIOR_SD`: a factor of :math:`e` either way, which keeps
directions the targets do not see finite instead of infinite),

.. math::  \Sigma = s^2\,\bigl(J^\top J + \sigma_0^{-2} I\bigr)^{-1},
           \qquad s^2 = \max\Bigl(1, \frac{\operatorname{median}_k r_k(\hat x)^2}{0.455}\Bigr),

the factor :math:`s^2` inflating the covariance when the fit typically misses its targets by more
than their stated sd (model discrepancy; 0.455 is the median of :math:`\chi^2_1`). The median, not
the mean square, so that one target the model cannot reach (a structural misfit, which the
report shows as such) does not widen every other interval until it covers anything. Correlations are
:math:`\Sigma_{ij}/\sqrt{\Sigma_{ii}\Sigma_{jj}}`; a parameter is *weakly identified* when its
posterior sd of :math:`\ln\theta` exceeds :data:`WEAK_SD` (the data leave it uncertain by more than
a factor :math:`e^{0.5}`) or it correlates with another beyond :data:`WEAK_CORRELATION`.

**Predictive intervals.** For a target :math:`k` (delta method): model value
:math:`\pm 1.645\sqrt{g_k^\top\Sigma g_k + sd_k^2}` with :math:`g_k = sd_k J_k` — parameter
uncertainty plus the published trial's own sampling (its sd). For a virtual trial
(:func:`trial_with_uncertainty`): ``draws`` parameter sets :math:`\theta_i \sim N(\hat x, \Sigma)`,
each run with its own seed at the design's size, so the spread of an endpoint over the draws holds
both the parameter uncertainty and the sampling of a trial of that size; the 90 % interval is
the run at the fitted parameters :math:`\pm 1.645\,\sigma` of the draws on a variance-stabilising
scale (:math:`\arcsin\sqrt p` for rates, :math:`\ln` for durations), transformed back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rhytid.errors import TrialError
from rhytid.trial._calibrate import (
    ALL_FREE,
    Target,
    _objective,
    get_free,
    model_values,
    set_free,
)
from rhytid.trial._params import TrialParameters

__all__ = [
    "PRIOR_SD",
    "Z90",
    "Laplace",
    "add_intervals",
    "jacobian",
    "load_posterior",
    "trial_with_uncertainty",
]

Array = NDArray[np.float64]
Z90 = 1.6448536269514722
PRIOR_SD = 1.0
WEAK_SD = 0.5
#: median of a chi-square variable with one degree of freedom
CHI2_1_MEDIAN = 0.454936423119572
WEAK_CORRELATION = 0.9
POSTERIOR_FILE = "posterior.yaml"
_THRESHOLDS = ("threshold_none_mild", "threshold_mild_moderate", "threshold_moderate_severe")


def residuals_at(
    base: TrialParameters, theta: dict[str, float], targets: list[Target], patients: int, seed: int
) -> tuple[Array, dict[str, float]]:
    """Standardised residuals (targets, then the grade-step prior) and the model values at ``theta``."""
    values = model_values(set_free(base, theta), patients, seed)
    return _objective(values, targets), values


def jacobian(
    base: TrialParameters,
    theta: dict[str, float],
    targets: list[Target],
    patients: int,
    seed: int,
    *,
    names: Sequence[str] = ALL_FREE,
    step: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Array, Array, dict[str, float]]:
    r"""Forward-difference Jacobian :math:`\partial r / \partial \ln\theta_j` at ``theta``: returns
    ``(r, J, values)``; ``step`` in :math:`\ln\theta` (common random numbers keep it smooth)."""
    r0, values = residuals_at(base, theta, targets, patients, seed)
    cols = []
    for j, n in enumerate(names):
        moved = dict(theta)
        moved[n] = theta[n] * math.exp(step)
        r1, _ = residuals_at(base, moved, targets, patients, seed)
        cols.append((r1 - r0) / step)
        if progress:
            progress(j + 1, len(names))
    return r0, np.column_stack(cols), values


@dataclass(frozen=True)
class Laplace:
    """A Gaussian posterior of the log-parameters (module docstring)."""

    names: tuple[str, ...]
    theta: dict[str, float]  # the optimum (natural units)
    cov: Array  # covariance of ln(theta)
    scale: float  # the inflation s^2
    prior_sd: float = PRIOR_SD

    @classmethod
    def from_jacobian(
        cls,
        jac: Array,
        residuals: Array,
        theta: dict[str, float],
        names: Sequence[str],
        *,
        prior_sd: float = PRIOR_SD,
        inflate: bool = True,
    ) -> Laplace:
        p = jac.shape[1]
        info = jac.T @ jac + np.eye(p) / prior_sd**2
        s2 = max(1.0, float(np.median(residuals**2)) / CHI2_1_MEDIAN) if inflate else 1.0
        cov = s2 * np.linalg.inv(info)
        return cls(tuple(names), {n: float(theta[n]) for n in names}, (cov + cov.T) / 2, s2, prior_sd)

    @property
    def sd(self) -> Array:
        """Posterior sd of each ln(theta)."""
        return np.sqrt(np.diag(self.cov))

    def correlation(self) -> Array:
        d = self.sd
        return np.asarray(self.cov / np.outer(d, d))

    def interval90(self, name: str) -> tuple[float, float]:
        """The 90 % interval of one parameter (natural units)."""
        j = self.names.index(name)
        h = Z90 * float(self.sd[j])
        return (self.theta[name] * math.exp(-h), self.theta[name] * math.exp(h))

    def weakly_identified(self) -> dict[str, str]:
        """Parameters the data pin down poorly, with the reason (module docstring)."""
        out: dict[str, str] = {}
        corr = self.correlation()
        for j, n in enumerate(self.names):
            why = []
            if self.sd[j] > WEAK_SD:
                why.append(f"sd of ln = {self.sd[j]:.2f}")
            partners = [
                f"{self.names[k]} ({corr[j, k]:+.2f})"
                for k in range(len(self.names))
                if k != j and abs(corr[j, k]) > WEAK_CORRELATION
            ]
            if partners:
                why.append("correlated with " + ", ".join(partners))
            if why:
                out[n] = "; ".join(why)
        return out

    def sample(self, rng: np.random.Generator, k: int) -> list[dict[str, float]]:
        """``k`` parameter sets drawn from the posterior (grade thresholds kept in order)."""
        x0 = np.log([self.theta[n] for n in self.names])
        xs = rng.multivariate_normal(x0, self.cov, size=k, method="eigh")
        out = []
        for x in xs:
            theta = {n: float(math.exp(v)) for n, v in zip(self.names, x, strict=True)}
            if all(t in theta for t in _THRESHOLDS):
                for name, v in zip(_THRESHOLDS, sorted(theta[t] for t in _THRESHOLDS), strict=True):
                    theta[name] = v
            if "septum_transmission" in theta:
                theta["septum_transmission"] = min(theta["septum_transmission"], 1.0)
            out.append(theta)
        return out

    def predictive_sd(self, jac_rows: Array, sds: Array) -> Array:
        """Predictive sd of targets (natural units) from their Jacobian rows (standardised) and
        published sds: parameters plus the published trial's sampling (module docstring)."""
        g = jac_rows * sds[:, None]
        var_theta = np.einsum("ij,jk,ik->i", g, self.cov, g)
        return np.asarray(np.sqrt(var_theta + sds**2))

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "theta": {n: float(f"{self.theta[n]:.6g}") for n in self.names},
            "cov_log": [[float(f"{v:.6g}") for v in row] for row in self.cov],
            "scale": float(f"{self.scale:.6g}"),
            "prior_sd": self.prior_sd,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Laplace:
        names = tuple(str(n) for n in d["names"])
        return cls(
            names,
            {n: float(d["theta"][n]) for n in names},
            np.asarray(d["cov_log"], dtype=float),
            float(d["scale"]),
            float(d.get("prior_sd", PRIOR_SD)),
        )


def write_posterior(post: Laplace, path: Path, provenance: dict[str, Any]) -> None:
    """``posterior.yaml``: the Laplace posterior and how it was made."""
    import yaml

    header = (
        "# Written by `rhytid calibrate` (Laplace approximation at the optimum; rhytid.trial._posterior)."
        "\n# Do not edit by hand: `rhytid trial --uncertainty` draws parameters from it.\n"
    )
    data = {"posterior": post.to_dict(), "provenance": provenance}
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=110), encoding="utf-8")


def load_posterior(path: Path | None = None) -> Laplace:
    """The stored posterior (package data ``posterior.yaml``, or ``path``)."""
    import yaml

    from rhytid._data import load_yaml

    try:
        if path is not None:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            data = load_yaml(POSTERIOR_FILE)
    except (OSError, ValueError) as exc:
        raise TrialError(f"--uncertainty: no parameter posterior ({exc}); run `rhytid calibrate`") from None
    return Laplace.from_dict(data["posterior"])


# --- predictive intervals of virtual trials ----------------------------------------------------


def _leaves(d: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], float, str]]:
    """The endpoints of a trial's JSON: (path, value, kind) with kind ``rate`` or ``days``."""
    out: list[tuple[tuple[Any, ...], float, str]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            if k in ("design", "arms", "model_version", "parameters_hash") and not path:
                continue
            if isinstance(k, str) and k.endswith(("_ci95", "_pi90")):
                continue
            here = (*path, k)
            if isinstance(v, bool) or v is None:
                continue
            if isinstance(v, int | float) and k != "day":
                kind = "days" if any(str(p).startswith("median_days") for p in here) else "rate"
                out.append((here, float(v), kind))
            elif isinstance(v, dict | list):
                out.extend(_leaves(v, here))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.extend(_leaves(v, (*path, i)))
    return out


def _get(d: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        d = d[p]
    return d


def interval90(values: Array, kind: str, centre: float | None = None) -> list[float]:
    """90 % interval of draws on a variance-stabilising scale (module docstring), about the mean
    of the draws or, given, about ``centre`` (the run at the fitted parameters: with few draws
    their mean wanders, and the interval should hold the value it is reported with)."""
    v = np.asarray(values, dtype=float)
    if kind == "rate":
        z = np.arcsin(np.sqrt(np.clip(v, 0.0, 1.0)))
        mu = float(z.mean()) if centre is None else math.asin(math.sqrt(min(max(centre, 0.0), 1.0)))
        sd = float(z.std(ddof=1))
        lo, hi = max(mu - Z90 * sd, 0.0), min(mu + Z90 * sd, math.pi / 2)
        return [round(math.sin(lo) ** 2, 4), round(math.sin(hi) ** 2, 4)]
    z = np.log(np.maximum(v, 1.0))
    mu = float(z.mean()) if centre is None else math.log(max(centre, 1.0))
    sd = float(z.std(ddof=1))
    return [float(round(math.exp(mu - Z90 * sd))), float(round(math.exp(mu + Z90 * sd)))]


def add_intervals(central: dict[str, Any], draws: list[dict[str, Any]]) -> dict[str, Any]:
    """``central`` with ``"<key>_pi90"`` beside every endpoint, from the ``draws`` (same shape)."""
    import copy

    out = copy.deepcopy(central)
    for path, value, kind in _leaves(central):
        vals = []
        for d in draws:
            try:
                v = _get(d, path)
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(v, int | float) and not isinstance(v, bool):
                vals.append(float(v))
        if len(vals) < 3:
            continue
        parent = _get(out, path[:-1])
        parent[f"{path[-1]}_pi90"] = interval90(np.asarray(vals), kind, centre=value)
    return out


def trial_with_uncertainty(
    run: Callable[[TrialParameters, int], dict[str, Any]],
    seed: int,
    draws: int,
    *,
    posterior: Laplace | None = None,
    base: TrialParameters | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """A trial's JSON at the fitted parameters with 90 % predictive intervals (module docstring).

    ``run(parameters, seed)`` returns the trial's JSON; the draws use the seeds
    ``SeedSequence([seed, i])``, so the intervals are reproducible."""
    from rhytid.trial._design_file import arm_seed

    post = posterior or load_posterior()
    tp0 = base or TrialParameters.from_data()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    thetas = post.sample(rng, draws)
    central = run(tp0, seed)

    def one(i: int) -> dict[str, Any]:
        theta = get_free(tp0) | thetas[i]
        return run(set_free(tp0, theta), arm_seed(seed, 1000 + i))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, range(draws)))
    out = add_intervals(central, results)
    out["uncertainty"] = {
        "method": "Laplace approximation at the calibration optimum (rhytid.trial._posterior); "
        "each draw re-runs the trial with its own seed at the design's size",
        "draws": draws,
        "interval": 0.9,
        "parameters": list(post.names),
    }
    return out
