"""The report of a virtual trial: responder rates over time, treated vs placebo, with the
published points overlaid where known; ``index.html`` and the trial's JSON."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rhytid.trial import TrialResult

__all__ = ["write_trial_report"]


def _published_points(result: TrialResult) -> list[tuple[float, float, str, str]]:
    """Published responder rates (day, rate, arm, source) for this design, where known."""
    from rhytid._data import load_yaml

    des = result.design
    if (des.area, des.product, des.dose_units) != ("glabellar", "onabotulinumtoxinA", 20.0):
        return []
    targets = load_yaml("calibration_targets.yaml")["targets"]
    out = []
    for key, day, arm in (
        ("ona20_none_or_mild_day30", 30.0, "treated"),
        ("ona20_none_or_mild_day120", 120.0, "treated"),
        ("ona20_placebo_none_or_mild_day120", 120.0, "placebo"),
    ):
        t = targets[key]
        out.append((day, float(t["value"]), arm, str(t["source"])))
    return out


def write_trial_report(result: TrialResult, folder: Path) -> Path:
    """Figures of responder rates over time (treated vs placebo, published points) and index.html."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from rhytid.trial import wilson

    folder.mkdir(parents=True, exist_ok=True)
    d = result.to_dict()
    days = [v["day"] for v in d["visits"]]
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    colours = {"treated": "#c0392b", "placebo": "#34495e"}
    n = {"treated": result.n_treated, "placebo": result.n_placebo}
    for arm in ("treated", "placebo"):
        rate = result.rate("none_or_mild", arm)
        ci = [wilson(round(r * n[arm]), n[arm]) for r in rate]
        ax.plot(days, rate, "o-", color=colours[arm], label=f"{arm} (model, n={n[arm]})")
        ax.fill_between(days, [c[0] for c in ci], [c[1] for c in ci], color=colours[arm], alpha=0.2)
    pts = _published_points(result)
    for i, (day, val, arm, _src) in enumerate(pts):
        ax.plot(
            [day],
            [val],
            "D",
            ms=9,
            mfc="white",
            mec=colours[arm],
            mew=2,
            label="published" if i == 0 else None,
        )
    ax.set_xlabel("days after treatment")
    ax.set_ylabel("none or mild at maximum contraction")
    ax.set_ylim(0, 1)
    ax.set_title(f"{result.design.area}: {result.design.dose_units:g} U {result.design.product}")
    ax.legend()
    fig.savefig(folder / "responders.png", dpi=120)
    rows = "".join(
        f"<tr><td>{v['day']}</td><td>{v['none_or_mild']['treated']:.1%}</td>"
        f"<td>{v['none_or_mild']['placebo']:.1%}</td><td>{v['improve1']['treated']:.1%}</td>"
        f"<td>{v['improve2']['treated']:.1%}</td></tr>"
        for v in d["visits"]
    )
    sources = "".join(
        f"<li>day {day:g}, {arm}: {val:.0%} — {html.escape(src)}</li>" for day, val, arm, src in pts
    )
    ae = d["adverse_events"]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Virtual trial</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
td,th{{padding:.2em .8em;text-align:right}}</style>
</head><body><h1>Virtual trial: {html.escape(result.design.area)}, {result.design.dose_units:g} U
{html.escape(result.design.product)}</h1>
<p>{result.n_treated} treated, {result.n_placebo} placebo (3:1), seed {result.design.seed};
model {html.escape(d["model_version"])}, parameters {html.escape(d["parameters_hash"][:19])}…</p>
<img src="responders.png" alt="responder rate over time" width="720">
<table><tr><th>day</th><th>none/mild treated</th><th>placebo</th><th>&ge;1 better</th>
<th>&ge;2 better</th></tr>
{rows}</table>
<p>Median days none-or-mild: {d["median_days_none_or_mild"]}; median days to return to baseline:
{d["median_days_to_baseline"]}.</p>
<p>Eyelid ptosis: {ae["eyelid_ptosis"]["treated"]:.1%} treated, {ae["eyelid_ptosis"]["placebo"]:.1%} placebo;
brow ptosis: {ae["brow_ptosis"]["treated"]:.1%} treated, {ae["brow_ptosis"]["placebo"]:.1%} placebo.</p>
{"<h2>Published points</h2><ul>" + sources + "</ul>" if pts else ""}
</body></html>"""
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    (folder / "trial.json").write_text(json.dumps(d, indent=2), encoding="utf-8")
    return index
