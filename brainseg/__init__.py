"""BrainSeg: brain-tumor segmentation on four-sequence MRI (T1, T1ce, T2, FLAIR)."""

__version__ = "0.1.0"
