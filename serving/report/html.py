"""The diversion report as one self-contained HTML page: plots embedded as base64 PNG, tables, assumptions."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape

from divert.model.policy import WEEKDAYS
from divert.serving.report.diversion import NO_RESPONSE, DiversionReport

PALETTE = ["#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#999999"]


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(report: DiversionReport) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    by_how = report.tables["responses_by_hour_of_week"]
    responses = [c for c in by_how.columns if c not in ("hour_of_week", "weekday", "hour")]
    fig, ax = plt.subplots(figsize=(10, 3.4))
    bottom = np.zeros(168)
    for i, name in enumerate(responses):
        values = by_how[name].to_numpy(dtype=float) / report.weeks
        colour = "#dddddd" if name == NO_RESPONSE else PALETTE[i % len(PALETTE)]
        ax.bar(range(168), values, bottom=bottom, width=1.0, color=colour, label=name, linewidth=0)
        bottom += values
    ax.set_xticks(range(0, 168, 24), [d.capitalize() for d in WEEKDAYS])
    ax.set_xlim(-0.5, 167.5)
    ax.set_ylabel("calls per week")
    ax.set_title("Calls by recommended response, hour of the week (average week)")
    ax.legend(loc="upper left", fontsize=8, ncol=3, frameon=False)
    out["by_hour"] = _png(fig)

    staff = report.tables["staffing_by_hour_of_week"]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.step(range(168), staff["teams_needed"], where="mid", color="#d95f02", label="teams needed (Erlang C)")
    ax.step(range(168), staff["teams_on_duty"], where="mid", color="#1b9e77", linestyle="--",
            label="teams on duty (policy)")
    ax2 = ax.twinx()
    ax2.bar(range(168), staff["calls_per_hour"], width=1.0, color="#7570b3", alpha=0.25, label="crisis calls / hour")
    ax2.set_ylabel("crisis-team calls per hour")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xticks(range(0, 168, 24), [d.capitalize() for d in WEEKDAYS])
    ax.set_xlim(-0.5, 167.5)
    ax.set_ylabel("teams")
    ax.set_title("Crisis teams needed against teams on duty, by hour of the week")
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper left", fontsize=8, frameon=False)
    out["staffing"] = _png(fig)

    hidden = report.tables["hidden_behavioral_health"]
    top = hidden[hidden["hidden_bh"] > 0].head(12).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(top):
        ax.barh(top["nature_code"], top["hidden_bh"], color="#e7298a")
        for y, (v, s) in enumerate(zip(top["hidden_bh"], top["hidden_share_of_code"], strict=True)):
            ax.text(v, y, f" {s:.0%} of code", va="center", fontsize=7)
    ax.set_xlabel("calls the text flags as behavioral health")
    ax.set_title("Hidden behavioral-health calls by nature code")
    out["hidden"] = _png(fig)

    area = report.tables["responses_by_area"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.barh(area["area"][::-1], area["total"][::-1], color="#dddddd", label="all calls")
    ax.barh(area["area"][::-1], area["crisis_team_could_take"][::-1], color="#1b9e77", label="crisis team could take")
    ax.set_xlabel("calls")
    ax.set_title("Calls by area")
    ax.legend(fontsize=8, frameon=False)
    out["area"] = _png(fig)
    return out


def _table(frame: pd.DataFrame, *, max_rows: int | None = None) -> str:
    shown = frame.head(max_rows) if max_rows else frame
    formatters = {c: (lambda v: f"{v:.1%}") for c in shown.columns if "share" in c or c.startswith("answered")}
    formatters |= {c: (lambda v: f"{v:.2f}") for c in ("calls_per_hour", "offered_load_erlangs") if c in shown}
    html: str = shown.to_html(index=False, escape=True, border=0, classes="t", formatters=formatters,
                              na_rep="")
    return html


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Diversion opportunity: {{ r.policy.name }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:2px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin-top:0} .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:10px}
.kpi{background:#f6f7f9;border-radius:6px;padding:10px 12px} .kpi b{display:block;font-size:20px}
.kpi span{color:#555;font-size:12px} .row{display:flex;gap:18px;align-items:flex-start;flex-wrap:wrap}
.row>div{flex:1 1 420px} img{max-width:100%} .assume{background:#fff8e1;border-left:3px solid #e6ab02;
padding:6px 10px;font-size:12.5px;color:#444;margin:8px 0}
table.t{border-collapse:collapse;font-size:12px;margin:6px 0} table.t th,table.t td{padding:2px 8px;text-align:right}
table.t th{background:#f0f0f0} table.t tr:nth-child(even){background:#fafafa}
details{margin:6px 0} footer{color:#888;font-size:12px;margin-top:30px}
</style></head><body>
<h1>Diversion opportunity report</h1>
<p class="sub">{{ r.summary["calls scored"] | num }} calls, {{ r.summary["period"] }} ({{ r.summary["weeks covered"] }} weeks) ·
policy <b>{{ r.policy.name }}</b> ({{ r.policy.policy_version }}) · models' flags, not people's</p>
<div class="grid">
{% for label, value in kpis %}<div class="kpi"><b>{{ value }}</b><span>{{ label }}</span></div>{% endfor %}
</div>

<h2>Calls by recommended response</h2>
<img alt="calls by recommended response and hour of week" src="data:image/png;base64,{{ fig.by_hour }}">
<div class="assume">{{ a.responses }} {{ a.time }}</div>
<div class="row"><div><img alt="calls by area" src="data:image/png;base64,{{ fig.area }}"></div>
<div>{{ t.responses_by_area | safe }}</div></div>

<h2>What a crisis team could have taken</h2>
{{ t.crisis_team_share | safe }}
<div class="assume">{{ a.crisis_share }}</div>

<h2>Hidden behavioral-health calls</h2>
<div class="row"><div><img alt="hidden behavioral-health calls by nature code" src="data:image/png;base64,{{ fig.hidden }}"></div>
<div>{{ t.hidden | safe }}</div></div>
<div class="assume">{{ a.hidden }}</div>

<h2>Crisis-team staffing (Erlang C)</h2>
<img alt="teams needed against teams on duty" src="data:image/png;base64,{{ fig.staffing }}">
<div class="assume">{{ a.staffing }}</div>
<details><summary>Staffing by hour of the week (168 rows)</summary>{{ t.staffing | safe }}</details>

<h2>Police time freed</h2>
<p><b>{{ r.summary["police officer-hours freed"] | num }}</b> officer-hours in the period,
<b>{{ r.summary["police officer-hours freed per year"] | num }}</b> per year.</p>
<div class="assume">{{ a.police }}</div>
<div class="assume">{{ a.model }}</div>
<footer>divert report diversion · {{ source }} · generated {{ generated }} · tables as CSV beside this file</footer>
</body></html>
"""


def render_html(report: DiversionReport) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = lambda v: f"{v:,.0f}" if isinstance(v, int | float) else str(v)
    s = report.summary

    def count(key: str) -> str:
        return f"{int(s[key]):,}"

    kpis = [
        ("calls a crisis team could take", f"{count('crisis team could take')} "
                                           f"({float(s['crisis team could take (share of calls)']):.1%})"),
        ("it takes under the policy's hours and areas", count("crisis team takes under the policy")),
        ("outside the team's hours", count("outside the team's hours")),
        ("hidden behavioral-health calls", count("hidden behavioral-health calls (text flags, code does not)")),
        ("peak crisis teams needed", count("peak crisis teams needed (any hour of the week)")),
        ("police officer-hours freed per year", f"{float(s['police officer-hours freed per year']):,.0f}"),
    ]
    tables = report.tables
    hidden = tables["hidden_behavioral_health"]
    return env.from_string(TEMPLATE).render(
        r=report, kpis=kpis, fig=_figures(report), source=Path(report.source).name if report.source else "",
        a={x.topic.replace(" ", "_"): x.text for x in report.assumptions},
        t={"responses_by_area": _table(tables["responses_by_area"]),
           "crisis_team_share": _table(tables["crisis_team_share"]),
           "hidden": _table(hidden[hidden["hidden_bh"] > 0], max_rows=15),
           "staffing": _table(tables["staffing_by_hour_of_week"])},
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(report: DiversionReport, out: Path) -> Path:
    """`out/report.html` plus every table as CSV; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    report.write_csv(out)
    path = out / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path
