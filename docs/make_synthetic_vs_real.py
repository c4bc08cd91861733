"""Synthetic versus real: the numbers and pictures of ``docs/synthetic-vs-real.md``.

Run from the repository root (takes ~1-2 minutes on two cores)::

    python docs/make_synthetic_vs_real.py --real ../shared/data/real --images docs/images

It generates ``--seeds`` realistic cases and one domain-randomized case, measures them and every real
case folder under ``--real`` with the same label-free estimator (:mod:`brainseg.synth.measure`), writes
``synth_*.png`` figures and ``synth_numbers.json`` into ``--images``, and prints the Markdown tables
that the document quotes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from brainseg.synth.contrast import SEQUENCES
from brainseg.synth.generator import SyntheticCase, generate_case
from brainseg.synth.measure import (
    CLASS_NAMES,
    blood_like,
    class_fractions,
    class_ratios,
    estimate_classes,
    load_real_case,
    shading_correlations,
    truth_classes,
    wm_variation,
)

HIST_BINS = np.linspace(0, 4, 81)
"""Histogram bins, in units of the case's WM median."""


def measure(images: dict[str, np.ndarray], case: SyntheticCase | None = None) -> tuple[dict, np.ndarray]:
    """Estimator numbers of one case (plus truth-based ones for a synthetic ``case``) and its class map."""
    classes = estimate_classes(images)
    out = {
        "ratios": class_ratios(images, classes),
        "wm_cov": wm_variation(images, classes),
        "shading": shading_correlations(images, classes),
        "fractions": class_fractions(classes),
        "brain_ml": float(np.all([images[s] > 0 for s in SEQUENCES], axis=0).sum() / 1000),
        "lesion_ml": float((classes == 4).sum() / 1000),
        "blood_like": blood_like(images, classes),
        "histograms": {},
    }
    for seq in SEQUENCES:
        values = images[seq][classes > 0] / np.median(images[seq][classes == 3])
        out["histograms"][seq] = np.histogram(values, HIST_BINS, density=True)[0].tolist()
    if case is not None:
        truth = truth_classes(case.tissue_labels, case.labels, classes)
        out["truth_ratios"] = class_ratios(images, truth)
        out["truth_fractions"] = class_fractions(truth)
        out["truth_whole_tumor_ml"] = case.meta["tumor_volume_ml"]["WT"]
    return out, classes


def _center(mask: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int]:
    idx = np.argwhere(mask)
    return tuple(int(v) for v in (idx.mean(axis=0) if idx.size else np.asarray(shape) // 2))


def triplanar(images: dict[str, np.ndarray], focus: np.ndarray, path: Path, title: str, labels=None) -> None:
    """Axial, coronal and sagittal slices through the centroid of ``focus``, one row per sequence.

    Radiological display of LPS arrays: patient left on the image right, anterior up (axial), superior
    up (coronal, sagittal), anterior left (sagittal). ``labels`` (internal 0-3) adds an overlay row.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y, z = _center(focus, focus.shape)
    rows = [*SEQUENCES, "labels"] if labels is not None else list(SEQUENCES)
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.2, 2.2 * len(rows)), squeeze=False)
    for r, name in enumerate(rows):
        volume = images["FLAIR" if name == "labels" else name]
        top = np.percentile(volume[volume > 0], 99.5)
        planes = (volume[:, :, z].T, volume[:, y, :].T[::-1], volume[x, :, :].T[::-1])
        for c, plane in enumerate(planes):
            ax = axes[r, c]
            ax.imshow(plane, cmap="gray", vmin=0, vmax=top, interpolation="nearest")
            if name == "labels":
                lab = (labels[:, :, z].T, labels[:, y, :].T[::-1], labels[x, :, :].T[::-1])[c]
                colors = np.array([[0, 0, 0, 0], [1, 0.1, 0.1, 0.9], [0.2, 0.9, 0.2, 0.55], [1, 1, 0, 1]])
                ax.imshow(colors[lab], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name if name != "labels" else "NCR/ED/ET", fontsize=8)
    for c, plane in enumerate(("axial", "coronal", "sagittal")):
        axes[0, c].set_title(plane, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save_small_png(fig, path, dpi=75)
    plt.close(fig)


def _save_small_png(fig, path: Path, dpi: int) -> None:
    """Save a figure as a 256-colour palette PNG: about half the size, no visible loss for grey slices."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(colors=256).save(path, optimize=True)


def side_by_side(cases: dict[str, tuple[dict[str, np.ndarray], np.ndarray]], path: Path) -> None:
    """Axial slice through each case's lesion, one column per case, one row per sequence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, len(cases), figsize=(2.4 * len(cases), 9.2), squeeze=False)
    for c, (name, (images, focus)) in enumerate(cases.items()):
        z = _center(focus, focus.shape)[2]
        for r, seq in enumerate(SEQUENCES):
            volume = images[seq]
            top = np.percentile(volume[volume > 0], 99.5)
            ax = axes[r, c]
            ax.imshow(volume[:, :, z].T, cmap="gray", vmin=0, vmax=top, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            axes[r, 0].set_ylabel(seq, fontsize=9)
        axes[0, c].set_title(name, fontsize=8)
    fig.tight_layout()
    _save_small_png(fig, path, dpi=75)
    plt.close(fig)


def histogram_figure(numbers: dict[str, dict], path: Path) -> None:
    """Intensity histograms (brain, in units of each case's WM median), one panel per sequence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centers = (HIST_BINS[:-1] + HIST_BINS[1:]) / 2
    real_colors = iter(("tab:red", "tab:orange", "tab:green", "tab:purple"))
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.0))
    styles = {}
    for name in numbers:
        if name == "synthetic-randomized":
            styles[name] = {"color": "tab:gray", "lw": 1.0, "ls": "--", "label": "synthetic, randomized"}
        elif name.startswith("synthetic"):
            label = "synthetic, realistic" if name.endswith("-1") else None
            styles[name] = {"color": "tab:blue", "lw": 0.8, "alpha": 0.6, "label": label}
        else:
            styles[name] = {"color": next(real_colors, "black"), "lw": 2.0, "label": f"real: {name}"}
    for ax, seq in zip(axes, SEQUENCES, strict=True):
        for name, entry in numbers.items():
            ax.plot(centers, entry["histograms"][seq], **styles[name])
        ax.set_title(seq, fontsize=9)
        ax.set_xlabel("intensity / WM median", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    _save_small_png(fig, path, dpi=70)
    plt.close(fig)


def _mean_sd(values: list[float]) -> str:
    return f"{np.nanmean(values):.2f} ± {np.nanstd(values):.2f}"


def tables(numbers: dict[str, dict]) -> str:
    """Markdown tables: class ratios, WM variation, class fractions, volumes."""
    real = [n for n in numbers if not n.startswith("synthetic")]
    synth = [n for n in numbers if n.startswith("synthetic-") and "randomized" not in n]
    lines = [
        "| sequence | class | " + " | ".join(real) + " | synthetic (estimator) | synthetic (truth) |",
        "|---|---|" + "---|" * (len(real) + 2),
    ]
    for seq in SEQUENCES:
        for cls in CLASS_NAMES:
            reals = " | ".join(f"{numbers[n]['ratios'][seq][cls]:.2f}" for n in real)
            est = _mean_sd([numbers[n]["ratios"][seq][cls] for n in synth])
            tru = _mean_sd([numbers[n]["truth_ratios"][seq][cls] for n in synth])
            lines.append(f"| {seq} | {cls} | {reals} | {est} | {tru} |")
    lines += ["", "| measure | " + " | ".join(real) + " | synthetic |", "|---|" + "---|" * (len(real) + 1)]
    for seq in SEQUENCES:
        reals = " | ".join(f"{numbers[n]['wm_cov'][seq]:.3f}" for n in real)
        lines.append(f"| WM robust CoV, {seq} | {reals} | {_mean_sd([numbers[n]['wm_cov'][seq] for n in synth])} |")
    for pair in numbers[real[0]]["shading"]:
        reals = " | ".join(f"{numbers[n]['shading'][pair]:.2f}" for n in real)
        values = [numbers[n]["shading"][pair] for n in synth]
        lines.append(f"| WM shading correlation (15 mm), {pair} | {reals} | {_mean_sd(values)} |")
    for cls in CLASS_NAMES:
        reals = " | ".join(f"{numbers[n]['fractions'][cls]:.2f}" for n in real)
        lines.append(f"| share of {cls} | {reals} | {_mean_sd([numbers[n]['fractions'][cls] for n in synth])} |")
    for key, title in (("brain_ml", "brain volume (mL)"), ("lesion_ml", "estimated lesion (mL)")):
        reals = " | ".join(f"{numbers[n][key]:.0f}" for n in real)
        lines.append(f"| {title} | {reals} | {_mean_sd([numbers[n][key] for n in synth])} |")
    blood = (("ml", "blood-like outside the lesion (mL)"), ("largest_ml", "largest blood-like component (mL)"))
    blood += tuple((seq, f"blood-like median / WM, {seq}") for seq in SEQUENCES)
    for key, title in blood:
        reals = " | ".join(f"{numbers[n]['blood_like'][key]:.2f}" for n in real)
        lines.append(f"| {title} | {reals} | {_mean_sd([numbers[n]['blood_like'][key] for n in synth])} |")
    truth = " | ".join("" for _ in real)
    lines.append(
        f"| true whole tumor (mL) | {truth} | {_mean_sd([numbers[n]['truth_whole_tumor_ml'] for n in synth])} |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/make_synthetic_vs_real.py", description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"), help="folder of real case folders")
    parser.add_argument("--images", type=Path, default=Path("docs/images"), help="where figures and numbers go")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6], help="realistic cases")
    parser.add_argument("--view-seed", type=int, default=6, help="realistic case shown (the bundled example)")
    parser.add_argument("--randomized-seed", type=int, default=6, help="seed of the domain-randomized case")
    parser.add_argument("--metastasis-seed", type=int, default=11, help="seed of the metastasis-like case shown")
    args = parser.parse_args(argv)
    folders = sorted(p for p in args.real.iterdir() if p.is_dir()) if args.real.is_dir() else []
    if not folders:
        print(f"error: no real case folders under {args.real}", file=sys.stderr)
        return 2
    args.images.mkdir(parents=True, exist_ok=True)

    numbers: dict[str, dict] = {}
    axial: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}
    for folder in folders:
        images = load_real_case(folder)
        numbers[folder.name], classes = measure(images)
        triplanar(images, classes == 4, args.images / f"synth_real_{folder.name}.png", f"real: {folder.name}")
        axial[f"real: {folder.name}"] = (images, classes == 4)
        print(f"measured {folder.name}", file=sys.stderr)
    for i, seed in enumerate(sorted(set(args.seeds) | {args.view_seed})):
        case = generate_case(seed)
        numbers[f"synthetic-{i + 1}"], _ = measure(case.images, case)
        numbers[f"synthetic-{i + 1}"]["seed"] = seed
        if seed == args.view_seed:
            title = f"synthetic, seed {seed} (realistic contrast)"
            triplanar(case.images, case.labels > 0, args.images / "synth_case.png", title, case.labels)
            axial = {f"synthetic, seed {seed}": (case.images, case.labels > 0), **axial}
        print(f"measured synthetic seed {seed}", file=sys.stderr)
    case = generate_case(args.randomized_seed, domain_randomized=True)
    numbers["synthetic-randomized"], _ = measure(case.images, case)
    title = f"synthetic, seed {args.randomized_seed}, domain-randomized"
    triplanar(case.images, case.labels > 0, args.images / "synth_case_randomized.png", title, case.labels)
    axial[f"randomized, seed {args.randomized_seed}"] = (case.images, case.labels > 0)
    case = generate_case(args.metastasis_seed, lesion="metastasis")
    title = f"synthetic metastasis-like lesion, seed {args.metastasis_seed} (realistic contrast)"
    triplanar(case.images, case.labels > 0, args.images / "synth_case_metastasis.png", title, case.labels)
    side_by_side(axial, args.images / "synth_vs_real_axial.png")
    histogram_figure(numbers, args.images / "synth_histograms.png")

    (args.images / "synth_numbers.json").write_text(json.dumps(numbers, indent=1, default=float) + "\n")
    print(tables(numbers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
