import re

import pytest

from brainseg.text import PromptRefused, interpret_prompt
from brainseg.text.vocabulary import REGION_PHRASES, example_prompts


@pytest.mark.parametrize(
    ("prompt", "regions"),
    [
        ("segment the enhancing tumor", ("ET",)),
        ("Segment the enhancing rim", ("ET",)),
        ("ring-enhancing lesion", ("ET",)),
        ("necrotic core", ("NCR",)),
        ("segment the non-enhancing tumor core", ("NCR",)),
        ("peritumoral oedema", ("ED",)),
        ("surrounding FLAIR hyperintensity", ("ED",)),
        ("FLAIR hyperintensity", ("WT",)),
        ("whole tumour", ("WT",)),
        ("everything abnormal", ("WT",)),
        ("tumor core", ("TC",)),
        ("show me the necrotic core and the edema", ("NCR", "ED")),
        ("enhancing tumor in the left frontal lobe", ("ET",)),
    ],
)
def test_clinical_phrasing(prompt, regions):
    result = interpret_prompt(prompt)
    assert not result.refused, result.reason
    assert result.regions == regions


def test_confidence_reflects_specificity_and_coverage():
    assert interpret_prompt("segment the enhancing tumor").confidence == pytest.approx(1.0)
    assert interpret_prompt("tumor").confidence == pytest.approx(0.75)
    # Half of the content words unexplained: 1.0 specificity x 2/4 coverage.
    assert interpret_prompt("enhancing tumor wobbly thing").confidence == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("prompt", "fragment"),
    [
        ("segment the liver", "'liver' is outside what BrainSeg segments"),
        ("segment the white matter", "'matter white' is outside"),
        ("find the meningioma", "'meningioma' is outside"),
        ("asdf qwerty", "no brain-tumor region was recognized"),
        ("", "the prompt is empty"),
        ("tumor except the edema", "'except' (a negation) is not understood"),
        ("the weird purple thing near tumor", "weak match (confidence 0.15 < 0.50)"),
    ],
)
def test_refusals_give_a_reason_and_no_regions(prompt, fragment):
    result = interpret_prompt(prompt)
    assert result.refused and result.regions == ()
    assert fragment in result.reason
    with pytest.raises(PromptRefused, match=re.escape(fragment)):
        result.require()


def test_every_vocabulary_prompt_reads_back_as_its_region():
    for region in REGION_PHRASES:
        for prompt in example_prompts(region):
            result = interpret_prompt(prompt)
            assert result.regions == (region,), (prompt, result.reason)
