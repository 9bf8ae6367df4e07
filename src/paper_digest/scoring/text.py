"""Text normalisation for the scorer: tokens, light stemming, acronyms, and terms of a free-text description.

Applied identically to profile phrases and paper text, so that both sides agree on what a word is."""

from __future__ import annotations

import re
import unicodedata

TOKEN = re.compile(r"[a-z0-9]+")
#: "de-hazing", "De-blurring" -> one word, as "dehazing" and "deblurring"
_DE_PREFIX = re.compile(r"\b([Dd]e)-(?=[A-Za-z])")
#: the same as TOKEN, keeping "|" as a token so that phrases do not run across HF keyword boundaries
TOKEN_OR_BAR = re.compile(r"[a-z0-9]+|\|")
#: the end of the first sentence of an abstract ("e.g." and "i.e." are not sentence ends)
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z])")
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


def stem(word: str) -> str:
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


class _StemCache(dict[str, str]):
    """word -> stem; a hit is a plain dict lookup (cheaper than ``lru_cache``), a miss computes and keeps it.
    Bounded by clearing when it grows past ``_STEM_CACHE_MAX`` words."""

    def __missing__(self, word: str) -> str:
        if len(self) >= _STEM_CACHE_MAX:
            self.clear()
        value = self[word] = stem(word)
        return value


_STEM_CACHE_MAX = 500_000
_stem_cache = _StemCache()
#: the cached stemmer for paper text: ``map(stem_cached, words)``
stem_cached = _stem_cache.__getitem__


def normalise(text: str) -> str:
    """Accents stripped, ASCII, lower case."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def _ascii(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if "de-" in text or "De-" in text:
        text = _DE_PREFIX.sub(r"\1", text)
    return text


def tokens(text: str) -> list[str]:
    """Stemmed lower-case tokens."""
    return list(map(stem, TOKEN.findall(_ascii(text).lower())))


def field_text(text: str) -> str:
    """A title or abstract as matched: ASCII, ``de-`` prefixes joined, case kept (for acronyms)."""
    return _ascii(text)


def split_first_sentence(text: str) -> tuple[str, str]:
    """(first sentence, rest) of an abstract; the first sentence usually states what the paper is about."""
    end = _SENTENCE_END.search(text)
    if end is None:
        return text, ""
    return text[: end.start()], text[end.end() :]


def is_acronym(variant: str) -> bool:
    """``SR``, ``MAE``, ``DiT``, ``DINOv2``: short, two capitals or more; matched case-sensitively."""
    return (
        len(variant) <= 7
        and variant.isalnum()
        and sum(c.isupper() for c in variant) >= 2
        and not variant.isdigit()
    )


#: Chinese names of common English topics the glossary does not translate (display only: the digest's one-line
#: column names a paper's matched topics in Chinese; matching never uses this table)
TOPIC_NAMES: dict[str, str] = {
    "video generation": "视频生成",
    "video super-resolution": "视频超分辨率",
    "image editing": "图像编辑",
    "object detection": "目标检测",
    "segmentation": "分割",
    "semantic segmentation": "语义分割",
    "depth estimation": "深度估计",
    "3d reconstruction": "三维重建",
    "novel view synthesis": "新视角合成",
    "gaussian splatting": "高斯泼溅",
    "image compression": "图像压缩",
    "tokenizer": "分词器",
    "vision transformer": "视觉 Transformer",
    "world model": "世界模型",
    # the example profile's own topics the glossary does not name (config.example.toml)
    "low-light enhancement": "低光照增强",
    "low-light image enhancement": "低光照增强",
    "weather removal": "恶劣天气去除",
    "adverse weather removal": "恶劣天气去除",
    "demosaicing": "去马赛克",
    "image degradation": "图像退化",
    "image denoising": "图像去噪",
    "image super-resolution": "图像超分辨率",
    "video restoration": "视频复原",
}


def _topic_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for chinese, phrases in GLOSSARY.items():  # the first (most general) Chinese term of a phrase wins
        for phrase in phrases:
            names.setdefault(phrase.lower(), chinese)
    names.update(TOPIC_NAMES)
    return names


_TOPICS = _topic_names()


def topic_name(label: str) -> str:
    """How a reader names a profile phrase: its Chinese term when the glossary or :data:`TOPIC_NAMES` has one,
    else the phrase as the profile spells it."""
    return _TOPICS.get(label.strip().lower(), label.strip())


def translate_terms(
    description: str, glossary: dict[str, tuple[str, ...]] = GLOSSARY
) -> tuple[list[str], str]:
    """The English phrases of the Chinese field terms in a description (longest term first, so that 图像复原
    is not also read as 复原), and the description with those terms replaced by commas."""
    phrases: list[str] = []
    remaining = description
    if description.isascii():
        return phrases, remaining
    for term in sorted(glossary, key=lambda t: (-len(t), t)):
        if term in remaining:
            phrases.extend(glossary[term])
            remaining = remaining.replace(term, " , ")
    return phrases, remaining


def description_phrases(description: str, glossary: dict[str, tuple[str, ...]] = GLOSSARY) -> list[str]:
    """Terms of a free-text description: glossary translations of Chinese field terms
    (:func:`translate_terms`), then RAKE-style phrases of the Latin-script text."""
    phrases, remaining = translate_terms(description, glossary)
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


def author_key(name: str) -> str:
    return " ".join(TOKEN.findall(normalise(name)))
