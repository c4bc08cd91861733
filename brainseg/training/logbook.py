"""A run's metrics log (JSON lines) and its training curves (plotly HTML, PNG)."""

from __future__ import annotations

import json
from pathlib import Path

METRICS_FILE = "metrics.jsonl"


def append_row(run_dir: Path, row: dict) -> None:
    """Add one JSON object as a line of ``metrics.jsonl``."""
    with open(run_dir / METRICS_FILE, "a") as stream:
        stream.write(json.dumps(row) + "\n")


def read_rows(run_dir: Path) -> list[dict]:
    path = run_dir / METRICS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def truncate_after(run_dir: Path, step: int) -> None:
    """Drop rows logged after ``step`` (a resumed run repeats them from its checkpoint)."""
    rows = [row for row in read_rows(run_dir) if row["step"] <= step]
    (run_dir / METRICS_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows))


def write_curves(run_dir: Path, title: str) -> list[Path]:
    """Training loss and validation Dice against step, as ``curves.html`` (plotly) and ``curves.png``."""
    rows = read_rows(run_dir)
    train = [r for r in rows if "loss" in r]
    val = [r for r in rows if "val" in r]
    if not train:
        return []
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "validation Dice"))
    figure.add_trace(go.Scatter(x=[r["step"] for r in train], y=[r["loss"] for r in train], name="loss"), 1, 1)
    for region in ("WT", "TC", "ET"):
        if val:
            ys = [r["val"][region] for r in val]
            figure.add_trace(
                go.Scatter(x=[r["step"] for r in val], y=ys, name=f"Dice {region}", mode="lines+markers"), 1, 2
            )
    figure.update_layout(title=title, height=420, width=1000)
    html = run_dir / "curves.html"
    figure.write_html(html, include_plotlyjs="cdn")
    return [html, _write_png(run_dir / "curves.png", title, train, val)]


def _write_png(path: Path, title: str, train: list[dict], val: list[dict]) -> Path:
    # plotly's PNG export needs kaleido and a browser; matplotlib draws the same two panels offline.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r["step"] for r in train], [r["loss"] for r in train])
    left.set(title="training loss", xlabel="step")
    for region in ("WT", "TC", "ET"):
        if val:
            right.plot([r["step"] for r in val], [r["val"][region] for r in val], marker="o", label=region)
    right.set(title="validation Dice", xlabel="step", ylim=(0, 1))
    if val:
        right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
