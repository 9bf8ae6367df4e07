"""Field knowledge: the standard sub-topics of broad research topics (the shipped ``topics.toml``).

A researcher writes "image restoration" and means demosaicing and reflection removal too; a new user's dozen
keywords cannot list every task of a field, and static word vectors place "image segmentation" as close to
"image restoration" as "image dehazing". The taxonomy says which phrases name a part of a topic: a profile
concept whose phrase is a topic's name (or alias) brings the topic's children in as *related* concepts at a
share of its weight (:data:`RELATED_SHARE`), and children that are topics themselves bring theirs at the share
again (:data:`DEPTH` levels). A related match explains itself ("'demosaicing' in title, part of image
restoration") and shows its Chinese name in the digest.

``topics.toml`` was written from public taxonomies (Papers with Code's task hierarchy, the arXiv categories,
conference subject areas; each topic names its sources) by two authors and reviewed by a third, none of whom
saw the scorer or the benchmark's labels (``docs/taxonomy/``), and covers many fields, so it is field
knowledge rather than a fit to one profile. Pure: the file is read once per process."""

from __future__ import annotations

import functools
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .text import GLOSSARY, tokens

logger = logging.getLogger(__name__)

TOPICS_FILE = Path(__file__).with_name("topics.toml")
#: a child counts this share of its parent concept's weight (a grandchild the share squared, and so on)
RELATED_SHARE = 0.5
#: how many levels below a profile's topic the children reach
DEPTH = 1


@dataclass(frozen=True)
class Child:
    #: the child's phrase with its variants, "|"-separated, as a profile keyword is written
    key: str
    #: its Chinese name ("" when the file gives none)
    zh: str
    #: each variant as stemmed tokens (computed once: a profile is compiled on every scoring call)
    phrases: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Topic:
    name: str
    zh: str
    children: tuple[Child, ...]


@dataclass(frozen=True)
class Related:
    """A related concept: the child and its share of the weight of the profile phrase it came from."""

    child: Child
    share: float


@dataclass(frozen=True, eq=False)
class Taxonomy:
    #: stemmed tokens of each topic's name and aliases -> the topic
    topics: dict[tuple[str, ...], Topic]
    #: lower-case English phrase (topic names, aliases, every child variant) -> Chinese name
    names: dict[str, str]
    #: Chinese name -> the English phrase it names (topics first, then sub-topics; the first wins)
    terms: dict[str, str] = field(default_factory=dict)
    #: (phrase, depth, share) -> :meth:`related`'s answer (the taxonomy never changes once read)
    _related: dict[tuple[str, int, float], list[Related]] = field(default_factory=dict, repr=False)

    def topic(self, phrase: str) -> Topic | None:
        return self.topics.get(tuple(tokens(phrase)))

    def related(self, phrase: str) -> list[Related]:
        """The children of the topic ``phrase`` names, then their children (:data:`DEPTH` levels), each at
        its share (:data:`RELATED_SHARE` per level), nearest first; a phrase reached twice keeps its nearest
        place. Empty when the phrase names no topic."""
        memo = (phrase, DEPTH, RELATED_SHARE)
        if memo in self._related:
            return self._related[memo]
        found: list[Related] = []
        seen = {tuple(tokens(phrase))}
        level = [(phrase, self.topic(phrase))]
        weight = 1.0
        for _ in range(DEPTH):
            weight *= RELATED_SHARE
            below: list[tuple[str, Topic | None]] = []
            for _, topic in level:
                for child in topic.children if topic is not None else ():
                    key = child.phrases[0] if child.phrases else ()
                    if key in seen:
                        continue
                    seen.add(key)
                    found.append(Related(child, weight))
                    below.append((child.key, self.topics.get(key)))
            level = below
        self._related[memo] = found
        return found


def parse(data: dict[str, object]) -> Taxonomy:
    """A taxonomy from the parsed TOML (``[[topic]]`` tables: name, aliases, zh, children = {key: zh})."""
    topics: dict[tuple[str, ...], Topic] = {}
    names: dict[str, str] = {}
    terms: dict[str, str] = {}
    child_terms: dict[str, str] = {}
    entries = data.get("topic", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        raw_children = entry.get("children", {})
        children = tuple(
            Child(key, zh if isinstance(zh, str) else "", tuple(tuple(tokens(v)) for v in key.split("|")))
            for key, zh in (raw_children.items() if isinstance(raw_children, dict) else ())
            if any(v.strip() for v in key.split("|"))
        )
        zh = entry.get("zh") if isinstance(entry.get("zh"), str) else ""
        topic = Topic(entry["name"], str(zh), children)
        aliases = entry.get("aliases", [])
        if topic.zh:
            terms.setdefault(topic.zh, topic.name)
        for phrase in [topic.name, *(a for a in aliases if isinstance(a, str))]:
            key = tuple(tokens(phrase))
            if key and key not in topics:
                topics[key] = topic
            if topic.zh:
                names.setdefault(phrase.lower(), topic.zh)
        for child in children:
            if child.zh:
                child_terms.setdefault(child.zh, child.key.split("|", 1)[0].strip())
            for variant in child.key.split("|"):
                if child.zh and variant.strip():
                    names.setdefault(variant.strip().lower(), child.zh)
    for chinese, english in child_terms.items():
        terms.setdefault(chinese, english)
    return Taxonomy(topics, names, terms)


@functools.cache
def shipped() -> Taxonomy:
    """The taxonomy shipped with the package (empty, with a warning, if its file cannot be read)."""
    try:
        with TOPICS_FILE.open("rb") as handle:
            return parse(tomllib.load(handle))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.warning("related topics are off: %s could not be read (%s)", TOPICS_FILE.name, exc)
        return Taxonomy({}, {})


@functools.cache
def glossary() -> dict[str, tuple[str, ...]]:
    """Chinese field terms -> English phrases, for reading a Chinese description: the scorer's hand-written
    :data:`~.text.GLOSSARY`, then the Chinese names of the shipped taxonomy that neither contain nor sit
    inside one of its terms (三维重建 -> 3D reconstruction, 思维链 -> chain-of-thought), so a description in
    Chinese works in any field."""
    merged = dict(GLOSSARY)
    for chinese, english in shipped().terms.items():
        if len(chinese) < 2 or chinese.isascii():
            continue
        if any(term in chinese or chinese in term for term in GLOSSARY):
            continue  # the hand-written glossary reads this term's field (退化 is not re-read as 退化建模)
        merged.setdefault(chinese, (english,))
    return merged
