"""Every number in a deep dive must appear in the text the model was given. Pure functions.

:func:`unverified_numbers` lists the numbers of a written text that the source does not contain. A number
matches when its value appears in the source, whatever the spelling: "1,540,396" = "1540396", "1.2M" =
"1.2 million" = "1,200,000", "1.2万" = "12000", "3×" = "3x" = "3 \\times", "88%" = "0.88", "32.50" = "32.5",
a range "54.4–73" is its two ends, and a sign is ignored ("−0.5" = "-0.5" = "0.5"). Chinese text around a
number does not matter ("提升了32.5 dB"). Small counts (0-20) also match their English word ("three
stages" proves "3 个阶段"). A digit glued to letters ("A100", "GPT-4o", "ResNet50", "L1") is a name, not a
quantity: the name itself must appear in the source (case-insensitive).

Numbers the model computed (a difference of two table entries, a rounded figure) are reported: the prompt
asks for the paper's numbers as written, and the reader is told which ones could not be found.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .markup import strip_markup
from .models import DeepDive, FactItem

#: multiplier words and suffixes (English and Chinese) -> factor
_SCALE: dict[str, Decimal] = {
    "k": Decimal(1_000),
    "thousand": Decimal(1_000),
    "千": Decimal(1_000),
    "m": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "mn": Decimal(1_000_000),
    "百万": Decimal(1_000_000),
    "万": Decimal(10_000),
    "b": Decimal(1_000_000_000),
    "bn": Decimal(1_000_000_000),
    "billion": Decimal(1_000_000_000),
    "亿": Decimal(100_000_000),
    "t": Decimal(1_000_000_000_000),
    "trillion": Decimal(1_000_000_000_000),
}
_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "single": 1,
    "twice": 2, "double": 2, "triple": 3, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "half": 2, "dozen": 12, "both": 2, "pair": 2, "once": 1,
}  # fmt: skip
#: a number as written: digits with thousands separators or a decimal part, or a decimal without a leading 0
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<glued>[A-Za-z]+[-_]?)?"  # letters glued before: a name ("A100", "GPT-4")
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<tail>[A-Za-z]*)"  # letters glued after: a unit ("dB", "ms"), a scale ("M") or a name ("4o")
    r"(?P<sign>\s?[%×‰])?"  # kept in the number as written, for the reader
)
_SEPARATORS = re.compile(r"[-_\s]")
_SCALE_AFTER = re.compile(r"^\s*(thousand|million|billion|trillion|mn|bn|百万|千|万|亿)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+")
#: tails that are units or scales, not part of a name
_UNITS = frozenset(
    {"", "k", "m", "b", "t", "bn", "mn", "x", "db", "ms", "s", "h", "min", "gb", "mb", "kb", "tb", "fps",
     "px", "p", "d", "hz", "khz", "ghz", "w", "kw", "gpu", "gpus", "st", "nd", "rd", "th", "e", "f", "g",
     "cm", "mm", "km", "kg", "pt", "pts", "bit", "bits", "bpp", "v", "a", "ep", "epochs", "steps", "it"}
)  # fmt: skip
_IGNORED_NAMES = frozenset({"x", "v"})  # "x2" (scale factor), "v2" (version) read as numbers


def _is_name(glued: str, tail: str) -> bool:
    """Digits glued to letters that are not a unit or scale: part of a name ("A100", "GPT-4o")."""
    return bool(glued and glued.rstrip("-_").lower() not in _IGNORED_NAMES) or tail.lower() not in _UNITS


def _value(text: str) -> Decimal | None:
    try:
        return abs(Decimal(text.replace(",", "")))
    except InvalidOperation:
        return None


def _norm(value: Decimal) -> str:
    """A canonical spelling of a value: no exponent, no trailing zeros ("32.50" -> "32.5")."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scale_of(tail: str, after: str) -> Decimal | None:
    word = _SCALE_AFTER.match(after)
    if tail.lower() in ("k", "m", "b", "t", "bn", "mn"):
        return _SCALE[tail.lower()]
    if not tail and word:
        return _SCALE[word.group(1).lower()]
    return None


def _values(text: str) -> tuple[set[str], set[str]]:
    """Every value the source states (in canonical spelling, with scaled and percent forms) and its names."""
    values: set[str] = set()
    names: set[str] = set()
    for match in _NUMBER.finditer(text):
        value = _value(match.group("num"))
        if value is None:
            continue
        glued, tail = match.group("glued") or "", match.group("tail")
        names.add(_SEPARATORS.sub("", glued + match.group("num") + tail).lower())
        if _is_name(glued, tail):
            continue  # "GPT-4o" states no 4
        values.add(_norm(value))
        scale = _scale_of(tail, text[match.end() : match.end() + 10])
        if scale is not None:
            values.add(_norm(value * scale))
        values.add(_norm(value * 100))  # 0.88 -> 88 (%)
        values.add(_norm(value / 100))  # 88% -> 0.88
    for word in _WORD.findall(text):
        number = _WORDS.get(word.lower())
        if number is not None:
            values.add(str(number))
    return values, names


def numbers_in(text: str) -> list[tuple[str, str | None, str]]:
    """The numbers written in ``text``: (as written, the name it belongs to or None, canonical value)."""
    found: list[tuple[str, str | None, str]] = []
    for match in _NUMBER.finditer(text):
        value = _value(match.group("num"))
        if value is None:
            continue
        glued, tail = match.group("glued") or "", match.group("tail")
        written = match.group(0).strip()
        name: str | None = None
        if _is_name(glued, tail):
            written = glued + match.group("num") + tail  # a sign after a name belongs to the next number
            name = _SEPARATORS.sub("", written).lower()
        scale = _scale_of(tail, text[match.end() : match.end() + 10])
        canonical = _norm(value * scale) if scale is not None else _norm(value)
        found.append((written, name, canonical))
    return found


class NumberCheck:
    """A source text read once; :meth:`unverified` checks any number of written texts against it."""

    def __init__(self, source: str) -> None:
        self._values, self._names = _values(source)
        self._squeezed = _SEPARATORS.sub("", source).lower()

    def verified(self, written: str, name: str | None, canonical: str) -> bool:
        if name is not None:
            return name in self._names or name in self._squeezed
        return canonical in self._values

    def unverified(self, text: str) -> list[str]:
        """The numbers in ``text`` the source does not contain, as written, each once, in order."""
        missing: dict[str, None] = {}
        for written, name, canonical in numbers_in(text):
            if not self.verified(written, name, canonical):
                missing.setdefault(written, None)
        return list(missing)


def unverified_numbers(texts: list[str], source: str) -> list[str]:
    """The numbers in ``texts`` that ``source`` does not contain, as written, each once, in order."""
    check = NumberCheck(source)
    missing: dict[str, None] = {}
    for text in texts:
        for written in check.unverified(text):
            missing.setdefault(written, None)
    return list(missing)


def deep_dive_texts(dive: DeepDive) -> list[str]:
    """Every text a reader sees of a deep dive, in reading order (what the number check reads)."""
    texts = [dive.title_zh, dive.one_sentence]
    facts = dive.facts
    if facts is not None:
        texts += [facts.task, facts.data, *facts.results, facts.venue]
        texts += [f"{item.label} {item.value}" for item in facts.extra]
    texts += [*dive.innovations, *dive.technical_details, *dive.inspiration, *dive.limitations]
    return [t for t in texts if t]


def _plain(dive: DeepDive) -> DeepDive:
    """The deep dive with the model's Markdown and TeX made plain text (see :func:`markup.strip_markup`)."""
    facts = dive.facts
    if facts is not None:
        facts = facts.model_copy(
            update={
                "task": strip_markup(facts.task),
                "data": strip_markup(facts.data),
                "results": [strip_markup(r) for r in facts.results],
                "venue": strip_markup(facts.venue),
                "extra": [
                    FactItem(label=strip_markup(x.label), value=strip_markup(x.value)) for x in facts.extra
                ],
            }
        )
    return dive.model_copy(
        update={
            "title_zh": strip_markup(dive.title_zh),
            "one_sentence": strip_markup(dive.one_sentence),
            "innovations": [strip_markup(t) for t in dive.innovations],
            "technical_details": [strip_markup(t) for t in dive.technical_details],
            "inspiration": [strip_markup(t) for t in dive.inspiration],
            "limitations": [strip_markup(t) for t in dive.limitations],
            "facts": facts,
        }
    )


def check_deep_dive(dive: DeepDive, source: str) -> tuple[DeepDive, list[str]]:
    """A deep dive made plain text and held to its source (everything the model was given).

    Returns the deep dive (markup made plain; a code link the source does not contain removed, since a link
    in the digest must come from the paper) and the numbers the source does not contain, as written."""
    plain = _plain(dive)
    facts = plain.facts
    if facts is not None and facts.code and facts.code.rstrip("/.") not in source:
        plain = plain.model_copy(update={"facts": facts.model_copy(update={"code": ""})})
    return plain, unverified_numbers(deep_dive_texts(plain), source)
