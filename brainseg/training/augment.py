"""On-the-fly training augmentation (paper 000, appendix A.2) and tumor-focused patch cropping.

Besides tumor and random brain voxels, patches may be centred on hard negatives (:func:`hard_negative_mask`):
normal tissue that looks like tumor, such as the contrast-filled venous sinuses that the demo checkpoints
kept marking on the real cases, or FLAIR-bright normal tissue that they called edema on synthetic ones.

A *sample* is a dict ``{"images": (4, P, P, P) float32 normalized, "labels": (P, P, P) uint8 internal}``
(channels T1, T1ce, T2, FLAIR; labels 0 bg, 1 NCR, 2 ED, 3 ET). Each transform is a small callable in the
MONAI style: ``__init__`` stores and checks its parameters, ``__call__(sample, rng) -> sample`` returns a
new dict (input arrays are never modified) and draws every random number from the given
:class:`numpy.random.Generator`, so one generator seed fixes the whole augmentation.

A.2 lists: flips per spatial axis (p = 0.5), rotations within +-15 degrees (p = 0.3), gamma
U(0.8, 1.2) (p = 0.3), tumor-focused cropping, and contrast stretching by 1.25 (ET) and 1.2 (TC)
(p = 0.5); :func:`default_augmentation` chains them with those values, optionally followed by
transforms of ours: :class:`BrainEdgeArtifact`, for the rims that skull stripping leaves on real scans,
:class:`RandomBiasField`, for the coil and slab shading that real scans carry in one sequence and not another,
:class:`RandomSlabCut`, for the flat end of the brain where a sequence's slab ends, and
:class:`RandomSequenceDropout`, for cases that lack sequences (zeroed channels, as inference feeds them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from brainseg.errors import BrainSegError
from brainseg.io.availability import usable_subsets
from brainseg.io.naming import SEQUENCES
from brainseg.labels import region_mask
from brainseg.preprocess import bounding_box
from brainseg.synth.fields import smooth_noise

Sample = dict[str, np.ndarray]

_PLANES = ((0, 1), (0, 2), (1, 2))
"""Spatial axis pairs (of a (X, Y, Z) array) that a rotation can turn."""


def _check_probability(name: str, p: float) -> float:
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _brain(images: np.ndarray) -> np.ndarray:
    """(X, Y, Z) bool: voxels where any channel is nonzero (normalization keeps 0 outside the brain)."""
    return np.any(images != 0, axis=0)


class RandomFlip:
    """Mirror the sample along each spatial axis independently with probability ``p``.

    Args:
        p: probability of flipping each of X, Y, Z.

    Example: ``RandomFlip(0.5)({"images": (4, 128, 128, 128), "labels": (128, 128, 128)}, rng)`` keeps shapes.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_probability("RandomFlip", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        draws = rng.random(3)  # always three draws, so later transforms see the same stream whatever p is
        axes = tuple(int(a) for a in np.flatnonzero(draws < self.p))
        if not axes:
            return dict(sample)
        return {
            **sample,
            "images": np.ascontiguousarray(np.flip(sample["images"], axis=tuple(a + 1 for a in axes))),
            "labels": np.ascontiguousarray(np.flip(sample["labels"], axis=axes)),
        }


class RandomRotation:
    """With probability ``p``, rotate by an angle in [-max_degrees, +max_degrees] in one random axis plane.

    Images are interpolated linearly, labels by nearest neighbour (so they stay in {0, 1, 2, 3}); both
    turn about the array centre, keep their shape and get 0 where the rotation brings in voxels from
    outside. Voxels are taken as isotropic (BrainSeg trains at 1 mm). One plane (XY, XZ or YZ) per call
    keeps it to ~0.4 s for a (4, 128, 128, 128) sample on one core; across samples every plane occurs.

    Args:
        max_degrees: largest absolute angle, degrees.
        p: probability of rotating at all.
    """

    def __init__(self, max_degrees: float = 15.0, p: float = 0.3) -> None:
        if not 0.0 <= float(max_degrees) <= 180.0:
            raise ValueError(f"RandomRotation: max_degrees must be in [0, 180], got {max_degrees!r}")
        self.max_degrees = float(max_degrees)
        self.p = _check_probability("RandomRotation", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        plane = _PLANES[int(rng.integers(len(_PLANES)))]
        angle = float(rng.uniform(-self.max_degrees, self.max_degrees))
        if not apply:
            return dict(sample)
        return {**sample, **rotate(sample["images"], sample["labels"], angle, plane)}


def rotate(images: np.ndarray, labels: np.ndarray, degrees: float, plane: tuple[int, int]) -> Sample:
    """Rotate (4, X, Y, Z) images (linear) and (X, Y, Z) labels (nearest) by ``degrees`` in spatial ``plane``.

    Returns:
        ``{"images": (4, X, Y, Z) float32, "labels": (X, Y, Z) uint8}`` on the same grid.
    """
    rotated = np.empty_like(images, dtype=np.float32)
    for channel, out in zip(images, rotated, strict=True):
        ndi.rotate(channel, degrees, axes=plane, reshape=False, output=out, order=1, mode="constant", cval=0.0)
    rotated_labels = ndi.rotate(labels, degrees, axes=plane, reshape=False, order=0, mode="constant", cval=0)
    return {"images": rotated, "labels": rotated_labels.astype(np.uint8, copy=False)}


class RandomGamma:
    """With probability ``p``, gamma-correct every channel inside the brain with one gamma ~ U(low, high).

    Normalized intensities can be negative (z-scores), so each channel's brain voxels are min-max rescaled
    to [0, 1], raised to gamma, and mapped back to their original range: the brain's minimum and maximum
    stay put and the values between bend. Voxels outside the brain stay 0.

    Args:
        gamma_range: (low, high), both positive.
        p: probability of applying.
    """

    def __init__(self, gamma_range: tuple[float, float] = (0.8, 1.2), p: float = 0.3) -> None:
        low, high = (float(g) for g in gamma_range)
        if not 0.0 < low <= high:
            raise ValueError(f"RandomGamma: gamma_range must be (low, high) with 0 < low <= high, got {gamma_range!r}")
        self.gamma_range = (low, high)
        self.p = _check_probability("RandomGamma", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        gamma = float(rng.uniform(*self.gamma_range))
        if not apply:
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        brain = _brain(images)
        for channel in images:
            values = channel[brain]
            if values.size == 0:
                continue
            low, high = values.min(), values.max()
            if high > low:
                scaled = (values - low) / (high - low)
                channel[brain] = low + (high - low) * scaled**gamma
        return {**sample, "images": images}


class RegionContrastStretch:
    """With probability ``p``, magnify the contrast of the tumor core and enhancing tumor on chosen channels.

    Paper 000 (section 3.2, "target region enhancement", and A.2) stretches contrast by 1.25 in ET and
    1.2 in TC, p = 0.5, as an on-the-fly augmentation (it needs the truth, so it never runs at inference).
    Each region's voxels move away from the *local mean*, the channel's mean over the region and a shell
    of ``margin`` voxels around it inside the brain: ``x -> m + factor * (x - m)``. A region that differs
    from its surroundings (ET is the brightest class on T1ce) thus differs 25 % / 20 % more.

    TC contains ET, so each voxel takes the factor of the smallest region holding it: ET voxels 1.25 about
    the ET local mean, the rest of TC (NCR) 1.2 about the TC local mean. Stretching TC and then ET again
    would compound to 1.5 in ET, which is not what the paper's "approximately 25 % for ET" describes.

    The paper does not say which sequences; the default is T1ce (channel 1), the sequence that defines
    ET and the necrotic core and the one its pixel-level fusion singles out for contrast adjustment.

    Args:
        factors: region name (from :data:`brainseg.labels.REGIONS`) -> factor, innermost region last
            wins; default ``{"TC": 1.2, "ET": 1.25}``.
        p: probability of applying.
        channels: channel indices to stretch (0 T1, 1 T1ce, 2 T2, 3 FLAIR).
        margin: shell width in voxels for the local mean.
    """

    def __init__(
        self,
        factors: dict[str, float] | None = None,
        p: float = 0.5,
        channels: Sequence[int] = (1,),
        margin: int = 3,
    ) -> None:
        self.factors = dict(factors) if factors is not None else {"TC": 1.2, "ET": 1.25}
        for region, factor in self.factors.items():
            region_mask(np.zeros(1, np.uint8), region)  # raises for an unknown region, listing the valid ones
            if float(factor) <= 0:
                raise ValueError(f"RegionContrastStretch: factor for {region} must be positive, got {factor!r}")
        self.p = _check_probability("RegionContrastStretch", p)
        self.channels = tuple(int(c) for c in channels)
        if any(c < 0 or c > 3 for c in self.channels):
            raise ValueError(f"RegionContrastStretch: channels must be indices in 0..3, got {channels!r}")
        if int(margin) < 1:
            raise ValueError(f"RegionContrastStretch: margin must be a positive number of voxels, got {margin!r}")
        self.margin = int(margin)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if not rng.random() < self.p:
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        labels = sample["labels"]
        brain = _brain(images) | (labels > 0)
        # Regions in order; a later (inner) region's voxels are taken out of the earlier ones.
        masks = {region: region_mask(labels, region) for region in self.factors}
        assigned = np.zeros(labels.shape, dtype=bool)
        for region in reversed(list(self.factors)):
            own = masks[region] & ~assigned
            assigned |= masks[region]
            if own.any():
                self._stretch(images, masks[region], own, brain, float(self.factors[region]))
        return {**sample, "images": images}

    def _stretch(self, images: np.ndarray, region: np.ndarray, own: np.ndarray, brain: np.ndarray, f: float) -> None:
        """Stretch ``own`` voxels in place about the mean over ``region`` dilated by the margin (within the brain)."""
        box = bounding_box(region, self.margin)
        local = ndi.binary_dilation(region[box], iterations=self.margin) & brain[box]
        for c in self.channels:
            channel = images[c][box]  # a view: writes go to ``images``
            mean = channel[local].mean(dtype=np.float64)
            channel[own[box]] = (mean + f * (channel[own[box]] - mean)).astype(np.float32)


class BrainEdgeArtifact:
    """With probability ``p``, shift the intensities of a thin shell at the brain's outer edge, per channel.

    Not in A.2. Real skull-stripped scans carry rims at the brain's edge (partial volume with dura and
    CSF, residual skull or vessels, FLAIR's bright cortex) that synthetic brains lack; without this, a
    network trained on synthetic cases takes them for tumor. The shell is the brain minus its erosion by
    1 to ``max_width`` voxels (the patch border is not an edge); tumor voxels are left alone so the labels
    stay true. Each channel is offset by U(low, high) (in the normalized units, e.g. z-scores).

    Args:
        max_width: thickest shell in voxels.
        offset_range: (low, high) intensity offsets.
        p: probability of applying.
    """

    def __init__(self, max_width: int = 3, offset_range: tuple[float, float] = (-1.0, 2.5), p: float = 0.3) -> None:
        if int(max_width) < 1:
            raise ValueError(f"BrainEdgeArtifact: max_width must be at least 1 voxel, got {max_width!r}")
        self.max_width = int(max_width)
        self.offset_range = (float(offset_range[0]), float(offset_range[1]))
        self.p = _check_probability("BrainEdgeArtifact", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        width = int(rng.integers(1, self.max_width + 1))
        offsets = rng.uniform(*self.offset_range, size=sample["images"].shape[0])
        if not apply:
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        brain = _brain(images)
        inner = ndi.binary_erosion(brain, iterations=width, border_value=1)
        shell = brain & ~inner & (sample["labels"] == 0)
        for channel, offset in zip(images, offsets, strict=True):
            channel[shell] += offset
        return {**sample, "images": images}


class RandomBiasField:
    """With probability ``p``, shade each channel by its own smooth multiplicative field inside the brain.

    Not in A.2. Real scans carry intensity shading from receive coils and slab profiles that differs from
    sequence to sequence: in one cerebellar hemisphere of the AURORA case, T1 and FLAIR are 0.4 and 0.2 SD
    brighter than at the mirrored place in the other, and checkpoints trained with more non-enhancing
    tumors marked 7 mL of "edema" there. The synthetic cases' own fields are drawn once per case; this adds
    fresh ones per patch. Normalized intensities can be negative, so each channel is shifted to start at 0
    over the brain, multiplied by ``exp(strength * field)`` (field: unit-variance smooth noise correlated
    over ``scale`` voxels; strength ~ U(0, max_strength) per channel) and shifted back. Voxels outside the
    brain stay 0; labels are unchanged.

    Args:
        max_strength: largest standard deviation of the log of the field (0.3: a field mostly within
            x0.55 .. x1.8).
        scale: correlation length of the field, voxels (mm at 1 mm).
        p: probability of applying.
    """

    def __init__(self, max_strength: float = 0.3, scale: float = 40.0, p: float = 0.3) -> None:
        if not 0.0 <= float(max_strength) <= 1.0:
            raise ValueError(f"RandomBiasField: max_strength must be in [0, 1], got {max_strength!r}")
        if not float(scale) > 0.0:
            raise ValueError(f"RandomBiasField: scale must be a positive number of voxels, got {scale!r}")
        self.max_strength = float(max_strength)
        self.scale = float(scale)
        self.p = _check_probability("RandomBiasField", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        strengths = rng.uniform(0.0, self.max_strength, size=sample["images"].shape[0])
        field_seed = int(rng.integers(2**32))  # the fields draw from their own stream: a fixed count of draws here
        if not apply:
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        brain = _brain(images)
        field_rng = np.random.default_rng(field_seed)
        for channel, strength in zip(images, strengths, strict=True):
            values = channel[brain]
            if values.size == 0:
                continue
            field = np.exp(np.float32(strength) * smooth_noise(field_rng, channel.shape, self.scale)[brain])
            low = values.min()
            channel[brain] = low + (values - low) * field
        return {**sample, "images": images}


class RandomSlabCut:
    """With probability ``p``, end the brain at a plane: every channel 0 and no label on one side of it.

    Not in A.2. A sequence acquired as a shorter slab leaves part of the brain outside its field of view;
    the app then gives the networks only the voxels every sequence covers (:mod:`brainseg.preprocess.coverage`),
    so the brain ends at a flat cut, a surface no synthetic brain has. On the real AURORA case the T1ce slab
    ends in the lower cerebellum on a plane tilted ~23 degrees from axial, and checkpoints trained on more
    cases marked 6-9 mL of tumor just above it. The plane passes through a random brain voxel of the
    patch; its normal is the Z axis (the slab axis of axial acquisitions) tilted by up to ``max_tilt``
    degrees about X and about Y, pointing up or down at random (flips also turn it).

    Args:
        max_tilt: largest tilt of the cut from the axial plane about each in-plane axis, degrees.
        p: probability of applying.
    """

    def __init__(self, max_tilt: float = 30.0, p: float = 0.2) -> None:
        if not 0.0 <= float(max_tilt) < 90.0:
            raise ValueError(f"RandomSlabCut: max_tilt must be in [0, 90) degrees, got {max_tilt!r}")
        self.max_tilt = float(max_tilt)
        self.p = _check_probability("RandomSlabCut", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        tilts = np.tan(np.deg2rad(rng.uniform(-self.max_tilt, self.max_tilt, size=2)))
        side = 1.0 if rng.random() < 0.5 else -1.0
        anchor = rng.random()
        if not apply:
            return dict(sample)
        brain = _brain(sample["images"])
        centre = _voxel_at(brain, anchor)
        if centre is None:
            return dict(sample)
        x, y, z = np.ogrid[tuple(slice(0, n) for n in brain.shape)]
        # Signed offset along the tilted normal (not unit length; only its sign matters).
        offset = (z - centre[2]) - tilts[0] * (y - centre[1]) - tilts[1] * (x - centre[0])
        removed = side * offset < 0
        images = sample["images"].astype(np.float32, copy=True)
        images[:, removed] = 0.0
        labels = sample["labels"].copy()
        labels[removed] = 0
        return {**sample, "images": images, "labels": labels}


class RandomContrast:
    """With probability ``p``, scale each channel's brain voxels about their mean by its own factor.

    Not in A.2: real scanners and protocols differ in tissue contrast, which z-scoring does not remove
    (it fixes the brain's spread, not how far tumor sits from white matter within it). Each channel
    gets ``x -> m + c * (x - m) + s`` with ``c ~ U(low, high)`` and ``s ~ U(-max_shift, max_shift)``
    (normalized units), ``m`` the channel's brain mean. Voxels outside the brain stay 0.

    Args:
        factor_range: (low, high) contrast factors, both positive.
        max_shift: largest brightness shift, normalized units.
        p: probability of applying.
    """

    def __init__(self, factor_range: tuple[float, float] = (0.75, 1.25), max_shift: float = 0.2, p: float = 0.3):
        low, high = (float(f) for f in factor_range)
        if not 0.0 < low <= high:
            raise ValueError(f"RandomContrast: factor_range must be (low, high), 0 < low <= high, got {factor_range!r}")
        if float(max_shift) < 0.0:
            raise ValueError(f"RandomContrast: max_shift must be at least 0, got {max_shift!r}")
        self.factor_range, self.max_shift = (low, high), float(max_shift)
        self.p = _check_probability("RandomContrast", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        channels = sample["images"].shape[0]
        factors = rng.uniform(*self.factor_range, size=channels)
        shifts = rng.uniform(-self.max_shift, self.max_shift, size=channels)
        if not apply:
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        brain = _brain(images)
        for channel, factor, shift in zip(images, factors, shifts, strict=True):
            values = channel[brain]
            if values.size:
                mean = values.mean(dtype=np.float64)
                channel[brain] = (mean + factor * (values - mean) + shift).astype(np.float32)
        return {**sample, "images": images}


class RandomNoise:
    """With probability ``p``, add Gaussian noise of standard deviation ~ U(0, max_sigma) to each channel's brain.

    Not in A.2: older and faster scans are noisier than the BraTS average. Normalized units (z-scores: 0.1
    is a tenth of the brain's spread); voxels outside the brain stay 0.
    """

    def __init__(self, max_sigma: float = 0.1, p: float = 0.3) -> None:
        if float(max_sigma) < 0.0:
            raise ValueError(f"RandomNoise: max_sigma must be at least 0, got {max_sigma!r}")
        self.max_sigma = float(max_sigma)
        self.p = _check_probability("RandomNoise", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        sigmas = rng.uniform(0.0, self.max_sigma, size=sample["images"].shape[0])
        noise_seed = int(rng.integers(2**32))
        if not apply:
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        brain = _brain(images)
        noise_rng = np.random.default_rng(noise_seed)
        for channel, sigma in zip(images, sigmas, strict=True):
            channel[brain] += noise_rng.normal(0.0, sigma, size=int(brain.sum())).astype(np.float32)
        return {**sample, "images": images}


class RandomLowResolution:
    """With probability ``p``, make some channels look acquired in thick slices along one axis.

    Not in A.2: many real scans, the older BraTS ones among them, were acquired in 3-6 mm slices (often
    T2 and FLAIR, while T1ce is 1 mm) and resampled to the 1 mm grid, which blurs edema borders and
    small enhancing rims across slices. Each channel is picked with probability ``channel_p``; a picked
    channel is blurred along ``axis`` by a Gaussian slice profile of FWHM = the thickness t ~ U(low, high)
    voxels (mm at 1 mm), sampled every t voxels from a random offset and linearly interpolated back.
    Voxels outside the brain stay 0; labels are unchanged (real truths are drawn on such resampled
    images too).

    Args:
        thickness_range: (low, high) slice thickness in voxels, low >= 1.
        axis: spatial axis of the slices (2: Z, axial acquisitions), or None for a random one per call.
        channel_p: probability of each channel being thick-sliced, given that the transform applies.
        p: probability of applying.
    """

    def __init__(
        self,
        thickness_range: tuple[float, float] = (3.0, 6.0),
        axis: int | None = None,
        channel_p: float = 0.5,
        p: float = 0.25,
    ) -> None:
        low, high = (float(t) for t in thickness_range)
        if not 1.0 <= low <= high:
            raise ValueError(
                f"RandomLowResolution: thickness_range must be (low, high), 1 <= low <= high, got {thickness_range!r}"
            )
        if axis is not None and axis not in (0, 1, 2):
            raise ValueError(f"RandomLowResolution: axis must be 0, 1, 2 or None, got {axis!r}")
        self.thickness_range, self.axis = (low, high), axis
        self.channel_p = _check_probability("RandomLowResolution channel_p", channel_p)
        self.p = _check_probability("RandomLowResolution", p)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        axis = int(rng.integers(3)) if self.axis is None else self.axis
        thickness = float(rng.uniform(*self.thickness_range))
        offset = float(rng.uniform(0.0, thickness))
        picked = rng.random(sample["images"].shape[0]) < self.channel_p
        if not apply or not picked.any():
            return dict(sample)
        images = sample["images"].astype(np.float32, copy=True)
        brain = _brain(images)
        for index in np.flatnonzero(picked):
            images[index] = thick_slices(images[index], axis, thickness, offset) * brain
        return {**sample, "images": images}


def thick_slices(volume: np.ndarray, axis: int, thickness: float, offset: float = 0.0) -> np.ndarray:
    """(X, Y, Z) float32: ``volume`` as if sampled in slices ``thickness`` voxels thick along ``axis``.

    Slice profile: a Gaussian of FWHM ``thickness`` (sigma = FWHM / 2.355); slice centres at
    ``offset, offset + thickness, ...`` voxels; linear interpolation between them (constant beyond the
    first and last centre).
    """
    blurred = ndi.gaussian_filter1d(volume.astype(np.float32), thickness / 2.355, axis=axis, mode="nearest")
    length = volume.shape[axis]
    centres = np.arange(offset, length, thickness)
    if centres.size < 2:
        return blurred
    lower = np.clip(np.floor(centres).astype(int), 0, length - 1)
    upper = np.clip(lower + 1, 0, length - 1)
    weight = (centres - np.floor(centres)).astype(np.float32)
    shape = [1, 1, 1]
    shape[axis] = centres.size
    coarse = np.take(blurred, lower, axis=axis) * (1 - weight).reshape(shape) + np.take(
        blurred, upper, axis=axis
    ) * weight.reshape(shape)
    # Back to every voxel: its position in slice units, between two slice centres.
    position = np.clip((np.arange(length) - offset) / thickness, 0, centres.size - 1)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, centres.size - 1)
    share = (position - below).astype(np.float32)
    shape[axis] = length
    return np.take(coarse, below, axis=axis) * (1 - share).reshape(shape) + np.take(
        coarse, above, axis=axis
    ) * share.reshape(shape)


class RandomSequenceDropout:
    """With probability ``p``, keep only one usable subset of the sequences and zero the other channels.

    Not in A.2: clinical cases often lack sequences (:mod:`brainseg.io.availability`). The subset is drawn
    uniformly from the 11 proper subsets that hold FLAIR or T1ce; a dropped channel becomes 0 everywhere,
    which is what a missing sequence is after normalization at inference (an all-zero channel normalizes
    to 0). The labels are kept: the network learns to answer what the remaining sequences still show.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_probability("RandomSequenceDropout", p)
        self.subsets = [subset for subset in usable_subsets() if len(subset) < len(SEQUENCES)]

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        apply = rng.random() < self.p
        pick = int(rng.integers(len(self.subsets)))
        if not apply:
            return dict(sample)
        keep = [SEQUENCES.index(s) for s in self.subsets[pick]]
        images = np.zeros_like(sample["images"])
        images[keep] = sample["images"][keep]
        return {**sample, "images": images}


class Compose:
    """Apply transforms in order, all drawing from one generator.

    Example::

        augment = Compose([RandomFlip(), RandomRotation(), RandomGamma(), RegionContrastStretch()])
        sample = augment({"images": images, "labels": labels}, np.random.default_rng(0))
    """

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        for transform in self.transforms:
            sample = transform(sample, rng)
        return sample


def real_domain_augmentation() -> list:
    """Ours, for the real domain (``brainseg train --real-augment``): thick slices, per-sequence shading,
    contrast and noise, in acquisition order (the slice profile first, noise last)."""
    return [RandomLowResolution(), RandomBiasField(), RandomContrast(), RandomNoise()]


def default_augmentation(
    edge_artifacts: bool = False,
    bias_field: bool = False,
    slab_cuts: bool = False,
    real_domain: bool = False,
    sequence_dropout: float = 0.0,
) -> Compose:
    """The A.2 pipeline: spatial transforms first, then intensity ones (which read the moved labels).

    ``edge_artifacts`` appends :class:`BrainEdgeArtifact` (ours, not A.2: real scans' skull-stripping rims),
    ``bias_field`` then :class:`RandomBiasField` (ours: per-sequence shading), ``real_domain`` then
    :func:`real_domain_augmentation` (thick slices, shading, contrast, noise; its bias field replaces the
    one of ``bias_field``), ``slab_cuts`` then :class:`RandomSlabCut` (ours: the brain ending where a
    sequence's slab ends; last of the intensity-shaping ones, so that the cut stays a flat, empty surface);
    ``sequence_dropout`` > 0 then :class:`RandomSequenceDropout` with that probability (after everything
    else, so a dropped channel stays exactly 0).
    """
    transforms = [RandomFlip(0.5), RandomRotation(15.0, 0.3), RandomGamma((0.8, 1.2), 0.3), RegionContrastStretch()]
    transforms += [BrainEdgeArtifact()] if edge_artifacts else []
    transforms += [RandomBiasField()] if bias_field and not real_domain else []
    transforms += real_domain_augmentation() if real_domain else []
    transforms += [RandomSlabCut()] if slab_cuts else []
    transforms += [RandomSequenceDropout(sequence_dropout)] if sequence_dropout > 0 else []
    return Compose(transforms)


def _patch_shape(size: int | Sequence[int]) -> tuple[int, int, int]:
    sizes = (size,) * 3 if isinstance(size, (int, np.integer)) else tuple(size)
    if len(sizes) != 3 or any(isinstance(s, bool) or int(s) != s or s < 1 for s in sizes):
        raise BrainSegError(f"patch size must be a positive integer or three of them such as 128, got {size!r}")
    return tuple(int(s) for s in sizes)  # type: ignore[return-value]


HARD_NEGATIVE_KINDS = {"sinus": "sinus-like tissue", "bright-flair": "FLAIR-bright normal tissue"}
"""The kinds of normal tissue :func:`hard_negative_mask` can find (see there), each with how a model card names it."""

DEFAULT_HARD_NEGATIVE_KINDS = ("sinus",)
"""The kinds used unless a run asks for others (the only kind before ``bright-flair`` existed)."""


def check_hard_negative_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple when it is a non-empty selection of :data:`HARD_NEGATIVE_KINDS`, else an error."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not kinds or set(kinds) - set(HARD_NEGATIVE_KINDS):
        raise BrainSegError(
            f"hard-negative kinds must be some of {', '.join(HARD_NEGATIVE_KINDS)}, got {', '.join(kinds) or 'none'}"
        )
    return kinds


def hard_negative_mask(
    images: np.ndarray,
    labels: np.ndarray,
    percentile: float = 99.0,
    kinds: Sequence[str] = DEFAULT_HARD_NEGATIVE_KINDS,
    flair_percentile: float = 98.0,
) -> np.ndarray:
    """(X, Y, Z) bool: normal tissue that looks like tumor, where hard-negative patches are centred.

    Only brain voxels farther than 5 voxels from any tumor count. Two kinds, united when both are asked for:

    - ``sinus``: T1ce above the ``percentile`` of such voxels while T2 and FLAIR stay below their median:
      contrast-filled blood, which is T1ce-bright like enhancing tumor but T2/FLAIR-dark unlike it. On the
      two real cases of ``../shared/data/real`` every one of these voxels lies within 2 mm of
      :func:`brainseg.synth.measure.blood_like_mask` (the dural sinuses; 8 and 11 mL, 91-92 % of it), and on
      generator-v5 cases they lie at the brain surface and the midline (sinuses, falx).
    - ``bright-flair``: FLAIR above the ``flair_percentile`` of such voxels (about 28 mL on a v5 case):
      normal tissue as FLAIR-bright as edema. Of the bundled default's false positives away from the tumor
      on the v5 validation cases of ``docs/training-experiments.md``, 79-100 % lie within 3 voxels of it in
      cases 2, 8 and 27, and half in case 16 (a whole FLAIR-bright cerebellum).

    Empty when the brain has no voxel far from tumor.

    Args:
        images: (4, X, Y, Z) raw intensities (before normalization), channels T1, T1ce, T2, FLAIR.
        labels: (X, Y, Z) internal labels; tumor is any nonzero label.
        percentile: T1ce percentile, in [0, 100), of the tumor-free brain that a ``sinus`` voxel must exceed.
        kinds: some of :data:`HARD_NEGATIVE_KINDS`.
        flair_percentile: FLAIR percentile, in [0, 100), that a ``bright-flair`` voxel must exceed.
    """
    kinds = check_hard_negative_kinds(kinds)
    brain = np.all(images > 0, axis=0)  # as blood_like_mask has it, the measure this mask was checked against
    far = brain & ~ndi.binary_dilation(labels > 0, iterations=5)
    if not far.any():
        return far
    t1ce, t2, flair = images[1], images[2], images[3]
    mask = np.zeros_like(far)
    if "sinus" in kinds:
        blood_look = (t2 < np.median(t2[far])) & (flair < np.median(flair[far]))
        mask |= blood_look & (t1ce > np.percentile(t1ce[far], percentile))
    if "bright-flair" in kinds:
        mask |= flair > np.percentile(flair[far], flair_percentile)
    return far & mask


def choose_centre(
    labels: np.ndarray,
    brain: np.ndarray,
    rng: np.random.Generator,
    tumor_probability: float = 0.7,
    hard_negatives: np.ndarray | None = None,
    hard_negative_probability: float = 0.0,
) -> tuple[int, int, int]:
    """A patch centre: a random tumor voxel, a random hard-negative voxel or a random brain voxel.

    With ``tumor_probability`` the centre is a tumor voxel, with ``hard_negative_probability`` a voxel of
    ``hard_negatives`` (see :func:`hard_negative_mask`), else any brain voxel. Falls back to a random brain
    voxel when the chosen set is empty, and to a random voxel when the brain is empty. Exactly two draws
    from ``rng`` in every case, and with ``hard_negative_probability`` 0 the same centre as before that
    option existed.

    Args:
        labels: (X, Y, Z) internal labels; tumor is any nonzero label.
        brain: (X, Y, Z) bool.
        hard_negatives: (X, Y, Z) bool, or None (no hard negatives).
    """
    kind = rng.random()
    pick = rng.random()
    if kind < tumor_probability:
        chosen = _voxel_at(labels, pick)
    elif kind < tumor_probability + hard_negative_probability and hard_negatives is not None:
        chosen = _voxel_at(hard_negatives, pick)
    else:
        chosen = None
    if chosen is None:
        chosen = _voxel_at(brain, pick)
    if chosen is None:  # no brain: any voxel, without an all-True mask to search
        chosen = tuple(int(i) for i in np.unravel_index(int(pick * labels.size), labels.shape))
    return chosen  # type: ignore[return-value]


def _voxel_at(mask: np.ndarray, pick: float) -> tuple[int, ...] | None:
    """The nonzero voxel of ``mask`` at fraction ``pick`` in [0, 1) of them in C order, or None if there is none.

    A uniform ``pick`` makes it a uniformly random nonzero voxel (patch centres, slab-cut anchors).
    """
    candidates = np.flatnonzero(mask)
    if candidates.size == 0:
        return None
    flat = int(candidates[int(pick * candidates.size)])
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def crop_around(
    images: np.ndarray, labels: np.ndarray, size: int | Sequence[int], centre: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the patch of ``size`` centred (as near as fits) on voxel ``centre``.

    The patch is shifted to lie inside the volume; an axis shorter than the patch is zero-padded evenly.

    Returns:
        ``(images (C, P, P, P), labels (P, P, P))`` contiguous copies, same dtypes.
    """
    sizes = _patch_shape(size)
    shortfalls = [max(s - n, 0) for s, n in zip(sizes, labels.shape, strict=True)]
    widths = [(short // 2, short - short // 2) for short in shortfalls]
    if any(sum(w) for w in widths):
        images = np.pad(images, [(0, 0), *widths])
        labels = np.pad(labels, widths)
        centre = [c + w[0] for c, w in zip(centre, widths, strict=True)]
    starts = [min(max(int(c) - s // 2, 0), n - s) for c, s, n in zip(centre, sizes, labels.shape, strict=True)]
    box = tuple(slice(a, a + s) for a, s in zip(starts, sizes, strict=True))
    return np.ascontiguousarray(images[(slice(None), *box)]), np.ascontiguousarray(labels[box])


def crop_patch(
    images: np.ndarray,
    labels: np.ndarray,
    size: int | Sequence[int],
    rng: np.random.Generator,
    tumor_probability: float = 0.7,
) -> tuple[np.ndarray, np.ndarray]:
    """Tumor-focused random crop ("tumor-focused cropping when masks exist", A.2).

    With probability ``tumor_probability`` the patch is centred on a random tumor voxel, otherwise on a
    random brain voxel (where any channel is nonzero); the patch is then shifted to lie inside the volume,
    and a volume smaller than the patch is zero-padded. The same ``rng`` state gives the same patch.

    Args:
        images: (C, X, Y, Z) float32.
        labels: (X, Y, Z) uint8 internal labels.
        size: patch edge P (or three edges).
        tumor_probability: in [0, 1].

    Returns:
        ``(images (C, P, P, P), labels (P, P, P))``.

    Example: a (4, 240, 240, 155) case and ``size=128`` give (4, 128, 128, 128) and (128, 128, 128).
    """
    _check_probability("crop_patch tumor_probability", tumor_probability)
    if images.shape[1:] != labels.shape:
        raise BrainSegError(f"images {images.shape} and labels {labels.shape} must share the (X, Y, Z) grid")
    centre = choose_centre(labels, _brain(images), rng, tumor_probability)
    return crop_around(images, labels, size, centre)
