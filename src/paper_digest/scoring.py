"""Profile -> 0..100 relevance scores with reasons. Pure and deterministic: no I/O, no network, no clock.

How a score is made
-------------------
1. The profile is compiled once per call into *concepts*: each ``[profile.keywords]`` key is one concept
   whose ``|``-separated variants are phrases; the free-text description adds more concepts (Chinese field
   terms via a small glossary, English/Latin phrases via RAKE-style splitting on stop words); ``exclude``
   phrases are concepts that push down. Phrases are matched on normalised tokens (case folded, hyphens =
   spaces, light suffix stemming so ``dehaze``/``dehazing``/``dehazed`` agree). Short upper-case variants
   (``SR``, ``MAE``, ``DiT``) are acronyms and match only as that exact word in the original text.
2. Per concept, a BM25F-style pseudo term frequency combines the fields (title counts ``TITLE_WEIGHT`` times
   an abstract hit, HF keywords count once each; the abstract is length-normalised against a *fixed* typical
   length) and saturates as ``tf / (tf + K1)``. The concept contributes ``weight * saturation``.
3. Priors (HF upvotes on a log scale, a linked code repository) are small and gated by topical relevance, so
   they reorder relevant papers but cannot lift an off-topic one. Followed authors add a fixed lift.
4. The raw relevance ``R`` maps to a score with a fixed saturating function ``100 * (1 - exp(-R / TAU))``.
   No statistic of the batch enters a paper's score, so a score means the same from day to day and a paper
   scores the same whatever else is in the batch.
5. Exclusions multiply the final score by ``EXCLUDE_FACTOR``.

Every contribution is reported as a :class:`~paper_digest.models.ScoreReason`; the points of the reasons add
up to the score (positive contributions share the pre-penalty score in proportion to their raw weight)."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .config import ProfileConfig
from .models import Paper, ScoredPaper, ScoreReason

logger = logging.getLogger(__name__)

#: a title hit is worth this many abstract hits (field weight in BM25F)
TITLE_WEIGHT = 5.0
#: an HF "ai_keywords" entry hit is worth this many abstract hits
HF_KEYWORD_WEIGHT = 1.0
#: BM25 term-frequency saturation constant
K1 = 3.0
#: BM25 length normalisation strength for the abstract, against a fixed typical abstract length (tokens)
B = 0.5
TYPICAL_ABSTRACT_TOKENS = 180.0
#: raw relevance -> score scale: R = TAU gives 63 points, 2 * TAU gives 86
TAU = 3.0
#: the k-th strongest matched concept counts DISCOUNT**k (k = 0, 1, ...)
DISCOUNT = 0.5
#: raw lift for a followed author
AUTHOR_LIFT = 1.0
#: raw prior per decade of HF upvotes, capped; a linked code repository adds REPO_PRIOR
UPVOTE_PRIOR_PER_DECADE = 0.25
UPVOTE_PRIOR_CAP = 0.6
REPO_PRIOR = 0.15
#: priors count fully only once topical relevance reaches this raw value (and not at all at zero)
PRIOR_GATE = 2.0
#: an excluded paper keeps this fraction of its score
EXCLUDE_FACTOR = 0.2
#: weight of a description term when the profile also has keywords / when it has none
DESCRIPTION_WEIGHT = 1.0
DESCRIPTION_ONLY_WEIGHT = 3.0

_TOKEN = re.compile(r"[a-z0-9]+")
#: "de-hazing", "De-blurring" -> one word, as "dehazing" and "deblurring"
_DE_PREFIX = re.compile(r"\b([Dd]e)-(?=[A-Za-z])")
_RAW_TOKEN = re.compile(r"[A-Za-z0-9]+")
#: the same, keeping "|" as a token so that phrases do not run across HF keyword boundaries
_TOKEN_OR_BAR = re.compile(r"[a-z0-9]+|\|")
_SUFFIXES = ("ations", "ation", "ements", "ement", "ments", "ment", "ings", "ing", "ives", "ive", "ers", "er")
_SHORT_SUFFIXES = ("ed", "es", "e", "s")
_VOWELS = frozenset("aeiouy")

#: Chinese field terms -> English phrases (for Chinese profile descriptions)
GLOSSARY: dict[str, tuple[str, ...]] = {
    "超分辨率": ("super-resolution",),
    "超分辨": ("super-resolution",),
    "超分": ("super-resolution",),
    "视频超分": ("video super-resolution",),
    "图像复原": ("image restoration",),
    "图像恢复": ("image restoration",),
    "复原": ("restoration",),
    "图像修复": ("inpainting", "image restoration"),
    "修复": ("inpainting",),
    "补全": ("image completion",),
    "去噪": ("denoising",),
    "降噪": ("denoising",),
    "去模糊": ("deblurring",),
    "去雨": ("deraining",),
    "去雾": ("dehazing",),
    "去雪": ("desnowing",),
    "去阴影": ("shadow removal",),
    "去反射": ("reflection removal",),
    "去摩尔纹": ("demoireing",),
    "低光照": ("low-light",),
    "低光": ("low-light",),
    "低照度": ("low-light",),
    "暗光": ("low-light",),
    "图像增强": ("image enhancement",),
    "水下": ("underwater",),
    "全合一": ("all-in-one",),
    "一体化": ("all-in-one",),
    "退化": ("degradation",),
    "底层视觉": ("low-level vision",),
    "低层视觉": ("low-level vision",),
    "图像质量评价": ("image quality assessment",),
    "质量评价": ("quality assessment",),
    "高动态范围": ("HDR",),
    "压缩伪影": ("compression artifact",),
    "逆问题": ("inverse problem",),
    "扩散模型": ("diffusion model",),
    "扩散": ("diffusion",),
    "流匹配": ("flow matching",),
    "整流": ("rectified flow",),
    "一致性模型": ("consistency model",),
    "生成模型": ("generative model",),
    "图像生成": ("image generation",),
    "文生图": ("text-to-image",),
    "自回归": ("autoregressive",),
    "掩码自回归": ("masked autoregressive",),
    "掩码生成": ("masked generative",),
    "掩码图像建模": ("masked image modeling",),
    "掩码自编码器": ("masked autoencoder",),
    "掩码": ("masked",),
    "分词器": ("image tokenizer",),
    "自监督": ("self-supervised",),
    "预训练": ("pre-training",),
    "视觉预训练": ("visual pre-training",),
    "表征学习": ("representation learning",),
    "表示学习": ("representation learning",),
    "对比学习": ("contrastive learning",),
    "蒸馏": ("distillation",),
}

#: words that carry no topic in a CV profile description (RAKE phrase delimiters)
_STOPWORD_TEXT = """
    a about above after again all also am an and any are as at based be been being between both but
    by can could did do does doing during each especially etc few for from further had has have
    having here how i if in into is it its itself just like main many me more most my myself new no
    nor not now of on once only or other our out over own papers paper research researcher same
    should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with work works
    would you your interested interest interests focus focusing topics topic area areas including
    include includes mainly particularly related relevant care
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
#: single words too generic to stand alone as a description term (they still occur inside phrases)
_GENERIC_TEXT = """
    image images model models method methods learning vision visual network networks data deep
    neural task tasks approach approaches framework frameworks computer performance result results
    quality real world
"""
_GENERIC = frozenset(_GENERIC_TEXT.split())


@lru_cache(maxsize=262_144)
def _stem(word: str) -> str:
    """A light suffix stripper: enough to make dehaze/dehazing/dehazed, denoise/denoiser/denoising,
    restore/restoration/restored and model/modelling agree. Applied identically to profile and paper text."""
    if len(word) <= 3 or word.isdigit():
        return word
    stem = word
    for suffix in _SUFFIXES:
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
            stem = stem[: -len(suffix)]
            break
    else:
        for suffix in _SHORT_SUFFIXES:
            if not stem.endswith(suffix) or len(stem) - len(suffix) < 3:
                continue
            if suffix == "s" and stem[-2] in "su":
                continue
            stem = stem[: -len(suffix)]
            break
    if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS and stem[-1] != "s":
        stem = stem[:-1]
    return stem


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def _tokens(text: str) -> list[str]:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if "de-" in text or "De-" in text:
        text = _DE_PREFIX.sub(r"\1", text)
    return list(map(_stem, _TOKEN.findall(text.lower())))


def _field_tokens(text: str) -> tuple[list[str], list[str]]:
    """One pass over a field: (stemmed lower-case tokens, original-case tokens for acronym lookup)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if "de-" in text or "De-" in text:
        text = _DE_PREFIX.sub(r"\1", text)
    raw = _RAW_TOKEN.findall(text)
    return list(map(_stem, _TOKEN.findall(text.lower()))), raw


def _is_acronym(variant: str) -> bool:
    """``SR``, ``MAE``, ``DiT``, ``DINOv2``: short, two capitals or more; matched case-sensitively."""
    return (
        len(variant) <= 7
        and variant.isalnum()
        and sum(c.isupper() for c in variant) >= 2
        and not variant.isdigit()
    )


@dataclass(frozen=True)
class _Concept:
    kind: str  # keyword | description | exclude
    label: str
    weight: float


@dataclass
class _Compiled:
    concepts: list[_Concept] = field(default_factory=list)
    #: first stemmed token -> [(phrase tokens, concept index)], longest phrase first
    phrases: dict[str, list[tuple[tuple[str, ...], int]]] = field(default_factory=dict)
    #: (concept index, stemmed phrase or acronym) -> the variant as the profile spells it
    spelling: dict[tuple[int, tuple[str, ...]], str] = field(default_factory=dict)
    #: acronym -> concept indexes
    acronyms: dict[str, list[int]] = field(default_factory=dict)
    #: surface form in the text (case-sensitive) -> acronym
    acronym_forms: dict[str, str] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    #: last word of each followed author's name, lower case: a cheap pre-check before normalising names
    surnames: set[str] = field(default_factory=set)
    seen: set[tuple[str, ...]] = field(default_factory=set)

    def add(self, kind: str, key: str, weight: float) -> None:
        variants = [v.strip() for v in key.split("|") if v.strip()]
        if not variants or weight == 0:
            return
        index = len(self.concepts)
        added = False
        for variant in variants:
            if _is_acronym(variant):
                if kind == "description" and variant in self.acronyms:
                    continue
                self.acronyms.setdefault(variant, []).append(index)
                self.spelling[(index, (variant,))] = variant
                added = True
                continue
            phrase = tuple(_tokens(variant))
            if not phrase or (kind == "description" and phrase in self.seen):
                continue
            self.seen.add(phrase)
            self.phrases.setdefault(phrase[0], []).append((phrase, index))
            self.spelling.setdefault((index, phrase), variant)
            added = True
        if added:
            self.concepts.append(_Concept(kind=kind, label=variants[0], weight=weight))

    def finish(self) -> None:
        for acronym in self.acronyms:  # SR, SRs, SR3, DINO2 ... (a hyphen splits tokens anyway)
            self.acronym_forms.update({acronym: acronym, f"{acronym}s": acronym})
            self.acronym_forms.update({f"{acronym}{n}": acronym for n in range(100)})
        for entries in self.phrases.values():
            entries.sort(key=lambda item: (-len(item[0]), item[1]))


def _description_phrases(description: str) -> list[str]:
    """Terms of a free-text description: glossary translations of Chinese field terms (longest first, so that
    图像复原 is not also read as 复原), then RAKE-style phrases of the Latin-script text."""
    phrases: list[str] = []
    remaining = description
    for term in sorted(GLOSSARY, key=lambda t: (-len(t), t)):
        if term in remaining:
            phrases.extend(GLOSSARY[term])
            remaining = remaining.replace(term, " , ")
    latin = re.sub(r"[^\x00-\x7f]+", " , ", remaining)
    for chunk in re.split(r"[,.;:!?()\[\]{}\"/\n]+", latin):
        words: list[str] = []
        for raw in [*chunk.split(), ""]:
            word = raw.strip("'`*")
            if word and word.lower() not in _STOPWORDS:
                words.append(word)
                continue
            if words:
                if len(words) > 1 or (words[0].lower() not in _GENERIC and len(words[0]) > 2):
                    phrases.append(" ".join(words[:4]))
                words = []
    return phrases


def _author_key(name: str) -> str:
    return " ".join(_TOKEN.findall(_normalise(name)))


def _compile(profile: ProfileConfig) -> _Compiled:
    compiled = _Compiled()
    for key, weight in sorted(profile.keywords.items()):
        compiled.add("keyword", key, weight)
    weight = DESCRIPTION_WEIGHT if profile.keywords else DESCRIPTION_ONLY_WEIGHT
    for phrase in _description_phrases(profile.description):
        compiled.add("description", phrase, weight)
    for phrase in sorted(set(profile.exclude)):
        compiled.add("exclude", phrase, 1.0)
    compiled.authors = {_author_key(a): a for a in profile.authors if _author_key(a)}
    compiled.surnames = {key.rsplit(" ", 1)[-1] for key in compiled.authors}
    compiled.finish()
    return compiled


class _Hits:
    """Per concept: hits in title, abstract, HF keywords, and the profile spellings that matched."""

    __slots__ = ("counts", "spellings")

    def __init__(self) -> None:
        self.counts: dict[int, list[float]] = {}
        self.spellings: dict[int, list[str]] = {}

    def add(self, index: int, slot: int, spelling: str) -> None:
        counts = self.counts.get(index)
        if counts is None:
            counts = self.counts[index] = [0.0, 0.0, 0.0]
            self.spellings[index] = []
        counts[slot] += 1
        if spelling not in self.spellings[index]:
            self.spellings[index].append(spelling)


def _match_tokens(tokens: Sequence[str], compiled: _Compiled, hits: _Hits, slot: int) -> None:
    """Greedy longest-phrase matching: a position covered by a longer phrase is not counted again."""
    phrases = compiled.phrases
    n = len(tokens)
    covered = 0
    for i in [i for i, token in enumerate(tokens) if token in phrases]:
        if i < covered:
            continue
        for phrase, index in phrases[tokens[i]]:
            end = i + len(phrase)
            if end <= n and (len(phrase) == 1 or tuple(tokens[i:end]) == phrase):
                hits.add(index, slot, compiled.spelling[(index, phrase)])
                covered = end
                break


def _match_acronyms(raw_tokens: Sequence[str], compiled: _Compiled, hits: _Hits, slot: int) -> None:
    forms = compiled.acronym_forms
    if not forms:
        return
    for token in [t for t in raw_tokens if t in forms]:
        acronym = forms[token]
        for index in compiled.acronyms[acronym]:
            hits.add(index, slot, acronym)


def _saturate(title: float, abstract: float, keywords: float, abstract_len: int) -> float:
    norm = 1.0 - B + B * max(abstract_len, 1) / TYPICAL_ABSTRACT_TOKENS
    tf = TITLE_WEIGHT * title + abstract / norm + HF_KEYWORD_WEIGHT * keywords
    return tf / (tf + K1)


def _to_score(raw: float) -> float:
    return 100.0 * (1.0 - math.exp(-max(raw, 0.0) / TAU))


def _where(title: float, abstract: float, keywords: float) -> str:
    parts = []
    if title:
        parts.append("title" if title == 1 else f"title ×{title:.0f}")
    if abstract:
        parts.append("abstract" if abstract == 1 else f"abstract ×{abstract:.0f}")
    if keywords:
        parts.append("HF keywords")
    return ", ".join(parts)


_Part = tuple[str, str, float]  # kind, detail, raw contribution


def _share(points: float, parts: Sequence[_Part]) -> list[ScoreReason]:
    total = sum(abs(raw) for _, _, raw in parts)
    return [
        ScoreReason.model_construct(
            kind=kind, detail=detail, points=round(points * abs(raw) / total, 2) if total else 0.0
        )
        for kind, detail, raw in parts
    ]


def _score_one(paper: Paper, compiled: _Compiled) -> ScoredPaper:
    hits = _Hits()
    title_tokens, title_raw = _field_tokens(paper.title)
    abstract_tokens, abstract_raw = _field_tokens(paper.abstract)
    _match_tokens(title_tokens, compiled, hits, 0)
    _match_tokens(abstract_tokens, compiled, hits, 1)
    _match_acronyms(title_raw, compiled, hits, 0)
    _match_acronyms(abstract_raw, compiled, hits, 1)
    hf_keywords = paper.hf.ai_keywords if paper.hf is not None else []
    if hf_keywords:
        joined = " | ".join(hf_keywords)
        kw_hits = _Hits()
        _match_tokens(list(map(_stem, _TOKEN_OR_BAR.findall(_normalise(joined)))), compiled, kw_hits, 2)
        _match_acronyms(_RAW_TOKEN.findall(joined), compiled, kw_hits, 2)
        for index, c in kw_hits.counts.items():  # present in the HF keywords at all, not how often
            for spelling in kw_hits.spellings[index]:
                hits.add(index, 2, spelling)
            hits.counts[index][2] = min(c[2], 2.0)

    topical: list[_Part] = []
    negative: list[_Part] = []
    excluded: list[str] = []
    for index in sorted(hits.counts):
        concept = compiled.concepts[index]
        title, abstract, keywords = hits.counts[index]
        matched = "/".join(hits.spellings[index][:3])
        if concept.kind == "exclude":
            if title or abstract:
                excluded.append(f"'{matched}' in {_where(title, abstract, 0)}")
            continue
        raw = concept.weight * _saturate(title, abstract, keywords, len(abstract_tokens))
        part = (concept.kind, f"'{matched}' in {_where(title, abstract, keywords)}", raw)
        (topical if raw > 0 else negative).append(part)

    # diminishing returns across concepts: the strongest counts fully, the next DISCOUNT times, and so on,
    # so one clear topic outweighs several loosely related mentions
    topical.sort(key=lambda part: -part[2])
    positive: list[_Part] = [(k, d, raw * DISCOUNT**rank) for rank, (k, d, raw) in enumerate(topical)]
    relevance = sum(raw for _, _, raw in positive)
    for author in paper.authors if compiled.authors else ():
        surname = author.rsplit(" ", 1)[-1].lower()
        if surname in compiled.surnames and _author_key(author) in compiled.authors:
            positive.append(("author", f"author {author}", AUTHOR_LIFT))
            break
    gate = min(1.0, relevance / PRIOR_GATE)
    if paper.hf is not None and gate > 0:
        if paper.hf.upvotes > 0:
            lift = min(UPVOTE_PRIOR_CAP, UPVOTE_PRIOR_PER_DECADE * math.log10(1 + paper.hf.upvotes)) * gate
            positive.append(("prior", f"{paper.hf.upvotes} HF upvotes", lift))
        if paper.hf.github_repo:
            positive.append(("prior", "linked code repository", REPO_PRIOR * gate))

    raw_positive = sum(raw for _, _, raw in positive)
    raw_negative = sum(raw for _, _, raw in negative)
    before_penalties = _to_score(raw_positive)
    score = _to_score(raw_positive + raw_negative)
    reasons = _share(before_penalties, positive) + _share(score - before_penalties, negative)
    if excluded:
        penalised = score * EXCLUDE_FACTOR
        detail = "excluded: " + "; ".join(excluded)
        reasons.append(
            ScoreReason.model_construct(kind="exclude", detail=detail, points=round(penalised - score, 2))
        )
        score = penalised
    score = round(min(100.0, max(0.0, score)), 2)
    # values are valid by construction; skipping validation keeps 10,000 papers well under a second
    return ScoredPaper.model_construct(paper=paper, score=score, reasons=reasons)


def score_papers(papers: Sequence[Paper], profile: ProfileConfig) -> list[ScoredPaper]:
    """Score every paper against the profile, 0..100, best first (ties by paper id).

    Pure and deterministic; a paper's score does not depend on the other papers in the batch."""
    compiled = _compile(profile)
    logger.debug("scoring %d papers against %d profile concepts", len(papers), len(compiled.concepts))
    scored = [_score_one(paper, compiled) for paper in papers]
    scored.sort(key=lambda s: (-s.score, s.paper.id))
    return scored
