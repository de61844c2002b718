"""The NER gate: a cheap test for "could spaCy's NER find a name or a place in this text?".

NER costs milliseconds per 200 characters; this gate costs microseconds. It lets a text skip
NER only when every word in it is one that the NER cannot take as the start of a name:

- a lower-case word that an English dictionary lists only in lower case (``table``,
  ``deploy``, ``summarize``), or an English stop word (``the``, ``will``). A lower-case word
  the dictionary also lists capitalised (``john``, ``mark``, ``rose``, ``china``) or does not
  list (``garcia``, ``berlin``) needs NER: the small English pipeline does tag lower-case
  names ("i met john smith", "send it to maria garcia in berlin");
- a capitalised word at the start of a sentence, line or list item whose lower-case form is
  such a dictionary word (``Please``, ``Keep``), not a name that is also a word (``Will``,
  ``Mark``, ``Grace``);
- ``I`` and its contractions, and a short list of technical acronyms (``API``, ``JSON``,
  ``CPU``) that are not places (``US``, ``UK`` and ``EU`` are, so they are not on it);
- a word part that mixes letters and digits (``p50``, ``v3``, ``H100``) or is only digits.

A word with code punctuation inside it (``min(2``, ``a[i]``, ``x=y``, a path or an e-mail
address) needs NER whatever its letters: the gate vouches for prose, not for code.
Everything else (a capitalised word inside a sentence, any other all-caps or mixed-case
word such as ``PostgreSQL``, any word with a letter outside ASCII such as ``José`` or
``Zürich``) needs NER. The gate is a necessary condition by construction for the kinds of
names the pipeline tags, and ``tests/policies/test_pii_gate.py`` measures it against the real
pipeline on a labelled corpus: it must never skip a text in which NER finds a name or place.

The dictionary is the lower-case entries of SCOWL's American English list (Debian
``wamerican``) that it does not also list capitalised, shipped gzipped in
``openclaw/data/pii_common_words.txt.gz`` (notice beside it), built by
:func:`build_word_list`.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from importlib.resources import files

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

_WORDS_FILE = "pii_common_words.txt.gz"

# Whitespace-separated words, each with what comes before it on its line (for sentence starts).
_WORD = re.compile(r"\S+")
#: Words either side of a word that needs NER that NER reads with it (:meth:`NerGate.ner_windows`).
NER_WINDOW_WORDS = 8
# A word's parts: runs of letters and digits, apostrophes kept inside (don't, o'clock).
_PART = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# What may stand between a sentence boundary and the first word of the next sentence.
_OPENERS = "\"'“‘([{*-•#>"
_SENTENCE_END = ".!?:;"
_LIST_ITEM = re.compile(r"^(?:\d+[.)]|[a-z][.)]|[-*•#>]+)$")
_CLOSERS = "\"'”’)]}.,;:!?"
# Punctuation of code inside a word ("min(2", "a[i]", "x=y"): the pipeline's tokens there do
# not look like prose, and it has been seen to take "min(2" for a name; such words go to NER.
_CODE_PUNCT = re.compile(r"[()\[\]{}=<>$~|\\/*^%`@&]")
_CONTRACTION = re.compile(r"['’](?:s|t|re|ll|ve|d|m)$", re.IGNORECASE)
_NOT = re.compile(r"n['’]t$", re.IGNORECASE)

#: Acronyms of computing that spaCy's English NER does not tag as a person or a place. No
#: country, state or city code belongs here.
TECH_ACRONYMS: frozenset[str] = frozenset(
    [
        "AI",
        "API",
        "APIs",
        "ASCII",
        "CD",
        "CI",
        "CLI",
        "CPU",
        "CPUs",
        "CRUD",
        "CSS",
        "CSV",
        "DB",
        "DNS",
        "DOM",
        "ETA",
        "FAQ",
        "FYI",
        "GPU",
        "GPUs",
        "GUI",
        "HTML",
        "HTTP",
        "HTTPS",
        "ID",
        "IDE",
        "IDs",
        "IO",
        "JSON",
        "JWT",
        "KPI",
        "LLM",
        "LLMs",
        "ML",
        "OK",
        "OS",
        "PDF",
        "PR",
        "PRs",
        "QA",
        "RAM",
        "REST",
        "RPC",
        "SDK",
        "SLA",
        "SLO",
        "SQL",
        "SSD",
        "SSH",
        "SSL",
        "TCP",
        "TLS",
        "TODO",
        "TTL",
        "UDP",
        "UI",
        "URL",
        "URLs",
        "UTF",
        "UUID",
        "UX",
        "VM",
        "VMs",
        "XML",
        "YAML",
    ]
)


#: Words that often open a sentence of a prompt, each checked against the pipeline at the
#: start of sentences (``tests/policies/test_pii_gate.py``). "Draft", "Convert", "Delete",
#: "Format", "Generate" and "Summarise" are not here: the small English pipeline took each
#: for a name or place there.
SENTENCE_STARTERS: frozenset[str] = frozenset(
    [
        "add",
        "also",
        "answer",
        "ask",
        "because",
        "before",
        "build",
        "can",
        "check",
        "choose",
        "compare",
        "continue",
        "could",
        "create",
        "define",
        "deploy",
        "describe",
        "design",
        "do",
        "does",
        "edit",
        "enable",
        "ensure",
        "estimate",
        "explain",
        "extract",
        "find",
        "finally",
        "first",
        "fix",
        "give",
        "hello",
        "help",
        "here",
        "hi",
        "how",
        "if",
        "in",
        "is",
        "it",
        "keep",
        "let",
        "list",
        "look",
        "make",
        "note",
        "now",
        "ok",
        "okay",
        "once",
        "outline",
        "plan",
        "please",
        "provide",
        "read",
        "ref",
        "refactor",
        "remove",
        "rename",
        "replace",
        "reply",
        "return",
        "review",
        "rewrite",
        "run",
        "send",
        "set",
        "should",
        "show",
        "shorten",
        "sort",
        "start",
        "suggest",
        "summarize",
        "tell",
        "test",
        "thank",
        "thanks",
        "the",
        "then",
        "there",
        "these",
        "this",
        "those",
        "today",
        "translate",
        "try",
        "turn",
        "update",
        "use",
        "validate",
        "we",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "write",
        "yes",
        "you",
        "your",
    ]
)

# Stop words the pipeline took for a name or place at a sentence start ("Us", "Herein").
_STOP_NOT_AT_START = frozenset({"us", "herein"})

#: Words of software work and chat that the dictionary lacks and that name nobody.
TECH_WORDS: frozenset[str] = frozenset(
    [
        "afaik",
        "async",
        "backend",
        "backoff",
        "backfill",
        "backfills",
        "boolean",
        "btw",
        "changelog",
        "config",
        "configs",
        "cron",
        "dataset",
        "datasets",
        "deduplicate",
        "dedupe",
        "deps",
        "dev",
        "devs",
        "dockerfile",
        "dropdown",
        "email",
        "emails",
        "endpoint",
        "endpoints",
        "enum",
        "failover",
        "fixme",
        "frontend",
        "gzip",
        "hotfix",
        "imo",
        "inbox",
        "json",
        "keepalive",
        "lgtm",
        "localhost",
        "login",
        "logout",
        "middleware",
        "namespace",
        "namespaces",
        "offsite",
        "ok",
        "okay",
        "onboard",
        "onboarding",
        "param",
        "params",
        "pls",
        "repo",
        "repos",
        "runbook",
        "runtime",
        "sdk",
        "standup",
        "stdout",
        "stderr",
        "subnet",
        "timestamp",
        "timestamps",
        "todo",
        "tooltip",
        "tradeoff",
        "txt",
        "unicode",
        "unittest",
        "uptime",
        "url",
        "urls",
        "username",
        "utf",
        "webhook",
        "webhooks",
        "wip",
        "workflow",
        "workflows",
        "yaml",
    ]
)


def load_word_list() -> tuple[frozenset[str], frozenset[str]]:
    """The shipped dictionary: (words never capitalised, words also capitalised)."""
    raw = (files("openclaw") / "data" / _WORDS_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("ascii").split()
    only_lower = frozenset(w for w in lines if not w.endswith("*"))
    also_capital = frozenset(w[:-1] for w in lines if w.endswith("*"))
    return only_lower, also_capital


#: Lower-case contexts in which the NER's taste for a word that is also a name shows.
HOMOGRAPH_PROBES = (
    "i met {w} yesterday",
    "ask {w} about the report",
    "{w} said it was fine",
    "we flew to {w} last week",
    "call {w} smith tomorrow",
    "thanks {w}, see you in {w}",
    "the {w} is on the table",
)
_NER_LABELS = ("PERSON", "GPE", "LOC", "FAC", "NORP")


def build_word_list(dictionary: Iterable[str], nlp: Language) -> bytes:
    """The gzipped word file from a dictionary's lines (``/usr/share/dict/american-english``).

    Kept: ASCII alphabetic lower-case entries of two letters or more. One the dictionary also
    lists capitalised ("mark"/"Mark"; an all-caps entry such as "IT" does not count) is
    marked ``*`` (safe in lower case only), and dropped if ``nlp`` tags it as a name or place
    in any of :data:`HOMOGRAPH_PROBES`.
    """
    alpha = [w.strip() for w in dictionary if w.strip().isascii() and w.strip().isalpha()]
    capitalised = {w.lower() for w in alpha if w[0].isupper() and w[1:].islower()}
    lower = {w for w in alpha if w.islower() and len(w) >= 2}
    homographs = sorted(lower & capitalised)
    probes = [(w, p.format(w=w)) for w in homographs for p in HOMOGRAPH_PROBES]
    tagged = {
        w
        for (w, _), doc in zip(probes, nlp.pipe(t for _, t in probes), strict=True)
        for ent in doc.ents
        if ent.label_ in _NER_LABELS and any(tok.lower_ == w for tok in ent)
    }
    kept = sorted(lower - capitalised) + [f"{w}*" for w in homographs if w not in tagged]
    return gzip.compress(("\n".join(kept) + "\n").encode("ascii"), mtime=0)


class NerGate:
    """``needs_ner(text)``: False only when NER cannot find a name or place in ``text``."""

    def __init__(self) -> None:
        only_lower, also_capital = load_word_list()
        stop = frozenset(w for w in STOP_WORDS if w.isalpha())
        #: Safe in lower case anywhere.
        self.lower_safe: frozenset[str] = only_lower | also_capital | stop | TECH_WORDS
        #: Safe capitalised at a sentence start: the usual first words of a prompt. Not the
        #: whole dictionary: the pipeline tags some capitalised verbs at a sentence start as
        #: names ("Convert the notes..." is a PERSON to it). A stop word of three letters or
        #: more that is also a name ("Will", "May", "More") is not safe; shorter ones are
        #: capitalised in the dictionary only as chemical symbols ("He", "In").
        self.title_safe: frozenset[str] = SENTENCE_STARTERS | frozenset(
            w for w in stop if (w not in also_capital or len(w) < 3) and w not in _STOP_NOT_AT_START
        )

    def needs_ner(self, text: str) -> bool:
        return next(self._flagged(text), None) is not None

    def ner_windows(self, text: str, margin: int = NER_WINDOW_WORDS) -> list[tuple[int, int]]:
        """The parts of ``text`` NER must read: each word that could begin a name with
        ``margin`` words either side, overlapping windows merged; ``[]`` if none.

        The NER's decision about a word depends on the few words around it (its embedding
        layers see four words either side), so a window of eight finds the same people and
        places as the whole text does (``tests/policies/test_pii_gate.py`` checks it on the
        corpora) and spares NER the sentences no name can be in.
        """
        words: list[tuple[int, int]] = []
        windows: list[list[int]] = []
        flagged = set(self._flagged(text, words))
        for i in sorted(flagged):
            a, b = max(0, i - margin), min(len(words) - 1, i + margin)
            if windows and a <= windows[-1][1] + 1:
                windows[-1][1] = max(windows[-1][1], b)
            else:
                windows.append([a, b])
        return [(words[a][0], words[b][1]) for a, b in windows]

    def _flagged(self, text: str, words: list[tuple[int, int]] | None = None) -> Iterator[int]:
        """Indexes of the words that need NER; ``words`` (if given) gets every word's span.

        Lazy: ``needs_ner`` stops at the first. ``words`` is complete only once exhausted.
        """
        start = True  # the first word of the text starts a sentence
        end = 0
        for i, m in enumerate(_WORD.finditer(text)):
            if words is not None:
                words.append(m.span())
            if "\n" in text[end : m.start()]:
                start = True  # the first word of a line
            word = m.group()
            # Most words of most texts: a plain lower-case dictionary word.
            if word not in self.lower_safe and self._word_needs_ner(word, start):
                yield i
            start = _ends_sentence(word)
            end = m.end()

    def _word_needs_ner(self, word: str, start: bool) -> bool:
        core = word.lstrip(_OPENERS)
        if _CODE_PUNCT.search(core.rstrip(_CLOSERS)):
            return True
        first = True
        for m in _PART.finditer(core):
            part = m.group()
            # A part right at the word's start (after opening quotes) can open a sentence.
            opens = start and first and m.start() == 0
            first = False
            if self._part_needs_ner(part, opens):
                return True
        return False

    def _part_needs_ner(self, part: str, sentence_start: bool) -> bool:
        if not part.isascii():
            return True
        if any(c.isdigit() for c in part):
            return False
        if _NOT.search(part):
            base = part[:-3].lower()
            return base not in self.lower_safe and base not in _NOT_BASES
        base = _CONTRACTION.sub("", part)
        if base.islower():
            return base not in self.lower_safe
        if base == "I":
            return False
        if base in TECH_ACRONYMS:
            return False
        if sentence_start and base[0].isupper() and base[1:].islower():
            return base.lower() not in self.title_safe
        if sentence_start and len(base) == 1:
            return base.lower() not in {"a", "i"}
        return True


def _ends_sentence(word: str) -> bool:
    """Does the next word start a sentence or a list item's text?"""
    return word.rstrip("\"'”’)]}").endswith(tuple(_SENTENCE_END)) or bool(_LIST_ITEM.match(word))


# "don't" is "do" + "n't" in spaCy but "don" + "'t" here; these bases are not names.
_NOT_BASES = frozenset(
    [
        "ain",
        "aren",
        "can",
        "couldn",
        "didn",
        "doesn",
        "don",
        "hadn",
        "hasn",
        "haven",
        "isn",
        "mightn",
        "mustn",
        "needn",
        "shan",
        "shouldn",
        "wasn",
        "weren",
        "won",
        "wouldn",
    ]
)
