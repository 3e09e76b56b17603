"""Chinese text handling (DOMAIN.md §7): names, search keys, pinyin keys, n-gram tokens, and
the clean-up of text pasted from web pages.

Written by hand on top of opencc (traditional → simplified) and pypinyin because no library
combines what Kexie needs: dot normalisation of transliterated names, surname readings,
unigram + bigram tokens that the database indexes, and the removal of the scraping artifact
``地區(qū)`` only where pypinyin confirms the syllable is a reading of the character before it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, pinyin

MIDDLE_DOT = "\u00b7"
# Look-alikes of the middle dot in transliterated names (DOMAIN.md §3).
_DOT_LOOKALIKES = "\u2022\u30fb\uff65\u2027\u2219\u22c5\u0387\uff0e.\\-"
_DOT_BETWEEN = re.compile(rf"(?<=\S)\s*[{_DOT_LOOKALIKES}{MIDDLE_DOT}]\s*(?=\S)")
_SPACES = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]{0,500}>")
# A CJK character followed by a parenthesised latin syllable, half- or full-width brackets.
_ARTIFACT = re.compile(
    r"([\u3400-\u9fff])\s?[(\uff08]\s?([a-zA-Z\u00c0-\u024f\u1e00-\u1eff]{1,7})\s?[)\uff09]"
)

# Surname readings pypinyin gets wrong when a name is read as a word (DOMAIN.md §7).
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "单": ("shan",),
    "曾": ("zeng",),
    "区": ("ou",),
    "仇": ("qiu",),
    "解": ("xie",),
    "查": ("zha",),
    "朴": ("piao",),
    "盖": ("ge",),
    "缪": ("miao",),
    "覃": ("qin",),
    "翟": ("zhai",),
    "乐": ("yue",),
    "尉": ("yu",),
    "万俟": ("mo", "qi"),
}


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


# Names, employers and code names repeat thousands of times in an import or a re-index; the
# pure functions below keep the results for short texts (a few MB at most).
_CACHED_LENGTH = 64
_CACHE_SIZE = 32_768


@lru_cache(maxsize=_CACHE_SIZE)
def _to_simplified_cached(text: str) -> str:
    return _t2s().convert(text)


def to_simplified(text: str) -> str:
    if len(text) <= _CACHED_LENGTH:
        return _to_simplified_cached(text)
    return _t2s().convert(text)


def normalise_dots(text: str) -> str:
    """Transliterated names keep one middle dot ``·`` between parts (阿依古丽·买买提)."""
    return _DOT_BETWEEN.sub(MIDDLE_DOT, text)


def normalise_name(text: str) -> str:
    """A name as stored: NFC, trimmed, single spaces, look-alike dots made ``·``."""
    text = unicodedata.normalize("NFC", text or "").strip()
    return normalise_dots(_SPACES.sub(" ", text))


def search_key(text: str) -> str:
    """The form names are searched in: NFKC, simplified, lower case, no dots or spaces."""
    text = text or ""
    if len(text) <= _CACHED_LENGTH:
        return _search_key_cached(text)
    return _search_key(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _search_key_cached(text: str) -> str:
    return _search_key(text)


def _search_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", normalise_dots(text))
    text = to_simplified(text).lower()
    return re.sub(rf"[\s{MIDDLE_DOT}]", "", text)


def ngrams(text: str) -> list[str]:
    """Unigram and bigram tokens of a search key, in order, without duplicates.

    1-character queries match unigrams, 2-character queries bigrams, longer queries all their
    overlapping bigrams (then a recheck) — DOMAIN.md §7.
    """
    key = search_key(text)
    tokens = list(key) + [key[i : i + 2] for i in range(len(key) - 1)]
    return list(dict.fromkeys(tokens))


def query_tokens(query: str) -> list[str]:
    """The tokens a query must all match: itself when short, else its overlapping bigrams."""
    key = search_key(query)
    if len(key) <= 2:
        return [key] if key else []
    return list(dict.fromkeys(key[i : i + 2] for i in range(len(key) - 1)))


def _readings(char: str) -> list[str]:
    return [r for r in pinyin(char, style=Style.NORMAL, heteronym=True)[0] if r.isascii()]


def pinyin_keys(name: str) -> set[str]:
    """Full pinyin and initials of a Chinese name: ``张伟`` → {"zhangwei", "zw"}.

    Every reading of the surname is indexed (曾伟 → zengwei/cengwei, zw/cw), with the correct
    surname reading always among them. Non-Han parts (latin letters) are kept as they are.
    """
    key = search_key(name)
    if len(key) <= _CACHED_LENGTH:
        return set(_pinyin_keys(key))
    return set(_pinyin_keys.__wrapped__(key))


@lru_cache(maxsize=_CACHE_SIZE)
def _pinyin_keys(key: str) -> frozenset[str]:
    if not key:
        return frozenset()
    surname_len = 2 if key[:2] in SURNAME_READINGS else 1
    surname, rest = key[:surname_len], key[surname_len:]
    if surname in SURNAME_READINGS:
        first_options = [tuple(SURNAME_READINGS[surname])]
        if surname_len == 1:
            first_options += [(r,) for r in _readings(surname)]
    else:
        first_options = [(r,) for r in _readings(surname)] or [(surname,)]
    rest_syllables = [
        syllable[0]
        for syllable in pinyin(rest, style=Style.NORMAL, errors=lambda chars: list(chars))
    ]
    keys: set[str] = set()
    for first in dict.fromkeys(first_options):
        syllables = list(first) + rest_syllables
        keys.add("".join(syllables))
        keys.add("".join(s[0] for s in syllables if s))
    return frozenset(keys)


def _strip_tones(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ü", "v")


_FULLWIDTH_ALNUM = {
    **{code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)},  # ０-９
    **{code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)},  # Ａ-Ｚ
    **{code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)},  # ａ-ｚ
    0x3000: 0x20,  # ideographic space
}


def ascii_lookalikes(text: str) -> str:
    """Full-width digits, letters and spaces → ASCII; Chinese punctuation (，。……) stays."""
    return text.translate(_FULLWIDTH_ALNUM)


def strip_scrape_artifacts(text: str) -> tuple[str, int]:
    """Remove ``(qū)`` after ``區`` — only where the syllable is a reading of that character.

    ``微信(WeChat)``, ``编号(A)`` and ``张三(男)`` stay. Returns the text and how many were removed.
    Run it before ``to_simplified`` (the character is usually still traditional).
    """
    removed = 0

    def replace(match: re.Match) -> str:
        nonlocal removed
        char, syllable = match.group(1), match.group(2)
        wanted = _strip_tones(syllable).replace("u:", "v")
        readings = {_strip_tones(r).replace("u:", "v") for r in _readings(char)}
        if wanted in readings:
            removed += 1
            return char
        return match.group(0)

    return _ARTIFACT.sub(replace, text), removed


def clean_pasted_text(text: str) -> tuple[str, int]:
    """The pipeline for pasted or imported text (DOMAIN.md §7): unescape HTML, strip tags,
    strip the scraping artifact, traditional → simplified, NFKC for ASCII look-alikes,
    collapse spaces. Returns the text and the number of artifacts removed (many = scraped)."""
    text = text or ""
    if len(text) <= _CACHED_LENGTH:
        return _clean_pasted_cached(text)
    return _clean_pasted(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _clean_pasted_cached(text: str) -> tuple[str, int]:
    return _clean_pasted(text)


def _clean_pasted(text: str) -> tuple[str, int]:
    text = _TAGS.sub(" ", html.unescape(text or ""))
    text, removed = strip_scrape_artifacts(text)
    text = ascii_lookalikes(to_simplified(text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line), removed
