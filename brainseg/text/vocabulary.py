"""Words people use for brain-tumor regions, per target region, with how specific each phrase is.

Read by the prompt interpreter (:mod:`brainseg.text.prompts`) and by training, which samples prompts
from these synonyms (paper 002, section 3.3). Phrases are written normalized: lowercase, US spelling,
single spaces, no hyphens (see :func:`brainseg.text.prompts.normalize`).
"""

from __future__ import annotations

# Region -> {phrase: specificity in (0, 1]}. A specific clinical phrase is 1.0; a generic word that
# usually but not always means the region ("tumor" for WT) is lower, so the interpretation says so.
REGION_PHRASES: dict[str, dict[str, float]] = {
    "WT": {
        "whole tumor": 1.0,
        "entire tumor": 1.0,
        "complete tumor": 1.0,
        "full tumor": 1.0,
        "total tumor": 1.0,
        "whole lesion": 0.95,
        "entire lesion": 0.95,
        "everything abnormal": 0.95,
        "all abnormal tissue": 0.95,
        "abnormal tissue": 0.85,
        "flair hyperintensity": 0.9,
        "flair abnormality": 0.9,
        "t2 flair abnormality": 0.9,
        "tumor extent": 0.9,
        "wt": 0.9,
        "glioma": 0.8,
        "tumor": 0.75,
        "lesion": 0.75,
        "mass": 0.7,
        "abnormality": 0.7,
        "neoplasm": 0.75,
        "cancer": 0.7,
    },
    "TC": {
        "tumor core": 1.0,
        "core of the tumor": 1.0,
        "solid tumor": 0.9,
        "solid core": 0.9,
        "bulk tumor": 0.85,
        "gross tumor": 0.85,
        "tc": 0.9,
        "core": 0.75,
    },
    "ET": {
        "enhancing tumor": 1.0,
        "enhancing rim": 1.0,
        "enhancing ring": 1.0,
        "ring enhancement": 1.0,
        "ring enhancing": 1.0,
        "ring enhancing lesion": 1.0,
        "ring enhancing tumor": 1.0,
        "enhancing mass": 0.95,
        "contrast enhancing": 1.0,
        "contrast enhancement": 1.0,
        "gadolinium enhancing": 1.0,
        "enhancing part": 0.95,
        "enhancing region": 0.95,
        "enhancing lesion": 0.95,
        "enhancing": 0.9,
        "enhancement": 0.9,
        "active tumor": 0.85,
        "et": 0.9,
    },
    "NCR": {
        "necrotic core": 1.0,
        "necrotic tumor core": 1.0,
        "necrotic center": 1.0,
        "necrotic tissue": 1.0,
        "non enhancing tumor core": 1.0,
        "non enhancing core": 1.0,
        "non enhancing tumor": 0.9,
        "necrosis": 1.0,
        "necrotic": 0.95,
        "ncr": 0.9,
        "netc": 0.9,
        "dead tissue": 0.8,
    },
    "ED": {
        "peritumoral edema": 1.0,
        "peritumoral swelling": 1.0,
        "surrounding edema": 1.0,
        "vasogenic edema": 1.0,
        "surrounding flair hyperintensity": 1.0,
        "surrounding non enhancing flair hyperintensity": 1.0,
        "peritumoral flair hyperintensity": 1.0,
        "infiltrative edema": 1.0,
        "snfh": 0.9,
        "edema": 1.0,
        "swelling": 0.85,
        "ed": 0.85,
    },
}

SPELLING = {
    "tumour": "tumor",
    "tumours": "tumor",
    "tumors": "tumor",
    "oedema": "edema",
    "oedematous": "edema",
    "edematous": "edema",
    "lesions": "lesion",
    "centre": "center",
    "haemorrhage": "hemorrhage",
    "t1c": "t1ce",
    "t1gd": "t1ce",
}
"""Token rewrites applied before matching (British spelling, plurals, sequence aliases)."""

NEUTRAL_WORDS = frozenset(
    """
    a an the this that these those of in on at for to from with by and or please me my us our it its is are be
    segment segmentation segmented show highlight outline delineate contour find locate detect mark label
    extract identify give get draw display visualize predict map mask masks region regions area areas part
    parts portion zone voxels pixels whole all everything any only just where which what
    brain mri scan image volume case patient study sequence sequences t1 t1ce t2 flair contrast gadolinium
    left right frontal temporal parietal occipital lobe hemisphere cerebral cerebellar deep visible
    bright hyperintense dark hypointense signal large small main primary
    """.split()
)
"""Words that neither name a region nor make a prompt off-topic (verbs, articles, locations, sequences)."""

OUT_OF_SCOPE = {
    "liver", "lung", "lungs", "heart", "kidney", "kidneys", "spleen", "pancreas", "prostate", "breast",
    "bone", "bones", "spine", "vertebra", "skull", "eye", "eyes", "colon", "stomach", "bladder", "muscle",
    "ventricle", "ventricles", "hippocampus", "thalamus", "cerebellum", "vessel", "vessels",
    "artery", "arteries", "vein", "aneurysm", "stroke", "infarct", "hemorrhage", "bleed", "bleeding",
    "ms", "sclerosis", "plaque", "plaques", "csf", "gray", "grey", "white", "matter", "cortex",
    "meningioma", "metastasis", "metastases", "cat", "dog", "car", "face", "person", "text",
}  # fmt: skip
"""Words that ask for something other than brain-tumor sub-regions; a prompt with one is refused.

``meningioma`` and ``metastasis`` are tumors, but the demo models are trained on glioma sub-regions only,
so answering them with a glioma mask would be the silent failure users complain about."""


def example_prompts(region: str) -> list[str]:
    """Prompts that training can sample for ``region`` (every phrase, most specific first)."""
    phrases = REGION_PHRASES[region]
    return [f"segment the {p}" for p in sorted(phrases, key=lambda p: (-phrases[p], p))]
