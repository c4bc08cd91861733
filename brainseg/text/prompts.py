"""Free-text prompt -> target regions, with a confidence, the matched terms, or a refusal.

Interpretation is a step of its own, shown to the user next to the prompt, so a prompt is never
answered silently with a mask it did not ask for: off-topic prompts and weak matches are refused.

Example::

    >>> interpret_prompt("Segment the enhancing rim").regions
    ('ET',)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from typing import Any

from brainseg.errors import BrainSegError
from brainseg.labels import REGIONS
from brainseg.text.vocabulary import NEUTRAL_WORDS, OUT_OF_SCOPE, REGION_PHRASES, SPELLING

MIN_CONFIDENCE = 0.5
NEGATIONS = frozenset({"not", "no", "except", "excluding", "without", "but", "exclude", "minus", "besides"})
MAX_PROMPT_CHARS = 500


class PromptRefused(BrainSegError):
    """The prompt does not ask for a brain-tumor region clearly enough to answer it with a mask."""


@dataclass(frozen=True)
class PromptInterpretation:
    """How a prompt was read.

    Attributes:
        prompt: the text as given.
        regions: target regions in :data:`brainseg.labels.REGIONS` order (empty when refused).
        confidence: in [0, 1]; the specificity of the matched phrases times the share of the prompt's
            content words they explain.
        matched_terms: the phrases found, as normalized text.
        refused: True when the prompt must not be answered with a mask.
        reason: one line for the user: what was understood, or why it was refused.
        unmatched_words: content words that no phrase explained.
    """

    prompt: str
    regions: tuple[str, ...]
    confidence: float
    matched_terms: tuple[str, ...]
    refused: bool
    reason: str
    unmatched_words: tuple[str, ...] = field(default=())

    def require(self) -> PromptInterpretation:
        """Return self, or raise :class:`PromptRefused` with the reason when the prompt was refused."""
        if self.refused:
            raise PromptRefused(self.reason)
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for reports."""
        return {
            "prompt": self.prompt,
            "regions": list(self.regions),
            "confidence": round(self.confidence, 3),
            "matched_terms": list(self.matched_terms),
            "refused": self.refused,
            "reason": self.reason,
        }


def normalize(text: str) -> list[str]:
    """Lowercase word tokens with hyphens split, punctuation dropped and spellings unified."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("-", " "))
    return [SPELLING.get(w, w) for w in words]


# (tokens, region, specificity), longest phrases first so "non enhancing tumor" beats "enhancing tumor".
_PHRASES = sorted(
    (
        (tuple(phrase.split()), region, weight)
        for region, phrases in REGION_PHRASES.items()
        for phrase, weight in phrases.items()
    ),
    key=lambda item: -len(item[0]),
)


def _match(tokens: list[str]) -> tuple[list[tuple[str, str, float]], list[bool]]:
    """Greedy longest-first phrase matching; returns (matches as (phrase, region, weight), used-token flags)."""
    used = [False] * len(tokens)
    matches: list[tuple[int, str, str, float]] = []
    for phrase, region, weight in _PHRASES:
        n = len(phrase)
        for start in range(len(tokens) - n + 1):
            if tuple(tokens[start : start + n]) == phrase and not any(used[start : start + n]):
                used[start : start + n] = [True] * n
                matches.append((start, " ".join(phrase), region, weight))
    matches.sort()
    return [(phrase, region, weight) for _, phrase, region, weight in matches], used


def _refusal(prompt: str, reason: str, unmatched: tuple[str, ...] = ()) -> PromptInterpretation:
    return PromptInterpretation(prompt, (), 0.0, (), True, reason, unmatched)


def _off_topic_reason(words: list[str]) -> str:
    return (
        f"'{' '.join(words)}' is outside what BrainSeg segments (glioma sub-regions: whole tumor, "
        "tumor core, enhancing tumor, necrotic core, edema); no mask is made"
    )


def _negation_reason(words: list[str]) -> str:
    return (
        f"'{words[0]}' (a negation) is not understood; name the regions you want instead, "
        "e.g. 'tumor core' for the tumor without its edema"
    )


_REFUSED_WORDS: tuple[tuple[Set[str], Callable[[list[str]], str]], ...] = (
    (OUT_OF_SCOPE, _off_topic_reason),
    (NEGATIONS, _negation_reason),
)
"""Words that make a prompt refused outright, checked in this order, with the reason naming the words found."""


def interpret_prompt(prompt: str, *, min_confidence: float = MIN_CONFIDENCE) -> PromptInterpretation:
    """Read a free-text prompt as brain-tumor target regions.

    Args:
        prompt: e.g. ``"segment the enhancing tumour"``, ``"peritumoral oedema"``, ``"everything abnormal"``.
        min_confidence: below this the match is too weak and the prompt is refused.

    Returns:
        The interpretation; check ``refused`` (or call ``.require()``) before producing a mask.
    """
    text = (prompt or "").strip()
    if not text:
        return _refusal(prompt, "the prompt is empty; ask for a region, e.g. 'segment the enhancing tumor'")
    if len(text) > MAX_PROMPT_CHARS:
        return _refusal(prompt, f"the prompt has {len(text)} characters; at most {MAX_PROMPT_CHARS} are read")
    tokens = normalize(text)
    for words, explain in _REFUSED_WORDS:
        found = sorted({t for t in tokens if t in words})
        if found:
            return _refusal(prompt, explain(found))
    matches, used = _match(tokens)
    content = [(t, u) for t, u in zip(tokens, used, strict=True) if u or t not in NEUTRAL_WORDS]
    unmatched = tuple(t for t, u in content if not u)
    if not matches:
        return _refusal(
            prompt,
            "no brain-tumor region was recognized; ask for the whole tumor, tumor core, enhancing tumor, "
            "necrotic core or edema",
            unmatched,
        )
    coverage = sum(u for _, u in content) / len(content)
    specificity = min(weight for _, _, weight in matches)
    confidence = specificity * coverage
    regions = tuple(r for r in REGIONS if r in {region for _, region, _ in matches})
    terms = tuple(phrase for phrase, _, _ in matches)
    if confidence < min_confidence:
        return PromptInterpretation(
            prompt,
            (),
            confidence,
            terms,
            True,
            f"weak match (confidence {confidence:.2f} < {min_confidence:.2f}): unrecognized words "
            f"{', '.join(repr(w) for w in unmatched)}; rephrase with a region name",
            unmatched,
        )
    reason = f"{' + '.join(regions)} from {', '.join(repr(t) for t in terms)} (confidence {confidence:.2f})"
    return PromptInterpretation(prompt, regions, confidence, terms, False, reason, unmatched)
