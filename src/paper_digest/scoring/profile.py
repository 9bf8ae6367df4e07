"""A :class:`~paper_digest.config.ProfileConfig` compiled once per call into concepts and lookup tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..config import ProfileConfig
from .text import author_key, description_phrases, is_acronym, tokens

#: weight of a description term when the profile also has keywords / when it has none
DESCRIPTION_WEIGHT = 1.0
DESCRIPTION_ONLY_WEIGHT = 3.0


@dataclass(frozen=True)
class Concept:
    kind: str  # keyword | description | exclude
    label: str
    weight: float


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

    def add(self, kind: str, key: str, weight: float) -> None:
        variants = [v.strip() for v in key.split("|") if v.strip()]
        if not variants or weight == 0:
            return
        index = len(self.concepts)
        added = False
        for variant in variants:
            if is_acronym(variant):
                if kind == "description" and variant in self.acronyms:
                    continue
                self.acronyms.setdefault(variant, []).append(index)
                self.spelling[(index, (variant,))] = variant
                added = True
                continue
            phrase = tuple(tokens(variant))
            if not phrase or (kind == "description" and phrase in self.seen):
                continue
            self.seen.add(phrase)
            self.phrases.setdefault(phrase[0], []).append((phrase, index))
            self.spelling.setdefault((index, phrase), variant)
            added = True
        if added:
            self.concepts.append(Concept(kind=kind, label=variants[0], weight=weight))

    def finish(self) -> None:
        if self.acronyms:
            alternatives = "|".join(re.escape(a) for a in sorted(self.acronyms, key=lambda a: (-len(a), a)))
            self.acronym_pattern = re.compile(f"({alternatives})([A-Za-z0-9]*)")
        for entries in self.phrases.values():
            entries.sort(key=lambda item: (-len(item[0]), item[1]))


def compile_profile(profile: ProfileConfig) -> Compiled:
    compiled = Compiled()
    for key, weight in sorted(profile.keywords.items()):
        compiled.add("keyword", key, weight)
    weight = DESCRIPTION_WEIGHT if profile.keywords else DESCRIPTION_ONLY_WEIGHT
    for phrase in description_phrases(profile.description):
        compiled.add("description", phrase, weight)
    for phrase in sorted(set(profile.exclude)):
        compiled.add("exclude", phrase, 1.0)
    compiled.authors = {author_key(a): a for a in profile.authors if author_key(a)}
    compiled.surnames = {key.rsplit(" ", 1)[-1] for key in compiled.authors}
    compiled.finish()
    return compiled
