"""Fold a message into the forms the guard patterns read, remembering each character's origin.

People who want to move a deal off the platform write around simple filters:
「ｔａｎａｋａ＠ｇｍａｉｌ」, 「tanaka あっと gmail どっと com」, 「〇九〇 一二三四 五六七八」,
spaced letters, zero-width spaces.
Each step below undoes one of those. Every folded character keeps the index of the original
character it came from, so a hit can be shown to the writer as the words they typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# Invisible characters that split a word for a filter but not for a reader.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f")
# Katakana ァ..ヶ are hiragana ぁ..ゖ plus 0x60: patterns then match either script.
KATAKANA_FIRST, KATAKANA_LAST, KANA_OFFSET = 0x30A1, 0x30F6, 0x60
DAKUTEN = {"\u3099", "\u309b"}
HANDAKUTEN = {"\u309a", "\u309c"}
# Kanji numerals read digit by digit, as phone numbers and IDs are written (not 十, 百: those
# are how amounts are written, and a phone number is never said that way).
KANJI_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
CJK = r"\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f々〆ー"

_SPACES = re.compile(r"\s+")
_CJK_SPACE = re.compile(rf"(?<=[{CJK}]) (?=[{CJK}])")
# Three or more single letters or digits spaced out ("s t a r t"): joined into one word. Two
# spaces in a row still separate the words ("s t a r t  b e f o r e").
_SPACED_LETTERS = re.compile(r"(?<![\w])(?:\w (?=\w(?:\W|$))){2,}\w(?![\w])")
# "(at)", "[at]", " at ", 「あっと」, "＠" with spaces: an @ when letters stand on both sides.
_AT = re.compile(
    r"(?<=[a-z0-9._-])\s*(?:[\[(<{「【]\s*(?:at|あっと|@)\s*[\])>}」】]|\s(?:at|あっと)\s|あっと|\s@\s|\s@|@\s)"
    r"\s*(?=[a-z0-9])"
)
_DOT = re.compile(
    r"(?<=[a-z0-9])\s*(?:[\[(<{「【]\s*(?:dot|どっと|ドット|\.)\s*[\])>}」】]|\s(?:dot|どっと|ドット)\s|どっと|ドット|\s\.\s|\s\.)"
    r"\s*(?=[a-z0-9])"
)
NUMBER_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_NUMBER_WORDS = re.compile(r"\b(?:(?:" + "|".join(NUMBER_WORDS) + r")\b[\s,-]*){7,}")
_SLASH = re.compile(r"(?<=[a-z0-9.])\s*/\s*(?=[a-z0-9~_])")


@dataclass(frozen=True)
class Folded:
    """A folded text and, for each of its characters, the index of the original character."""

    text: str
    origin: tuple[int, ...]
    source: str

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text a folded span [start, end) came from."""
        if start >= end or not self.origin:
            return (0, 0)
        return (self.origin[start], self.origin[end - 1] + 1)

    def excerpt(self, start: int, end: int) -> str:
        first, last = self.original_span(start, end)
        return self.source[first:last]


def _rewrite(
    folded: Folded, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]
) -> Folded:
    """Replace each match, the replacement's characters taking the match's origins."""
    parts: list[str] = []
    origin: list[int] = []
    position = 0
    for match in pattern.finditer(folded.text):
        start, end = match.span()
        parts.append(folded.text[position:start])
        origin.extend(folded.origin[position:start])
        new = replace(match)
        if new:
            first = folded.origin[start] if start < end else folded.origin[start - 1]
            last = folded.origin[end - 1] if start < end else first
            parts.append(new)
            origin.extend([first] * (len(new) - 1) + [last])
        position = end
    parts.append(folded.text[position:])
    origin.extend(folded.origin[position:])
    return Folded(text="".join(parts), origin=tuple(origin), source=folded.source)


def fold_character(char: str) -> str:
    """NFKC (full width to ASCII, half-width kana to full), lower case, katakana to hiragana."""
    folded = unicodedata.normalize("NFKC", char).casefold()
    return "".join(
        chr(ord(c) - KANA_OFFSET) if KATAKANA_FIRST <= ord(c) <= KATAKANA_LAST else c
        for c in folded
    )


def fold_pattern(pattern: str) -> str:
    """A pattern written with either kana or width folds as the text does (case is left alone:
    lowering `\\S` would turn it into `\\s`)."""
    return "".join(
        chr(ord(c) - KANA_OFFSET) if KATAKANA_FIRST <= ord(c) <= KATAKANA_LAST else c
        for c in unicodedata.normalize("NFKC", pattern)
    )


def fold(text: str) -> Folded:
    """The text as the phrase patterns read it: width, case and kana folded, invisible
    characters dropped, spacing collapsed, spaced-out letters joined."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in ZERO_WIDTH:
            continue
        for piece in fold_character(char):
            if (piece in DAKUTEN or piece in HANDAKUTEN) and chars:
                # ｶﾞ is two characters; the sound mark joins the kana before it.
                mark = "\u3099" if piece in DAKUTEN else "\u309a"
                joined = unicodedata.normalize("NFC", chars[-1] + mark)
                if len(joined) == 1:
                    chars[-1] = joined
                    continue
            chars.append(piece)
            origin.append(index)
    folded = Folded(text="".join(chars), origin=tuple(origin), source=text)
    folded = _rewrite(folded, _SPACED_LETTERS, lambda m: m.group().replace(" ", ""))
    folded = _rewrite(folded, _SPACES, lambda m: " ")
    return _rewrite(folded, _CJK_SPACE, lambda m: "")


def fold_contacts(folded: Folded) -> Folded:
    """The folded text with "at"/「あっと」 read as @ and "dot"/「ドット」 as a dot between
    address-like words, and spaces around / dropped, for the address and link patterns."""
    folded = _rewrite(folded, _AT, lambda m: "@")
    folded = _rewrite(folded, _DOT, lambda m: ".")
    return _rewrite(folded, _SLASH, lambda m: "/")


def fold_digits(folded: Folded) -> Folded:
    """The folded text with kanji numerals as digits, and seven or more English number words
    in a row ("zero nine zero one…") too, for the phone-number pattern."""
    folded = Folded(
        text=folded.text.translate(KANJI_DIGITS), origin=folded.origin, source=folded.source
    )
    return _rewrite(folded, _NUMBER_WORDS, lambda m: _number_words_to_digits(m.group()))


def _number_words_to_digits(words: str) -> str:
    return "".join(NUMBER_WORDS[word] for word in re.findall(r"[a-z]+", words))
