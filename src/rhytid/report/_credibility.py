"""The credibility sections of ``validation/REPORT.md``: context of use, calibration fit with
predictive intervals, identifiability, leave-one-group-out, held-out outcomes, coverage and
Sobol indices (ASME V&V 40; FDA 2023 guidance on computational models: a stated context of use,
calibration kept apart from validation, uncertainty carried to the predictions, sensitivity)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rhytid.trial._credibility import CredibilityRun, Interval

__all__ = ["context_of_use", "credibility_sections"]


def context_of_use() -> list[str]:
    """What the model may and may not inform, its risk, and the evidence for each use."""
    return [
        "## Context of use and limits",
        "",
        "Rhytid is a mechanistic model of botulinum toxin A in the upper face, calibrated on published",
        "glabellar and forehead trials. Model risk (V&V 40) = model influence x decision consequence.",
        "",
        "| use | may it inform? | influence / consequence | evidence in this report |",
        "|---|---|---|---|",
        "| teaching: how placement, dose, dilution and spread shape the effect and its course | yes "
        "| low: explains, decides nothing | mechanisms; calibration fit (a); time course |",
        "| comparing plans (patterns, doses, products) on the reference face | yes, as relative "
        "differences | medium: a clinician chooses | leave-one-group-out (b), dose-duration group; "
        "Sobol indices |",
        "| designing trials (arms, visits, endpoints, sample size) | yes, with the 90 % predictive "
        "intervals | medium: informs a protocol that is reviewed | (a)-(c) and coverage; `--uncertainty` |",
        "| an individual's dose or injection points without a clinician | **no** | high: ptosis, "
        "asymmetry | none: the model is fitted to trial averages, not individuals |",
        "| areas without evidence (lateral canthal lines, lower face), doses far above the label, "
        "repeated cycles | **no** (exploratory only) | - | no targets there; held-out 60/80 U (c) |",
        "",
        "Limits: the targets are trial averages (responder rates, medians); the model rates on the",
        "investigator scale only while some targets are composite (investigator + subject); the ptosis",
        "rate rests on one pooled rate; parameter uncertainty is a Laplace (Gaussian) approximation.",
        "",
    ]


def _pct(x: float, rate: bool) -> str:
    return f"{x:.3g}" if not rate else f"{x:.3f}"


def _row(iv: Interval, note: str = "") -> str:
    rate = abs(iv.published) <= 1.5 and abs(iv.model) <= 1.5
    lo, hi = iv.lo, iv.hi
    if rate:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    name = f"{iv.name} ({note})" if note else iv.name
    return (
        f"| {name} | {iv.group} | {_pct(iv.published, rate)} | {_pct(iv.model, rate)} | "
        f"[{_pct(lo, rate)}, {_pct(hi, rate)}] | {iv.z:+.2f} | {'yes' if iv.inside else '**no**'} |"
    )


_HEAD = [
    "| target | group | published | model | 90 % predictive interval | standardised error | inside |",
    "|---|---|---|---|---|---|---|",
]


def _coverage(rows: list[Interval]) -> str:
    k = sum(r.inside for r in rows)
    return f"{k} of {len(rows)} ({k / max(len(rows), 1):.0%})"


def credibility_sections(run: CredibilityRun, folder: Path) -> list[str]:
    """Markdown sections (a)-(c), coverage and sensitivity, with their figures in ``folder``."""
    import numpy as np

    post = run.posterior
    assert post is not None and run.jac is not None and run.residuals is not None
    targets = run.result.targets
    m, p = len(targets), len(post.names)
    jt = run.jac.T @ run.jac
    effective = float(np.trace(jt @ np.linalg.inv(jt + np.eye(p) / post.prior_sd**2)))
    studies = sorted({_study(t.source) for t in targets})
    unfitted = set(run.unfitted_targets)
    out = [
        "## Summary",
        "",
        *(
            [
                f"- **The parameters in use were fitted without {len(unfitted)} of these targets** "
                f"({', '.join(sorted(unfitted))}): their rows under (a) are predictions of that fit, "
                "marked 'not in the fit'. `rhytid calibrate --parts fit` fits all targets; "
                "validation/two-area-fit/ records such a fit and why it is not installed.",
            ]
            if unfitted
            else []
        ),
        f"- Free parameters: {p} ({', '.join(post.names)}); one shared set for both areas, no per-area "
        "factors (anything that differs between areas is anatomy or skin with a source).",
        f"- Targets: {m} published values (+ 1 prior on the grade steps) from {len(studies)} independent "
        f"studies; groups: {', '.join(sorted({t.group for t in targets}))}.",
        f"- Effective number of parameters the targets determine (trace of the data's share of the "
        f"posterior precision): {effective:.1f} of {p}.",
        f"- Objective (sum of squared standardised errors): {float(run.residuals @ run.residuals):.2f} "
        f"over {len(run.residuals)} residuals; covariance inflation s^2 = {post.scale:.2f}.",
        f"- Coverage of the 90 % predictive intervals: calibration {_coverage(run.fit_intervals)}"
        + (
            f"; leave-one-group-out {_coverage([r for g in run.logo.values() for r in g])}"
            if run.logo
            else ""
        )
        + (f"; held out {_coverage(run.heldout)}" if run.heldout else "")
        + ".",
        *(
            [
                "- **Held out and outside the 90 % interval** (a failed validation, not a fit to redo): "
                + "; ".join(f"{r.name} model {r.model:.3g} vs published {r.published:.3g}" for r in missed)
                + "."
            ]
            if (missed := [r for r in run.heldout if not r.inside])
            else []
        ),
        "- Run times of this command (s): " + ", ".join(f"{k} {v:.0f}" for k, v in run.timings.items()) + ".",
        *(
            [f"- Posterior and its Jacobians from `{run.posterior_command}` (data/posterior.yaml)."]
            if run.posterior_command and run.posterior_command != run.command
            else []
        ),
        *(
            [
                f"- Sobol indices from the last run that computed them (validation/sobol.json): "
                f"{run.sobol_source}."
            ]
            if run.sobol_source
            else []
        ),
        "",
        "Standardised error = (model - published) / predictive sd; the predictive sd holds the",
        "parameter uncertainty (Laplace posterior, delta method) and the published trial's sampling",
        "(the target's sd).",
        "",
        "## (a) Calibration fit",
        "",
        "Every value here was fitted (except rows marked 'not in the fit'): agreement is a fit, not a "
        "validation.",
        "",
        *_HEAD,
        *(_row(iv, "not in the fit" if iv.name in unfitted else "") for iv in run.fit_intervals),
        "",
        "### Parameters: posterior (Laplace approximation at the optimum)",
        "",
        "| parameter | fitted | 90 % interval | sd of ln | weakly identified |",
        "|---|---|---|---|---|",
    ]
    weak = post.weakly_identified()
    for j, n in enumerate(post.names):
        lo, hi = post.interval90(n)
        out.append(
            f"| {n} | {post.theta[n]:.4g} | [{lo:.4g}, {hi:.4g}] | {post.sd[j]:.2f} | {weak.get(n, 'no')} |"
        )
    corr = post.correlation()
    short = [n[:14] for n in post.names]
    out += [
        "",
        "Correlations of ln(parameters) (from the Jacobian at the optimum):",
        "",
        "| | " + " | ".join(short) + " |",
        "|---|" + "---|" * p,
    ]
    for j in range(p):
        out.append(f"| {short[j]} | " + " | ".join(f"{corr[j, k]:+.2f}" for k in range(p)) + " |")
    out.append("")
    if run.logo:
        out += [
            "## (b) Leave-one-group-out predictions",
            "",
            "Each group is left out, the parameters refitted without it (one damped Gauss-Newton step",
            "from the full optimum, `rhytid.trial._credibility`), the model re-run at the refitted",
            "parameters, and the left-out values predicted with the refit's 90 % predictive interval.",
            "",
            *_HEAD,
        ]
        for rows in run.logo.values():
            out += [_row(iv) for iv in rows]
        out += ["", "Largest parameter shifts of each refit (change of ln theta):", ""]
        for g, shift in run.logo_shift.items():
            top = sorted(shift.items(), key=lambda kv: -abs(kv[1]))[:3]
            out.append(f"- without {g}: " + ", ".join(f"{n} {v:+.2f}" for n, v in top))
        out.append("")
    if run.heldout:
        out += [
            "## (c) Held-out outcomes (never fitted)",
            "",
            "Kept out of every fit; the model at the optimum, with its 90 % predictive interval",
            "(parameters, and the published arm's binomial sampling).",
            "",
            *_HEAD,
            *(_row(iv) for iv in run.heldout),
            "",
        ]
    out += _coverage_figure(run, folder)
    if run.sobol is not None:
        out += _sobol_section(run, folder)
    return out


def _logo_rows(run: CredibilityRun) -> list[Interval]:
    return [r for g in run.logo.values() for r in g]


def _study(source: str) -> str:
    for sep in ("(", ",", ":"):
        source = source.split(sep)[0]
    return source.strip()


def _coverage_figure(run: CredibilityRun, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    sets = [("calibration (a)", run.fit_intervals, "#2c7fb8")]
    if run.logo:
        sets.append(("leave-one-group-out (b)", [r for g in run.logo.values() for r in g], "#e6550d"))
    if run.heldout:
        sets.append(("held out (c)", run.heldout, "#31a354"))
    rows = [(label, iv, c) for label, ivs, c in sets for iv in ivs]
    fig = Figure(figsize=(7, 0.22 * len(rows) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    for i, (_, iv, c) in enumerate(rows):
        ax.plot([-1.645, 1.645], [i, i], color="#cccccc", lw=4, solid_capstyle="butt")
        ax.plot([-iv.z], [i], "o", color=c)
    ax.set_yticks(range(len(rows)), [f"{iv.name}" for _, iv, _ in rows], fontsize=6)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("(published - model) / predictive sd; grey: the 90 % predictive interval")
    handles = {label: c for label, _, c in sets}
    for label, c in handles.items():
        ax.plot([], [], "o", color=c, label=label)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=len(handles))
    fig.savefig(folder / "coverage.png", dpi=110)
    return ["![coverage of the 90 % predictive intervals](coverage.png)", ""]


def _sobol_section(run: CredibilityRun, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    s = run.sobol
    assert s is not None
    size = f" of {s.patients} patients" if s.patients else ""
    took = f" ({s.seconds:.0f} s)" if s.seconds else ""
    caveat = "; small N makes the half-widths wide: read the ranking, not the decimals"
    caveat = caveat if s.n_base < 32 else ""
    out = [
        "## Sensitivity: Sobol indices (SALib)",
        "",
        f"Glabellar onabotulinumtoxinA 20 U trial; {s.evaluations} trials{size} (Saltelli design, "
        f"N = {s.n_base}, {len(s.factors)} factors){took}, every one with the same seed (common random "
        "numbers); fitted parameters uniform in ln over +-2 posterior sd (at most a factor e), population "
        f"distributions over +-50 %. First-order S1 and total ST with bootstrap 95 % half-widths{caveat}.",
        "",
    ]
    share = s.noise_share
    if share is not None and s.noise_sd is not None and s.output_sd is not None:
        out += [
            "Trial noise (sd between trials of this size with other seeds, at the centre of the factors) "
            "against the spread of each output over the design: "
            + "; ".join(
                f"{o} {s.noise_sd[i]:.3g} vs {s.output_sd[i]:.3g} ({share[i]:.0%} of the variance)"
                for i, o in enumerate(s.outputs)
            )
            + ". Under common random numbers this noise is no independent error of the indices, but it "
            "bounds the roughness of the response: the larger the share, the less the indices can be read.",
            "",
        ]
    out.append(
        "Leading factors (largest ST): "
        + "; ".join(
            f"{o}: " + ", ".join(f"{s.factors[j]} {s.st[i, j]:.2f}" for j in s.leading(i))
            for i, o in enumerate(s.outputs)
        )
        + "."
    )
    out += [
        "",
        "| factor | " + " | ".join(f"{o} S1 | {o} ST" for o in s.outputs) + " |",
        "|---|" + "---|---|" * len(s.outputs),
    ]
    for j, f in enumerate(s.factors):
        cells = []
        for i in range(len(s.outputs)):
            cells.append(f"{s.s1[i, j]:.2f} +-{s.s1_conf[i, j]:.2f}")
            cells.append(f"{s.st[i, j]:.2f} +-{s.st_conf[i, j]:.2f}")
        out.append(f"| {f} | " + " | ".join(cells) + " |")
    fig = Figure(figsize=(8, 0.25 * len(s.factors) + 1.5), layout="constrained")
    axes = fig.subplots(1, len(s.outputs), sharey=True)
    y = np.arange(len(s.factors))
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.barh(y, np.clip(s.st[i], 0, None), color="#9ecae1", label="ST (95 % half-width)")
        ax.errorbar(np.clip(s.st[i], 0, None), y, xerr=s.st_conf[i], fmt="none", ecolor="#555555", lw=0.7)
        ax.barh(y, np.clip(s.s1[i], 0, None), height=0.4, color="#08519c", label="S1")
        ax.set_title(s.outputs[i], fontsize=8)
        ax.set_xlim(0, 1)
    np.atleast_1d(axes)[0].set_yticks(y, s.factors, fontsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.savefig(folder / "sobol.png", dpi=110)
    return [*out, "", "![Sobol indices](sobol.png)", ""]
