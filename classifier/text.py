"""Text normalisation and word tokenisation for Russian social-network messages."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

__all__ = [
    "PreparedText",
    "Token",
    "clean",
    "fold",
    "normalize",
    "prepare",
    "tokenize",
    "within_one_edit",
    "word_matches",
    "word_spans",
]

# Markup ---------------------------------------------------------------------------------------

_TAG = re.compile(r"<(?:[a-zA-Z!/?][^<>]{0,2000})>")
# Inline tags vanish without a trace ("<b>Кир</b>ов"); block tags (<p>, <br>, <div>) part words.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|big|code|em|font|i|mark|s|small|span|strong|sub|sup|u)\b[^<>]{0,2000}>",
    re.IGNORECASE,
)
_BLOCK_HTML = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# VK mention markup: [id123|Иван Петров], [club1|Администрация], [https://vk.com/x|текст].
_VK_MENTION = re.compile(r"\[(?:id|club|public|event)\d+\|([^\]\[|]{0,200})\]")
_VK_LINK = re.compile(r"\[(?:https?://)?[^\s\[\]|]{1,300}\|([^\]\[|]{0,200})\]")
# "@id123 (Иван)" and "*club1 (Группа)": keep the visible name.
_VK_AT_MENTION = re.compile(r"[@*](?:id|club|public|event)\d+\s*\(([^()]{0,200})\)")
_VK_BARE_MENTION = re.compile(r"[@*](?:id|club|public|event)\d+\b")

# Addresses on the network ---------------------------------------------------------------------

_URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)\S+"
    r"|\b(?:[a-z0-9-]{1,63}\.)+(?:ru|com|org|net|me|su|info|io|ly|cc|gl|to|be|tv|pro|biz|online|site|club|app|by|kz|ua|de|eu|us|uk)"
    r"(?:/[^\s<>]*)?(?![\w.])"
    r"|\b(?:[а-яё0-9-]{1,63}\.)+рф(?:/[^\s<>]*)?(?![\w.])",
    re.IGNORECASE,
)
# Every address _URL finds holds one of these, as its alternatives do ("://", "www.", a Latin
# letter, digit or hyphen before a dot and a Latin letter, ".рф"), in the same IGNORECASE
# reading: a text without any is spared the long pattern ("д.5", "ул.Ленина" are no hint).
_URL_HINT = re.compile(r"://|www\.|[a-z0-9-]\.[a-z]|\.рф", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b")
# Russian phone numbers: +7 / 8, then ten digits with the usual separators.
# Any grouping of the ten digits: "+7 (912) 345-67-89", "8(8332)64-00-00", "89123456789".
_PHONE = re.compile(r"(?<![\w+])(?:\+7|8)(?:[\s\-()]{0,2}\d){10}(?!\d)")

# Characters -----------------------------------------------------------------------------------

# Pictographs, dingbats, arrows, geometric shapes, flags, keycaps, skin tones, joiners and
# variation selectors: a message's emoji carry no place and (for the models) too little topic.
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # emoticons, pictographs, transport, flags, skin tones, extended-A
    "\U0001fb00-\U0001fbff"
    "\u2190-\u21ff"  # arrows
    "\u2300-\u23ff"  # technical (⌚ ⏰)
    "\u2460-\u24ff"  # enclosed alphanumerics
    "\u25a0-\u27bf"  # geometric shapes, misc symbols, dingbats
    "\u2900-\u297f"
    "\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299"
    "\u00a9\u00ae\u2122"  # © ® ™
    "\ufe00-\ufe0f"  # variation selectors
    "\u200d\u20e3"  # zero-width joiner, combining keycap
    "\U000e0000-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200e\u200f\u2060\ufeff]")
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Hyphen look-alikes between letters ("Кирово‑Чепецк" with U+2011) become an ASCII hyphen.
_WORD_DASH = re.compile(r"(?<=\w)[\u2010\u2011\u2012\u2013\u2212](?=\w)")
_DASH_HINT = re.compile(r"[\u2010\u2011\u2012\u2013\u2212]")

_CYRILLIC = "а-яёА-ЯЁ"
# Latin letters that look like Cyrillic ones, as typed (on purpose or by a mixed keyboard).
_LOOKALIKES = str.maketrans(
    "aeopcxykABEHKMOPCTXY",
    "аеорсхукАВЕНКМОРСТХУ",
)
_LOOKALIKE_LATIN = frozenset("aeopcxykABEHKMOPCTXY")
_MIXED_WORD = re.compile(rf"\b(?=\w*[{_CYRILLIC}])(?=\w*[a-zA-Z])\w+")
# A short all-Latin word in Russian text ("C днём рождения", "B Кирове") is a Cyrillic one.
_SHORT_LATIN_WORD = re.compile(r"(?<![\w.@/-])[a-zA-Z]{1,3}(?![\w.@/-])")
_CYRILLIC_LETTER = re.compile(f"[{_CYRILLIC}]")
_LATIN_LETTER = re.compile("[a-zA-Z]")
# A letter repeated three or more times ("ужжжжасно", "оооочень") is emphasis, not spelling.
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
# Any character thrice: a quick test (4x quicker than _REPEATS) that most lines fail.
_ANY_TRIPLE = re.compile(r"(.)\1\1")
# A whole word made of one letter thrice ("ООО", the company form) is kept as it is.
_TRIPLE_WORD = re.compile(r"^([^\W\d_])\1\1$")

# Words: letters or digits, joined by inner hyphens ("Кирово-Чепецк", "р-н", "10-й").
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a text with its character span in that text."""

    text: str
    start: int
    end: int


def _fix_lookalikes(match: re.Match[str]) -> str:
    word = match.group(0)
    latin = [ch for ch in word if "a" <= ch.lower() <= "z"]
    if all(ch in _LOOKALIKE_LATIN for ch in latin):
        return word.translate(_LOOKALIKES)
    return word


def _collapse_repeats(match: re.Match[str]) -> str:
    return match.group(1)


def _collapse_word_repeats(text: str) -> str:
    if _ANY_TRIPLE.search(text) is None or _REPEATS.search(text) is None:
        return text  # the common case: no letter thrice in a row anywhere

    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        if _TRIPLE_WORD.match(word):
            return word
        return _REPEATS.sub(_collapse_repeats, word)

    return _WORD.sub(one, text)


def _strip_markup(text: str) -> str:
    if "<" in text:
        text = _BLOCK_HTML.sub(" ", text)
        text = _INLINE_TAG.sub("", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
        if "<" in text:  # "&lt;b&gt;" unescaped into a tag
            text = _INLINE_TAG.sub("", text)
            text = _TAG.sub(" ", text)
    if "[" in text:
        text = _VK_MENTION.sub(r" \1 ", text)
        text = _VK_LINK.sub(r" \1 ", text)
    if "@" in text or "*" in text:
        text = _VK_AT_MENTION.sub(r" \1 ", text)
        text = _VK_BARE_MENTION.sub(" ", text)
    return text


def clean(text: str, *, placeholders: bool = False) -> str:
    """Strip markup, addresses and emoji from a message, keeping its letter case and "ё".

    Removes HTML tags and entities, VK mention markup (keeping the visible name), URLs, e-mail
    addresses and phone numbers (or, with ``placeholders``, replaces the last two with the words
    ``email`` and ``phone``), emoji and invisible characters; repairs Latin look-alike letters
    inside Cyrillic words; collapses letters repeated three or more times and runs of
    whitespace. The gazetteer reads this form, since capital letters help it tell a village
    from a common word.
    """
    if not text:
        return ""
    if not text.isascii():
        # Decomposed letters ("е" + U+0308, "и" + U+0306, as pasted from some systems) compose.
        text = unicodedata.normalize("NFC", text)
    text = _strip_markup(text)
    email_sub = " email " if placeholders else " "
    phone_sub = " phone " if placeholders else " "
    if "@" in text:
        text = _EMAIL.sub(email_sub, text)
    if _URL_HINT.search(text):
        text = _URL.sub(" ", text)
    if "8" in text or "+7" in text:  # every phone number opens so
        text = _PHONE.sub(phone_sub, text)
    text = _EMOJI.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    if _DASH_HINT.search(text):
        text = _WORD_DASH.sub("-", text)
    if _LATIN_LETTER.search(text) is None:
        return _squeeze_spaces(_collapse_word_repeats(text))
    text = _MIXED_WORD.sub(_fix_lookalikes, text)
    if _SHORT_LATIN_WORD.search(text) and len(_CYRILLIC_LETTER.findall(text)) > 2 * len(
        _LATIN_LETTER.findall(text)
    ):
        text = _SHORT_LATIN_WORD.sub(_fix_lookalikes, text)
    text = _collapse_word_repeats(text)
    return _squeeze_spaces(text)


def _squeeze_spaces(text: str) -> str:
    """Return ``_SPACES.sub(" ", text).strip()``: its characters are exactly ``str.isspace``'s."""
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lower-case a text and write "е" for "ё"."""
    return text.lower().replace("ё", "е")


def normalize(text: str, *, placeholders: bool = False) -> str:
    """Return the message cleaned (see ``clean``), lower-cased, with "е" for "ё"."""
    return fold(clean(text, placeholders=placeholders))


def tokenize(text: str) -> list[str]:
    """Split a text into word tokens: letters and digits, hyphenated words kept whole."""
    return _WORD.findall(text)


def word_matches(text: str) -> Iterator[re.Match[str]]:
    """Return the word tokens of a text as regular-expression matches (the cheapest form)."""
    return _WORD.finditer(text)


def word_spans(text: str) -> list[Token]:
    """Split a text into word tokens with their character spans."""
    return [Token(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A message cleaned and split once, for every stage that reads it.

    ``lines`` is what the gazetteer reads (each line cleaned, empty ones left out: a line break
    is a boundary between place names); ``words`` is what the lemmatiser reads (the word tokens
    of the whole message normalised, exactly ``tokenize(normalize(text))``). ``line_words``
    (each line's words as written, one tuple a line) and ``lows`` (those words
    folded, in one list) are the gazetteer's tokens, when ``prepare`` has split them.
    """

    text: str
    lines: tuple[str, ...]
    words: tuple[str, ...]
    line_words: tuple[tuple[str, ...], ...] | None = None
    lows: tuple[str, ...] | None = None


# What makes a message clean differently as a whole than line by line: markup and mentions
# (their patterns may span a line break), a short Latin word (read as Cyrillic or not by the
# whole text's alphabet) and digits on both sides of a line break (a phone number split).
_ACROSS_LINES_CHARS = re.compile(r"[<&\[@*]")
_DIGITS_ACROSS_LINES = re.compile(r"\d[\s()-]*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029][\s()-]*\d")


def _cleans_line_by_line(text: str) -> bool:
    """Tell whether ``clean(text)`` is its cleaned lines joined by spaces."""
    return (
        _ACROSS_LINES_CHARS.search(text) is None
        and (_LATIN_LETTER.search(text) is None or _SHORT_LATIN_WORD.search(text) is None)
        and _DIGITS_ACROSS_LINES.search(text) is None
    )


def prepare(text: str) -> PreparedText:
    """Clean and tokenise a message once (see :class:`PreparedText`)."""
    raw_lines = text.splitlines()
    lines = tuple(cleaned for cleaned in map(clean, raw_lines) if cleaned)
    # One line (a trailing line break at most, which cleaning drops), or lines that nothing
    # joins across: the cleaned lines make the cleaned message, so it is not cleaned twice.
    joinable = len(raw_lines) <= 1 or _cleans_line_by_line(text)
    line_words = tuple(map(tuple, map(_WORD.findall, lines)))
    joined = " ".join(chain.from_iterable(line_words))
    folded = fold(joined)
    lows = tuple(folded.split(" ")) if joined else ()
    if joinable and len(folded) == len(joined) and "Σ" not in joined:
        # The words of the joined lines, folded: ``tokenize(fold(whole))`` itself, since
        # folding maps each character to one (lengths equal) of the same kind (a letter or
        # digit, a hyphen, a space, or none of them: checked for every code point by the
        # tests) and, with no capital sigma, whatever is around it.
        words = lows
    else:
        whole = " ".join(lines) if joinable else clean(text)
        words = tuple(_WORD.findall(fold(whole)))
    return PreparedText(text, lines, words, line_words, lows)


def within_one_edit(a: str, b: str) -> bool:
    """Tell whether two words differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [k for k in range(la) if a[k] != b[k]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    k = 0
    while k < len(short) and short[k] == long_[k]:
        k += 1
    return short[k:] == long_[k + 1 :]
