"""Rigid registration of each sequence to FLAIR (SimpleITK), for cases whose sequences are not co-registered.

BraTS cases are co-registered by the challenge's pipeline; a user's clinical sequences often are not (other
sessions, head motion between series). A rigid (Euler 3D) transform maximizing Mattes mutual information
is enough for one patient's sequences of one session, and works across contrasts. Only the sequences are
moved; the case keeps its grid, so a segmentation written afterwards lies on the input's grid as always.
"""

from __future__ import annotations

import dataclasses
from time import perf_counter

import numpy as np
import SimpleITK as sitk

from brainseg.io.case import Case
from brainseg.io.naming import SEQUENCES

REFERENCE = "FLAIR"
"""The sequence the others are moved onto: the one every supported subset but T1ce alone has."""


def _image(array: np.ndarray, spacing: tuple[float, float, float]) -> sitk.Image:
    # SimpleITK indexes (z, y, x); transposing keeps BrainSeg's (X, Y, Z) axes as ITK's x, y, z.
    image = sitk.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0), dtype=np.float32))
    image.SetSpacing(tuple(float(s) for s in spacing))
    return image


def rigid_register(
    fixed: np.ndarray, moving: np.ndarray, spacing: tuple[float, float, float], seed: int = 0
) -> tuple[np.ndarray, float, float]:
    """``moving`` resampled onto ``fixed`` after the rigid transform that best aligns them.

    Args:
        fixed, moving: (X, Y, Z) images on one grid (RAS), intensities as stored, 0 outside the brain.
        spacing: voxel size in mm along X, Y, Z.
        seed: seed of the metric's random voxel sample, so that a rerun gives the same result.

    Returns:
        (registered (X, Y, Z) float32, translation in mm, rotation in degrees) of the transform found.
    """
    fixed_image, moving_image = _image(fixed, spacing), _image(moving, spacing)
    initial = sitk.CenteredTransformInitializer(
        fixed_image, moving_image, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(0.05, seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0, minStep=1e-3, numberOfIterations=150, relaxationFactor=0.5
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([4, 2])
    method.SetSmoothingSigmasPerLevel([2.0, 1.0])
    method.SetInitialTransform(initial, inPlace=False)
    transform = method.Execute(fixed_image, moving_image)
    resampled = sitk.Resample(moving_image, fixed_image, transform, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    registered = sitk.GetArrayFromImage(resampled).transpose(2, 1, 0)
    euler = sitk.Euler3DTransform(sitk.CompositeTransform(transform).GetNthTransform(0))
    translation = float(np.linalg.norm(euler.GetTranslation()))
    rotation = float(np.degrees(np.max(np.abs([euler.GetAngleX(), euler.GetAngleY(), euler.GetAngleZ()]))))
    return np.ascontiguousarray(registered, dtype=np.float32), translation, rotation


def register_case(case: Case) -> Case:
    """A copy of ``case`` with every other sequence it has rigidly registered to FLAIR, and a warning each.

    A case without FLAIR is returned as it is, with a warning saying so. The truth, if any, is not moved
    (it belongs to the reference grid).
    """
    if REFERENCE not in case.available:
        return dataclasses.replace(case, warnings=[*case.warnings, "--register: no FLAIR to register to; left as is"])
    images = case.images.copy()
    fixed = case.image(REFERENCE)
    lines = []
    for index, name in enumerate(SEQUENCES):
        if name == REFERENCE or name not in case.available:
            continue
        started = perf_counter()
        images[index], moved_mm, turned_deg = rigid_register(fixed, case.image(name), case.spacing)
        source = case.sources.get(name)
        lines.append(
            f"registered {source.file if source else name} ({name}) to FLAIR: moved {moved_mm:.1f} mm, rotated "
            f"{turned_deg:.1f} degrees ({perf_counter() - started:.1f} s)"
        )
    return dataclasses.replace(case, images=images, warnings=[*case.warnings, *lines])
