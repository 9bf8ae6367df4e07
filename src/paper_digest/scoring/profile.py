"""A :class:`~paper_digest.config.ProfileConfig` compiled once per call into concepts and lookup tables."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..config import ProfileConfig
from .text import author_key, description_phrases, is_acronym, tokens, topic_name
from .topics import Taxonomy, glossary, shipped

#: weight of a description term when the profile also has keywords / when it has none
DESCRIPTION_WEIGHT = 1.0
DESCRIPTION_ONLY_WEIGHT = 3.0


@dataclass(frozen=True)
class Concept:
    kind: str  # keyword | description | related | exclude
    label: str
    weight: float
    #: the label as a reader names it (Chinese where known), for the digest's one-line column
    topic: str = ""
    #: for a related concept: the profile phrase whose sub-topic it is
    parent: str = ""


@dataclass
class Compiled:
    concepts: list[Concept] = field(default_factory=list)
    #: first stemmed token -> [(phrase tokens, concept index)], longest phrase first
    phrases: dict[str, list[tuple[tuple[str, ...], int]]] = field(default_factory=dict)
    #: (concept index, stemmed phrase or acronym) -> the variant as the profile spells it
    spelling: dict[tuple[int, tuple[str, ...]], str] = field(default_factory=dict)
    #: acronym -> concept indexes
    acronyms: dict[str, list[int]] = field(default_factory=dict)
    #: every acronym, longest first, then the rest of its word (group 2): a literal scan that finds the few
    #: candidates quickly; ``score`` checks the word boundaries (SR, SRs, SR3 match; SRAM, uSR do not)
    acronym_pattern: re.Pattern[str] | None = None
    authors: dict[str, str] = field(default_factory=dict)
    #: last word of each followed author's name, lower case: a cheap pre-check before normalising names
    surnames: set[str] = field(default_factory=set)
    seen: set[tuple[str, ...]] = field(default_factory=set)
    #: concept -> (its ambiguous spellings, the concepts whose longer phrases use them as a modifier);
    #: see :func:`ambiguous_senses`
    ambiguous: dict[int, tuple[frozenset[str], tuple[int, ...]]] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        key: str,
        weight: float,
        topic: str = "",
        parent: str = "",
        covered: frozenset[tuple[str, ...]] = frozenset(),
    ) -> None:
        """A concept of every variant of ``key`` (``|``-separated). Description and related concepts skip
        phrases an earlier concept already has (a profile's own words come first), and any variant that
        contains one of the ``covered`` phrases: that phrase already matches there, and the longer variant
        would take its hits (the matcher counts the longest phrase at a position) at another weight."""
        variants = [v.strip() for v in key.split("|") if v.strip() and not _contains_any(tokens(v), covered)]
        if not variants or weight == 0:
            return
        index = len(self.concepts)
        added = False
        for variant in variants:
            added |= self._spell(index, variant, derived=kind in ("description", "related"))
        if added:
            name = topic or _chinese_name(variants)
            self.concepts.append(Concept(kind, variants[0], weight, name, parent))

    def extend(self, index: int, key: str) -> None:
        """More spellings of concept ``index`` (a synonym's ``|``-separated variants): the ones no concept has
        yet match as that concept, at its weight."""
        for variant in key.split("|"):
            self._spell(index, variant.strip(), derived=True)

    def _spell(self, index: int, variant: str, derived: bool) -> bool:
        """One spelling of concept ``index``: an acronym (matched case-sensitively) or a phrase of stemmed
        tokens. False when it is empty, or when it is ``derived`` (not the profile's own words) and another
        concept already has it."""
        if is_acronym(variant):
            if derived and variant in self.acronyms:
                return False
            self.acronyms.setdefault(variant, []).append(index)
            self.spelling[(index, (variant,))] = variant
            return True
        phrase = tuple(tokens(variant))
        if not phrase or (derived and phrase in self.seen):
            return False
        self.seen.add(phrase)
        self.phrases.setdefault(phrase[0], []).append((phrase, index))
        self.spelling.setdefault((index, phrase), variant)
        return True

    def finish(self) -> None:
        if self.acronyms:
            alternatives = "|".join(re.escape(a) for a in sorted(self.acronyms, key=lambda a: (-len(a), a)))
            self.acronym_pattern = re.compile(f"({alternatives})([A-Za-z0-9]*)")
        for entries in self.phrases.values():
            entries.sort(key=lambda item: (-len(item[0]), item[1]))
        self.ambiguous = ambiguous_senses(self)


def ambiguous_senses(compiled: Compiled) -> dict[int, tuple[frozenset[str], tuple[int, ...]]]:
    """Words of one positive concept that another positive concept uses as a *modifier* in a longer phrase:
    "denoising" (image denoising) inside "denoising step" or "denoising process" (diffusion sampling).

    English compounds are head-final, so a phrase that ends with the word ("video super-resolution",
    "image degradation") is a kind of the same thing and is not ambiguous; only a non-final occurrence marks a
    second sense. The scorer resolves such words per paper, one sense per discourse."""
    positive = [
        (phrase, index)
        for entries in compiled.phrases.values()
        for phrase, index in entries
        if compiled.concepts[index].weight > 0 and compiled.concepts[index].kind != "exclude"
    ]
    # every position of every longer phrase where a shorter one could start and not be at its end
    starts: dict[str, list[tuple[tuple[str, ...], int, int]]] = {}
    for longer, b in positive:
        for i, token in enumerate(longer[:-1]):
            starts.setdefault(token, []).append((longer, b, i))
    found: dict[int, tuple[set[str], set[int]]] = {}
    for phrase, a in positive:
        n = len(phrase)
        for longer, b, i in starts.get(phrase[0], ()):
            if b != a and i + n < len(longer) and longer[i : i + n] == phrase:
                spellings, senses = found.setdefault(a, (set(), set()))
                spellings.add(compiled.spelling[(a, phrase)])
                senses.add(b)
    return {a: (frozenset(sp), tuple(sorted(se))) for a, (sp, se) in sorted(found.items())}


def compile_profile(profile: ProfileConfig) -> Compiled:
    compiled = Compiled()
    for key, weight in sorted(profile.keywords.items()):
        compiled.add("keyword", key, weight)
    weight = DESCRIPTION_WEIGHT if profile.keywords else DESCRIPTION_ONLY_WEIGHT
    keywords = frozenset(compiled.seen)
    for phrase in description_phrases(profile.description, glossary()):
        compiled.add("description", phrase, weight, covered=keywords)
    if profile.related_topics:
        add_related(compiled, shipped())
    for phrase in sorted(set(profile.exclude)):
        compiled.add("exclude", phrase, 1.0)
    compiled.authors = {author_key(a): a for a in profile.authors if author_key(a)}
    compiled.surnames = {key.rsplit(" ", 1)[-1] for key in compiled.authors}
    compiled.finish()
    return compiled


def add_related(compiled: Compiled, taxonomy: Taxonomy) -> None:
    """The sub-topics of every positive profile concept that names a topic of the taxonomy, as ``related``
    concepts at their share of its weight; the heaviest concepts first, so a phrase two topics share takes the
    larger weight (:mod:`.topics`).

    A sub-topic the profile names itself is the profile's: one whose variants include or contain one of the
    profile's own phrases ("video super-resolution" for a profile with "super-resolution", "controllable video
    generation" for a negative "video generation", "multi-view stereo|MVS" for a profile that says
    "multi-view stereo" and not "MVS") is left out: the profile's phrase matches there at its own weight, and
    the longer phrase would take its hits (see :meth:`Compiled.add`)."""
    own = frozenset(compiled.seen)
    variants: dict[int, list[str]] = {}
    own_index: dict[tuple[str, ...], int] = {}
    for (index, phrase), variant in compiled.spelling.items():
        variants.setdefault(index, []).append(variant)
        if compiled.concepts[index].kind in ("keyword", "description"):
            own_index.setdefault(phrase, index)
    parents = sorted(
        (i for i, c in enumerate(compiled.concepts) if c.weight > 0 and c.kind in ("keyword", "description")),
        key=lambda i: -compiled.concepts[i].weight,
    )
    for index in parents:
        concept = compiled.concepts[index]
        for variant in variants.get(index, ()):
            for related in taxonomy.related(variant):
                child = related.child
                named = [i for i in map(own_index.get, child.phrases) if i]
                if named:  # the profile names this sub-topic itself: its other spellings are synonyms
                    compiled.extend(named[0], child.key)
                    continue
                if any(_contains_any(phrase, own) for phrase in child.phrases):
                    continue
                weight = concept.weight * related.share
                compiled.add("related", child.key, weight, child.zh, concept.label)


def _chinese_name(variants: Sequence[str]) -> str:
    """How the digest names a concept: the glossary's or :data:`~.text.TOPIC_NAMES`' Chinese term for its
    first variant, else the field taxonomy's for any variant ("camera pose" -> 相机位姿), else the first
    variant as the profile spells it."""
    first = topic_name(variants[0])
    if first != variants[0].strip():
        return first
    names = shipped().names
    return next((names[v.lower()] for v in variants if v.lower() in names), first)


def _contains_any(phrase: Sequence[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    """Does ``phrase`` contain one of ``phrases`` as a run of its tokens (itself included)?"""
    if not phrases:
        return False
    phrase = tuple(phrase)
    n = len(phrase)
    return any(phrase[i:j] in phrases for i in range(n) for j in range(i + 1, n + 1))
