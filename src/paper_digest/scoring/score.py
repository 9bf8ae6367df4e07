"""Matching and scoring: one paper against a compiled profile, 0..100 with reasons. Pure."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from itertools import compress

from ..config import ProfileConfig
from ..models import Paper, ScoredPaper, ScoreReason
from .profile import Compiled, compile_profile
from .text import (
    TOKEN,
    TOKEN_OR_BAR,
    author_key,
    field_text,
    normalise,
    split_first_sentence,
    stem_cached,
)

logger = logging.getLogger(__name__)

#: a title hit is worth this many abstract hits (field weight in BM25F): the title names the paper's topic
TITLE_WEIGHT = 5.0
#: a hit in the first sentence of the abstract counts this much *extra*: abstracts open with their problem
#: ("Image deraining aims to ..."), while passing mentions of neighbouring techniques come later
FIRST_SENTENCE_WEIGHT = 1.0
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
#: share of an ambiguous word's hits moved to the other sense when the paper uses that sense's phrases
#: ("denoising" in a paper that also says "denoising steps"): one sense per discourse, but not certainty
SENSE_SHARE = 0.5

# field slots of a hit count
_TITLE, _ABSTRACT, _KEYWORDS, _FIRST = 0, 1, 2, 3


class _Hits:
    """Per concept: hits in title, abstract, HF keywords, first sentence, and the spellings that matched."""

    __slots__ = ("counts", "shared", "shown", "spellings")

    def __init__(self) -> None:
        self.counts: dict[int, list[float]] = {}
        self.spellings: dict[int, list[str]] = {}
        #: concept -> the concept that took a share of its hits (see ``_one_sense``)
        self.shared: dict[int, int] = {}
        #: hit counts before any share moved, for the explanation (only concepts a share touched)
        self.shown: dict[int, list[float]] = {}

    def add(self, index: int, slot: int, spelling: str) -> None:
        counts = self.counts.get(index)
        if counts is None:
            counts = self.counts[index] = [0.0, 0.0, 0.0, 0.0]
            self.spellings[index] = []
        counts[slot] += 1
        if spelling not in self.spellings[index]:
            self.spellings[index].append(spelling)


def _match_tokens(tokens: Sequence[str], compiled: Compiled, hits: _Hits, slot: int, first: int = 0) -> None:
    """Greedy longest-phrase matching: a position covered by a longer phrase is not counted again. Hits
    starting before token ``first`` also count in the first-sentence slot."""
    phrases = compiled.phrases
    spelling = compiled.spelling
    n = len(tokens)
    covered = 0
    # candidate positions found at C speed: a paper has a few candidate words among hundreds
    for i in list(compress(range(n), map(phrases.__contains__, tokens))):
        if i < covered:
            continue
        for phrase, index in phrases[tokens[i]]:
            end = i + len(phrase)
            if end <= n and (len(phrase) == 1 or tuple(tokens[i:end]) == phrase):
                hits.add(index, slot, spelling[(index, phrase)])
                if i < first:
                    hits.counts[index][_FIRST] += 1
                covered = end
                break


def _match_acronyms(text: str, compiled: Compiled, hits: _Hits, slot: int, first: int = 0) -> None:
    """Acronyms in the original-case text; hits starting before character ``first`` are first-sentence."""
    pattern = compiled.acronym_pattern
    if pattern is None:
        return
    for match in pattern.finditer(text):
        start = match.start()
        if start and text[start - 1].isalnum():
            continue  # inside a longer word
        acronym, tail = match.groups()
        if tail and tail != "s" and not (len(tail) <= 2 and tail.isdigit()):
            continue  # SRAM, DINOsaur
        for index in compiled.acronyms[acronym]:
            hits.add(index, slot, acronym)
            if match.start() < first:
                hits.counts[index][_FIRST] += 1


def _stems(text: str) -> list[str]:
    return list(map(stem_cached, TOKEN.findall(text.lower())))


def _saturate(counts: Sequence[float], abstract_len: int) -> float:
    title, abstract, keywords, first = counts
    norm = 1.0 - B + B * max(abstract_len, 1) / TYPICAL_ABSTRACT_TOKENS
    tf = (
        TITLE_WEIGHT * title
        + (abstract + FIRST_SENTENCE_WEIGHT * first) / norm
        + HF_KEYWORD_WEIGHT * keywords
    )
    return tf / (tf + K1)


def _to_score(raw: float) -> float:
    return 100.0 * (1.0 - math.exp(-max(raw, 0.0) / TAU))


def _where(counts: Sequence[float], with_keywords: bool = True) -> str:
    title, abstract, keywords, first = counts
    parts = []
    if title:
        parts.append("title" if title == 1 else f"title ×{title:.0f}")
    if abstract:
        parts.append("abstract" if abstract == 1 else f"abstract ×{abstract:.0f}")
        if first:
            parts.append("first sentence")
    if keywords and with_keywords:
        parts.append("HF keywords")
    return ", ".join(parts)


_Part = tuple[str, str, float, str | None]  # kind, detail, raw contribution, topic


def _share(points: float, parts: Sequence[_Part]) -> list[ScoreReason]:
    total = sum(abs(part[2]) for part in parts)
    return [
        ScoreReason.model_construct(
            kind=kind,
            detail=detail,
            points=round(points * abs(raw) / total, 2) if total else 0.0,
            topic=topic,
        )
        for kind, detail, raw, topic in parts
    ]


def _one_sense(hits: _Hits, compiled: Compiled) -> None:
    """One sense per discourse (Gale, Church & Yarowsky 1992): when every hit of a concept is a word that
    another matched concept uses as a modifier ("denoising" next to "denoising steps"), the paper most likely
    uses the word in that other sense, so :data:`SENSE_SHARE` of the hits move to it."""
    for index, (spellings, senses) in compiled.ambiguous.items():
        counts = hits.counts.get(index)
        if counts is None or not set(hits.spellings[index]) <= spellings:
            continue  # not matched, or matched by an unambiguous variant too ("image denoising")
        present = [other for other in senses if other in hits.counts and other not in hits.shared]
        if not present:
            continue
        other = max(present, key=lambda i: (sum(hits.counts[i]), -i))
        hits.shared[index] = other
        hits.shown.setdefault(index, list(counts))
        target = hits.counts[other]
        hits.shown.setdefault(other, list(target))
        for slot, value in enumerate(counts):
            target[slot] += SENSE_SHARE * value
            counts[slot] -= SENSE_SHARE * value


def _match_paper(paper: Paper, compiled: Compiled) -> tuple[_Hits, int]:
    """All concept hits of a paper, and the abstract length in tokens."""
    hits = _Hits()
    title = field_text(paper.title)
    _match_tokens(_stems(title), compiled, hits, _TITLE)
    _match_acronyms(title, compiled, hits, _TITLE)
    abstract = field_text(paper.abstract)
    first, rest = split_first_sentence(abstract)
    first_tokens = _stems(first)
    abstract_tokens = first_tokens + _stems(rest) if rest else first_tokens
    _match_tokens(abstract_tokens, compiled, hits, _ABSTRACT, first=len(first_tokens) if rest else 0)
    _match_acronyms(abstract, compiled, hits, _ABSTRACT, first=len(first) if rest else 0)
    hf_keywords = paper.hf.ai_keywords if paper.hf is not None else []
    if hf_keywords:
        joined = " | ".join(hf_keywords)
        kw_hits = _Hits()
        _match_tokens(
            list(map(stem_cached, TOKEN_OR_BAR.findall(normalise(joined)))), compiled, kw_hits, _KEYWORDS
        )
        _match_acronyms(joined, compiled, kw_hits, _KEYWORDS)
        for index, c in kw_hits.counts.items():  # present in the HF keywords at all, not how often
            for spelling in kw_hits.spellings[index]:
                hits.add(index, _KEYWORDS, spelling)
            hits.counts[index][_KEYWORDS] = min(c[_KEYWORDS], 2.0)
    if compiled.ambiguous:
        _one_sense(hits, compiled)
    return hits, len(abstract_tokens)


def _score_one(paper: Paper, compiled: Compiled) -> ScoredPaper:
    hits, abstract_len = _match_paper(paper, compiled)
    topical: list[_Part] = []
    negative: list[_Part] = []
    excluded: list[str] = []
    for index in sorted(hits.counts):
        concept = compiled.concepts[index]
        counts = hits.counts[index]
        matched = "/".join(hits.spellings[index][:3])
        if concept.kind == "exclude":
            if counts[_TITLE] or counts[_ABSTRACT]:
                excluded.append(f"'{matched}' in {_where(counts, with_keywords=False)}")
            continue
        raw = concept.weight * _saturate(counts, abstract_len)
        detail = f"'{matched}' in {_where(hits.shown.get(index, counts))}"
        if concept.parent:
            detail += f", part of {concept.parent}"
        if index in hits.shared:
            detail += f", half read in the sense of '{compiled.concepts[hits.shared[index]].label}'"
        part = (concept.kind, detail, raw, concept.topic or None)
        (topical if raw > 0 else negative).append(part)

    # diminishing returns across concepts: the strongest counts fully, the next DISCOUNT times, and so on,
    # so one clear topic outweighs several loosely related mentions
    topical.sort(key=lambda part: -part[2])
    positive: list[_Part] = [(k, d, raw * DISCOUNT**rank, t) for rank, (k, d, raw, t) in enumerate(topical)]
    relevance = sum(part[2] for part in positive)
    for author in paper.authors if compiled.authors else ():
        surname = author.rsplit(" ", 1)[-1].lower()
        if surname in compiled.surnames and author_key(author) in compiled.authors:
            positive.append(("author", f"author {author}", AUTHOR_LIFT, None))
            break
    gate = min(1.0, relevance / PRIOR_GATE)
    if paper.hf is not None and gate > 0:
        if paper.hf.upvotes > 0:
            lift = min(UPVOTE_PRIOR_CAP, UPVOTE_PRIOR_PER_DECADE * math.log10(1 + paper.hf.upvotes)) * gate
            positive.append(("prior", f"{paper.hf.upvotes} HF upvotes", lift, None))
        if paper.hf.github_repo:
            positive.append(("prior", "linked code repository", REPO_PRIOR * gate, None))

    raw_positive = sum(part[2] for part in positive)
    raw_negative = sum(part[2] for part in negative)
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
    compiled = compile_profile(profile)
    logger.debug("scoring %d papers against %d profile concepts", len(papers), len(compiled.concepts))
    scored = [_score_one(paper, compiled) for paper in papers]
    scored.sort(key=lambda s: (-s.score, s.paper.id))
    return scored


def top_unique(ranked: Sequence[ScoredPaper], count: int) -> dict[str, ScoredPaper]:
    """The first ``count`` papers of a ranking by id (a duplicated id counts once, its first entry wins), in
    ranking order: what an optional stage is given to work on."""
    top: dict[str, ScoredPaper] = {}
    for scored in ranked:
        if len(top) >= count:
            break
        top.setdefault(scored.paper.id, scored)
    return top


def concept_strengths(papers: Sequence[Paper], profile: ProfileConfig) -> tuple[list[str], list[list[float]]]:
    """Per paper, how strongly it matches each of the profile's own concepts: ``weight * saturation`` as the
    score sums it (before the cross-concept discount; 0 for a concept it does not match). A related
    sub-topic's match counts towards the profile concept it came from, so the columns are the profile's own
    (a dozen keywords do not become a hundred features for twenty ratings). The concepts' labels come first.
    What the learner of :mod:`.learn` reads as its lexical features."""
    compiled = compile_profile(profile)
    own = [i for i, c in enumerate(compiled.concepts) if c.kind != "related"]
    column = {index: k for k, index in enumerate(own)}
    by_label: dict[str, int] = {}
    for index in own:
        by_label.setdefault(compiled.concepts[index].label, column[index])
    for index, concept in enumerate(compiled.concepts):
        if concept.kind == "related" and concept.parent in by_label:
            column[index] = by_label[concept.parent]
    labels = [f"{compiled.concepts[i].kind}:{compiled.concepts[i].label}" for i in own]
    rows: list[list[float]] = []
    for paper in papers:
        hits, abstract_len = _match_paper(paper, compiled)
        row = [0.0] * len(labels)
        for index, counts in hits.counts.items():
            if index not in column:
                continue
            concept = compiled.concepts[index]
            weight = 1.0 if concept.kind == "exclude" else concept.weight
            row[column[index]] += weight * _saturate(counts, abstract_len)
        rows.append(row)
    return labels, rows
