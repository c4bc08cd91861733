"""Pixel tier of tritier-film (seed paper 001): simulated ultrasound and synthetic CT computed from the MRI.

Both start from the same tissue model: a Gaussian mixture over the four z-scored MRI intensities whose
components are brain tissues (CSF, grey and white matter) and tumor compartments (edema, necrosis,
enhancing tumor). :func:`tissue_posteriors` gives each voxel's responsibilities; then

- synthetic CT (paper: p(I_CT | I_MRI) = sum_k pi_k N(I_CT; mu_k, Sigma_k)) takes the components' densities
  in Hounsfield units, weighted by the responsibilities, plus each component's own noise;
- simulated ultrasound (paper: Z = f(I_MRI)) maps the responsibilities to acoustic impedance, echoes the
  impedance jumps met by a beam running from the vertex down (amplitude reflection coefficient), adds
  tissue backscatter times Rayleigh speckle, and log-compresses to [0, 1].

Everything is torch on the images' device, deterministic given a ``torch.Generator``; nothing is
differentiable by design (teachers see these images as inputs). Values are textbook figures, approximate by
nature: they need to order tissues correctly, not to reproduce a scanner.

Arrays are (B, C, X, Y, Z) in the RAS frame (Z increases upwards), MRI z-scored per sequence over the brain
with zeros outside it (``zscore-brain``); voxels zero in every sequence are outside the brain.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

TISSUES: tuple[str, ...] = ("CSF", "GM", "WM", "edema", "necrosis", "enhancing")

# Mean z-scored intensity of each tissue per sequence (its mixture component's centre). CSF: dark on T1 and
# FLAIR, bright on T2; white matter brighter than grey on T1, darker on T2; edema bright on T2 and FLAIR;
# necrosis dark on T1, bright on T2; enhancing tumor bright on T1ce.
MRI_SIGNATURES: dict[str, dict[str, float]] = {
    "CSF": {"T1": -1.5, "T1ce": -1.3, "T2": 2.0, "FLAIR": -1.2},
    "GM": {"T1": -0.3, "T1ce": -0.2, "T2": 0.5, "FLAIR": 0.3},
    "WM": {"T1": 0.8, "T1ce": 0.6, "T2": -0.7, "FLAIR": -0.4},
    "edema": {"T1": -0.5, "T1ce": -0.4, "T2": 1.4, "FLAIR": 1.8},
    "necrosis": {"T1": -1.1, "T1ce": -0.9, "T2": 1.8, "FLAIR": 0.6},
    "enhancing": {"T1": 0.0, "T1ce": 2.5, "T2": 0.7, "FLAIR": 1.0},
}
TISSUE_PRIORS = (0.15, 0.4, 0.35, 0.04, 0.02, 0.04)  # mixture weights before seeing the voxel
MIXTURE_SIGMA = 0.7  # isotropic spread of each component, z units

# Non-contrast CT density (mean, noise) in HU: grey matter denser than white, CSF near water, edema and
# necrosis hypodense, cellular tumor near grey matter.
CT_HU: dict[str, tuple[float, float]] = {
    "CSF": (8.0, 4.0),
    "GM": (40.0, 4.0),
    "WM": (28.0, 4.0),
    "edema": (18.0, 5.0),
    "necrosis": (14.0, 6.0),
    "enhancing": (38.0, 6.0),
}
AIR_HU = -1000.0  # outside the skull-stripped brain

# Acoustic impedance (MRayl) and relative backscatter: CSF and necrosis nearly anechoic, gliomas
# hyperechoic on intra-operative ultrasound, edema mildly so.
IMPEDANCE_MRAYL: dict[str, float] = {
    "CSF": 1.50,
    "GM": 1.58,
    "WM": 1.62,
    "edema": 1.55,
    "necrosis": 1.52,
    "enhancing": 1.66,
}
BACKSCATTER: dict[str, float] = {"CSF": 0.02, "GM": 0.3, "WM": 0.45, "edema": 0.55, "necrosis": 0.1, "enhancing": 0.9}
COUPLING_MRAYL = 1.48  # the saline / gel the probe sits in, outside the brain
INTERFACE_GAIN = 20.0  # amplitude reflection coefficients of soft tissue are ~0.01-0.05: bring to backscatter scale
DYNAMIC_RANGE = 30.0  # log compression: out = log(1 + c a) / log(1 + c max)


def brain_mask(images: torch.Tensor) -> torch.Tensor:
    """(B, C, *S) -> (B, 1, *S) bool, True where any sequence is nonzero."""
    return (images != 0).any(dim=1, keepdim=True)


def tissue_posteriors(images: torch.Tensor, sequences: list[str]) -> torch.Tensor:
    """Responsibilities of the tissue mixture, (B, 4, *S) z-scored MRI -> (B, K, *S), K = len(TISSUES).

    ``sequences`` names the channels (e.g. ``["T1", "T1ce", "T2", "FLAIR"]``); each must have a signature.
    Responsibilities sum to one at every voxel (also outside the brain, where callers ignore them).
    """
    unknown = [s for s in sequences if s not in MRI_SIGNATURES["CSF"]]
    if unknown or len(sequences) != images.shape[1]:
        raise ValueError(
            f"pixel tier needs one known sequence name per channel ({', '.join(MRI_SIGNATURES['CSF'])}), "
            f"got {sequences} for {images.shape[1]} channels"
        )
    centres = images.new_tensor([[MRI_SIGNATURES[t][s] for s in sequences] for t in TISSUES])  # (K, C)
    shape = (1, *centres.shape, *([1] * (images.dim() - 2)))
    distance = (images.unsqueeze(1) - centres.view(shape)).square().sum(dim=2)  # (B, K, *S)
    log_prior = images.new_tensor(TISSUE_PRIORS).log().view(1, -1, *([1] * (images.dim() - 2)))
    return (log_prior - distance / (2 * MIXTURE_SIGMA**2)).softmax(dim=1)  # (B, K, *S)


def _per_tissue(values: dict[str, float], like: torch.Tensor) -> torch.Tensor:
    """Tissue table -> (1, K, 1, ..., 1) to weight responsibilities (B, K, *S)."""
    return like.new_tensor([values[t] for t in TISSUES]).view(1, -1, *([1] * (like.dim() - 2)))


def synthesize_ct(
    images: torch.Tensor, sequences: list[str], generator: torch.Generator | None = None, noise: bool = True
) -> torch.Tensor:
    """Synthetic CT in HU, (B, 4, *S) z-scored MRI -> (B, 1, *S) float32; air (-1000) outside the brain.

    Each voxel's density is the mixture of its tissues' densities, each with its own Gaussian noise
    (``noise=False`` gives the conditional mean). Deterministic for a given ``generator`` state.
    """
    weights = tissue_posteriors(images, sequences)  # (B, K, *S)
    mean_hu = _per_tissue({t: hu for t, (hu, _) in CT_HU.items()}, weights)
    noise_hu = _per_tissue({t: sd for t, (_, sd) in CT_HU.items()}, weights)
    hu = (weights * mean_hu).sum(dim=1, keepdim=True)  # (B, 1, *S)
    if noise:
        spread = (weights * noise_hu).sum(dim=1, keepdim=True)  # (B, 1, *S)
        hu = hu + spread * torch.randn(hu.shape, generator=generator, device=hu.device, dtype=hu.dtype)
    return torch.where(brain_mask(images), hu, torch.full_like(hu, AIR_HU))


def simulate_ultrasound(
    images: torch.Tensor, sequences: list[str], generator: torch.Generator | None = None, speckle: bool = True
) -> torch.Tensor:
    """B-mode-like ultrasound, (B, 4, X, Y, Z) z-scored MRI -> (B, 1, X, Y, Z) float32 in [0, 1].

    The beam runs along Z from the top of the volume down (a probe on the vertex). Echo amplitude at a voxel
    is the gain-scaled amplitude reflection coefficient |Z2 - Z1| / (Z2 + Z1) of the impedance step below
    it, plus the tissue's backscatter times unit-mean Rayleigh speckle (``speckle=False``: times one),
    scaled by the energy still transmitted (the product of (1 - r^2) over the steps above), then
    log-compressed. Deterministic for a given ``generator`` state; zero outside the brain.
    """
    weights = tissue_posteriors(images, sequences)  # (B, K, *S)
    inside = brain_mask(images)  # (B, 1, *S)
    impedance = (weights * _per_tissue(IMPEDANCE_MRAYL, weights)).sum(dim=1, keepdim=True)  # (B, 1, *S)
    impedance = torch.where(inside, impedance, torch.full_like(impedance, COUPLING_MRAYL))
    scatter = (weights * _per_tissue(BACKSCATTER, weights)).sum(dim=1, keepdim=True) * inside  # (B, 1, *S)

    beam = impedance.flip(-1)  # (B, 1, X, Y, Z), index 0 = top of the head
    deeper = torch.cat([beam[..., 1:], beam[..., -1:]], dim=-1)  # impedance one voxel further down
    reflection = ((deeper - beam) / (deeper + beam)).abs()  # (B, 1, X, Y, Z), amplitude coefficient
    passed = torch.cumsum(torch.log1p(-reflection.square()), dim=-1).exp()  # energy left below each step
    transmitted = torch.cat([torch.ones_like(passed[..., :1]), passed[..., :-1]], dim=-1)  # ... above each voxel
    specular = (transmitted * INTERFACE_GAIN * reflection).flip(-1)  # (B, 1, X, Y, Z), back to Z up

    if speckle:
        shape = (2, *scatter.shape)
        field = torch.randn(shape, generator=generator, device=scatter.device, dtype=scatter.dtype)  # re, im
        field = F.avg_pool3d(field.flatten(0, 1), 3, stride=1, padding=1, count_include_pad=False)  # correlated
        rayleigh = field.view(shape).square().sum(dim=0).sqrt()  # (B, 1, *S), Rayleigh amplitude
        rayleigh = rayleigh / rayleigh.mean(dim=(2, 3, 4), keepdim=True)  # unit mean
    else:
        rayleigh = torch.ones_like(scatter)
    echo = (specular + scatter * rayleigh) * inside  # (B, 1, X, Y, Z) amplitude
    return (torch.log1p(DYNAMIC_RANGE * echo) / math.log1p(DYNAMIC_RANGE * 2.0)).clamp(0, 1)
