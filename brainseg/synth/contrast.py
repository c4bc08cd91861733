"""Per-sequence tissue appearance: the intensity model of a case, realistic or domain-randomized.

Appearance classes are the healthy tissues (CSF, GM, WM), the tumor sub-regions (ED, NCR for necrosis, ET,
and NET for solid non-enhancing tumor, which BraTS labels NCR too) and VESSEL (choroid plexus, venous
sinuses and cortical vessels: bright on T1ce, dark on T2 and FLAIR).

Realistic contrast (:func:`realistic_contrast`) uses class means relative to white matter, jittered by
+-8 % per case. The orderings follow the textbook appearance of a 1.5-3 T glioma exam:

- T1:    WM > GM > CSF; edema, tumor and necrosis hypointense.
- T1ce:  as T1, plus enhancing tumor, vessels and choroid plexus brighter than anything else.
- T2:    CSF > GM > WM; edema, necrosis and tumor hyperintense.
- FLAIR: GM > WM, CSF suppressed (darkest); edema and non-enhancing tumor brightest.

Domain-randomized contrast (:func:`randomized_contrast`), in the spirit of SynthSeg (Billot et al.,
Medical Image Analysis 2023), draws every healthy class mean of every sequence uniformly at random, so a
model cannot rely on any one scanner's contrast. Only the contrasts that *define* the BraTS sub-regions
are kept as constraints, since without them the labels would be arbitrary: ET is the brightest class on
T1ce (after vessels), and edema is hyperintense to GM and WM on FLAIR.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

SEQUENCES: tuple[str, ...] = ("T1", "T1ce", "T2", "FLAIR")
CLASSES: tuple[str, ...] = ("CSF", "GM", "WM", "ED", "NCR", "NET", "ET", "VESSEL")

# Class means relative to white matter (= 1) per sequence, for :func:`realistic_contrast`. NET here is the
# infiltrative (low-grade-like) end of its range; see REALISTIC_NET_SOLID. VESSEL is venous blood as the two
# real cases show it (`brainseg.synth.measure.blood_like`, medians over WM): 0.59-0.63 / 2.31 / 0.51-0.70 /
# 0.36-0.55 on T1 / T1ce / T2 / FLAIR, brighter than enhancing tumor on T1ce and dark on T2 and FLAIR where
# enhancing tumor is bright (v1-v4 drew 0.7 / 1.9 / 0.9 / 1.0).
REALISTIC_MEANS: dict[str, dict[str, float]] = {
    "T1": {"CSF": 0.45, "GM": 0.80, "WM": 1.0, "ED": 0.72, "NCR": 0.45, "NET": 0.66, "ET": 0.80, "VESSEL": 0.60},
    "T1ce": {"CSF": 0.42, "GM": 0.82, "WM": 1.0, "ED": 0.72, "NCR": 0.45, "NET": 0.68, "ET": 1.85, "VESSEL": 2.5},
    "T2": {"CSF": 3.6, "GM": 1.30, "WM": 1.0, "ED": 2.1, "NCR": 2.8, "NET": 2.3, "ET": 1.7, "VESSEL": 0.55},
    "FLAIR": {"CSF": 0.30, "GM": 1.22, "WM": 1.0, "ED": 1.9, "NCR": 1.3, "NET": 2.0, "ET": 1.6, "VESSEL": 0.45},
}

# The solid end of the non-enhancing tumor's range. Measured on the real BraTS glioma (medians over its white
# matter; docs/training-experiments.md, "Where the TC target is lost"): the core tissue enclosed by the
# enhancing rim is 0.89 / 1.05 / 1.57 / 1.58 on T1 / T1ce / T2 / FLAIR, brighter than its edema on T1ce (0.74)
# and darker on T2 and FLAIR (1.73 / 1.94). Generators v1-v3 drew NET only at the infiltrative end, close to
# edema, and every run trained on them called that real core edema. Each case mixes the two ends with one
# random weight.
REALISTIC_NET_SOLID: dict[str, float] = {"T1": 0.88, "T1ce": 1.03, "T2": 1.6, "FLAIR": 1.6}

# How much of the template's T1 detail each sequence shows, and with which sign: structures that are
# bright on T1 (dense tracts, pallidum) are dark on T2 and, less so, on FLAIR.
REALISTIC_DETAIL: dict[str, float] = {"T1": 1.0, "T1ce": 0.9, "T2": -1.3, "FLAIR": -0.6}

# Range of each sequence's loading on the case's shared bias field (two loadings multiply to the
# correlation of two sequences' fields). Measured on the two real cases (white matter's log intensity
# smoothed over 15 mm, `brainseg.synth.measure.shading_correlations`): T2~FLAIR 0.89-0.94, T1~FLAIR
# 0.57-0.88, T1~T1ce 0.46-0.59, T1ce~FLAIR 0.10-0.11. T1ce's range follows T1~T1ce (pre- and post-contrast
# T1 share one set-up); the real T1ce~FLAIR is lower than that implies, perhaps from T1ce's own slow
# structure (enhancing vessels and dura). Generator v2 drew every field independently (-0.9 to +0.8), and
# the default network read T1-but-not-T1ce shading as tumor.
REALISTIC_BIAS_SHARED: dict[str, tuple[float, float]] = {
    "T1": (0.6, 0.95),
    "T1ce": (0.5, 0.9),
    "T2": (0.85, 1.0),
    "FLAIR": (0.85, 1.0),
}


@dataclass(frozen=True)
class SequenceContrast:
    """Intensity model of one sequence.

    Attributes:
        means: class name -> mean intensity relative to ``level``.
        level: intensity that a mean of 1 is written as (int16 units).
        detail: weight of the template's T1 detail (signed).
        texture: class name -> std of smooth multiplicative texture (fraction of the mean).
        blur_mm: (3,) Gaussian point-spread sigma per axis (mm): partial-volume blur.
        bias: std of the log of the smooth multiplicative bias field.
        bias_shared: loading in [0, 1] of the sequence's log bias field on the case's shared field (receive
            coil and head position shade every sequence alike); the rest is the sequence's own field, with
            weight sqrt(1 - bias_shared**2), so the field's std stays ``bias``.
        noise: Rician noise sigma as a fraction of ``level``.
        gamma: exponent applied to the normalized image (1 = none).
    """

    means: dict[str, float]
    level: float
    detail: float
    texture: dict[str, float]
    blur_mm: tuple[float, float, float]
    bias: float
    noise: float
    gamma: float = 1.0
    bias_shared: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary for ``SyntheticCase.meta``."""
        return {
            "means": {k: round(v, 4) for k, v in self.means.items()},
            "level": round(self.level, 2),
            "detail": round(self.detail, 3),
            "blur_mm": [round(b, 3) for b in self.blur_mm],
            "bias": round(self.bias, 4),
            "bias_shared": round(self.bias_shared, 3),
            "noise": round(self.noise, 4),
            "gamma": round(self.gamma, 3),
        }


def _texture(rng: np.random.Generator, tumor: float, healthy: float) -> dict[str, float]:
    return {c: (healthy if c in ("CSF", "GM", "WM") else tumor) * rng.uniform(0.7, 1.3) for c in CLASSES}


def realistic_contrast(rng: np.random.Generator, net_solidity: float = 0.0) -> dict[str, SequenceContrast]:
    """Textbook contrast with per-case jitter; see the module docstring for the orderings it keeps.

    Non-enhancing tumor (NET) lies between infiltrative (``net_solidity`` 0: darker than edema on T1 and T1ce,
    brighter on T2 and FLAIR) and solid (1: :data:`REALISTIC_NET_SOLID`), one weight for all sequences.

    Blur is 0.35-0.7 mm (3D acquisition) or, for 35 % of sequences, 1.2-2 mm along z (thick slices).

    The noise (1.5-3 % of WM) and level (WM written as 120-220) are modest so int16 files compress well.
    """
    out = {}
    blur = float(rng.uniform(0.35, 0.7))
    for seq in SEQUENCES:
        base = dict(REALISTIC_MEANS[seq])
        base["NET"] += net_solidity * (REALISTIC_NET_SOLID[seq] - base["NET"])
        means = {c: m * float(rng.uniform(0.92, 1.08)) for c, m in base.items()}
        means["WM"] = 1.0
        # About a third of clinical sequences are 2D axial with 3-5 mm slices, resampled to 1 mm for
        # BraTS: blurred along z (sigma ~ thickness / 2.355).
        blur_z = float(rng.uniform(1.2, 2.0)) if rng.random() < 0.35 else blur
        out[seq] = SequenceContrast(
            means=means,
            level=float(rng.uniform(120, 220)),
            detail=REALISTIC_DETAIL[seq] * float(rng.uniform(0.7, 1.2)),
            texture=_texture(rng, tumor=0.10, healthy=0.035),
            blur_mm=(blur, blur, blur_z),
            bias=float(rng.uniform(0.05, 0.25)),
            noise=float(rng.uniform(0.015, 0.03)),
            bias_shared=float(rng.uniform(*REALISTIC_BIAS_SHARED[seq])),
        )
    return out


def randomized_contrast(rng: np.random.Generator) -> dict[str, SequenceContrast]:
    """Domain-randomized contrast: random class means, blur, bias, noise, gamma and level per sequence.

    Healthy classes and the tumor classes on sequences that do not define them are uniform in
    [0.1, 1]; ET on T1ce is 1.2-2 times the brightest other tissue class; edema on FLAIR is 1.2-2 times
    the brighter of GM and WM. Blur is anisotropic 30 % of the time (one axis up to 3 mm, like
    reformatted thick-slice acquisitions).
    """
    out = {}
    for seq in SEQUENCES:
        means = {c: float(rng.uniform(0.1, 1.0)) for c in CLASSES}
        if seq == "T1ce":
            brightest = max(means[c] for c in ("CSF", "GM", "WM", "ED", "NCR", "NET"))
            means["ET"] = brightest * float(rng.uniform(1.2, 2.0))
            means["VESSEL"] = means["ET"] * float(rng.uniform(0.8, 1.3))
        if seq == "FLAIR":
            means["ED"] = max(means["GM"], means["WM"]) * float(rng.uniform(1.2, 2.0))
        blur = rng.uniform(0.3, 1.0, size=3)
        if rng.random() < 0.3:
            blur[rng.integers(3)] = rng.uniform(1.0, 3.0)
        out[seq] = SequenceContrast(
            means=means,
            level=float(rng.uniform(200, 800)),
            detail=float(rng.uniform(-1.5, 1.5)),
            texture=_texture(rng, tumor=rng.uniform(0.02, 0.2), healthy=rng.uniform(0.0, 0.08)),
            blur_mm=(float(blur[0]), float(blur[1]), float(blur[2])),
            bias=float(rng.uniform(0.0, 0.3)),
            noise=float(rng.uniform(0.005, 0.06)),
            gamma=float(np.exp(rng.uniform(-0.3, 0.3))),
            bias_shared=float(rng.uniform(0.0, 1.0)),
        )
    return out


def cystic_core_contrast(
    rng: np.random.Generator, contrast: dict[str, SequenceContrast], domain_randomized: bool
) -> dict[str, SequenceContrast]:
    """``contrast`` with the necrotic core (class NCR) made a fluid-filled cyst, as in many metastases.

    Cyst fluid ranges from clear (CSF-like) to proteinaceous: on T1 and T1ce anywhere between CSF and 0.95 (T1)
    or 0.8 (T1ce) of the brighter of grey and white matter, on T2 0.75 to 1 times CSF's brightness, on FLAIR anywhere
    from CSF-dark to a little above grey matter; it has little texture. In realistic contrast the rim and
    the edema are drawn wider too, since a thin rim and metastasis edema are often only mildly bright:
    ET 1.35-1.9 x WM on T1ce, edema 1.3-2.0 x WM on FLAIR and 0.72-0.95 x WM on T1 (the real AURORA
    metastasis: cyst z-scores T1 -0.1, T1ce -1.0, T2 2.0, FLAIR 0.4; rim T1ce 2.1). With random contrast
    the cyst follows the case's random CSF and tissue means, and stays under the enhancing tumor on T1ce.
    """
    out = {}
    for seq, sequence in contrast.items():
        means = dict(sequence.means)
        texture = dict(sequence.texture)
        csf, tissue = means["CSF"], max(means["GM"], means["WM"])
        if seq in ("T1", "T1ce"):
            top = (0.95 if seq == "T1" else 0.8) * tissue
            means["NCR"] = float(rng.uniform(min(csf, top), top))
        elif seq == "T2":
            means["NCR"] = csf * float(rng.uniform(0.75, 1.0))
        else:
            means["NCR"] = float(rng.uniform(min(csf, means["GM"]), 1.3 * max(csf, means["GM"])))
        if not domain_randomized:
            if seq == "T1ce":
                means["ET"] = float(rng.uniform(1.35, 1.9))
            elif seq == "FLAIR":
                means["ED"] = float(rng.uniform(1.3, 2.0))
            elif seq == "T1":
                means["ED"] = float(rng.uniform(0.72, 0.95))
        if seq == "T1ce":
            means["NCR"] = min(means["NCR"], means["ET"] / 1.2)
        texture["NCR"] = float(rng.uniform(0.01, 0.04))
        out[seq] = replace(sequence, means=means, texture=texture)
    return out
