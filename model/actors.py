"""Actors: the countries and international organisations a text names, with their spans.

Country names come from pycountry; `labels/actors/countries.csv` adds what pycountry lacks
(demonyms, capitals, seats of government, common short names, organisations) and
`labels/actors/not-actors.csv` lists phrases that contain a country word but name no actor
("Niger River", "Gulf of Guinea", "New Mexico"). One precompiled regex, a trie of the
aliases' first words, finds only the words that can start an alias; each is looked up in a
dict of the aliases that start with it, longest first, so Python runs once per alias hit,
not once per capitalised word nor once per alias. Batch cells (codes only) are read by a
compiled pass (`actor_kernels`) that leaves to this scan only the texts it cannot read.

Ambiguity rules (beyond the not-actors phrases, which win by being longer):
- case: a name must start with a capital (or be all capitals, as in "TRIPOLI -"); acronyms
  ("US", "UN", "AU", "EU") match only as written, so "us" and "un-" never match, and "US"
  in a text with no lower-case letter counts only as "THE US" or "US-";
- "Jordan" and "Chad" are a person when the word before is a capitalised name ("Michael
  Jordan") or the word after is a capitalised surname ("Jordan Smith", not "Jordan Armed
  Forces"); the second test is off in Title Case headlines;
- "Georgia" is the US state when the text says so ("Atlanta", "state of Georgia", "Georgia
  governor", "US state") and does not name Tbilisi;
- bare "Congo"/"Congolese" is the DR Congo (COD) unless the same text names the Republic
  of the Congo (Brazzaville, "Republic of the Congo", "Congo-Brazzaville"): then COG;
- "Korean" is South Korea; "North Korean" is one longer alias (PRK); "Guinea" alone is GIN,
  "Equatorial Guinea", "Guinea-Bissau", "Papua New Guinea" are longer aliases;
- "Turkey" the bird is written in lower case, and lower case never matches;
- "the Alliance" is not matched (too often another alliance): NATO is named by its names.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from .kernel_constants import ACTOR_EXACT, ACTOR_IGNORED
from .errors import LabelError, Problem
from .featurizer import class_table, code_points, token_table
from .gc_pause import collections_paused
from .kernels import kernels
from .labels import ACTORS_DIR, _read_csv

COUNTRIES_FILE = "countries.csv"
NOT_ACTORS_FILE = "not-actors.csv"
ALIAS_COLUMNS = ("code", "alias", "kind", "source")
NOT_ACTOR_COLUMNS = ("phrase", "reason", "source")
COUNTRY_KINDS = ("name", "demonym", "capital", "seat")
ORG_KINDS = ("organisation", "org_name")
KINDS = COUNTRY_KINDS + ORG_KINDS
# Codes pycountry does not carry but the specification uses (user-assigned, widely used).
EXTRA_COUNTRIES = {"XKX": "Kosovo"}
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "labels" / ACTORS_DIR

# A run of word characters from a capital letter (Latin, accents included) that is not
# inside an earlier such run: where an alias can start ("eLibya" holds one, "McDonald" only
# "McDonald"). The scan finds those whose whole run is a table key.
CAPITALS = "A-ZÀ-ÖØ-ÞĀ-Ž"
CANDIDATE = re.compile(rf"[{CAPITALS}]\w*")
CAPITAL = re.compile(rf"[{CAPITALS}]")
SEPARATOR = "\x00"
# Words whose meaning depends on the rest of the text (see the module docstring).
CONTEXT_WORDS = frozenset(("Jordan", "Chad", "Georgia", "US", "Congo", "Congolese"))
# Of those, the words whose code depends on the text's other mentions (Brazzaville's Congo).
CONGO_WORDS = frozenset(("Congo", "Congolese"))
PERSON_NAMES = ("Jordan", "Chad")
# Words that may follow "Jordan"/"Chad" in the country's own institutions and places.
INSTITUTION_WORDS = frozenset(
    "Armed Army Air Airlines Navy Police Customs Government Embassy Red Royal National "
    "Public Security Interior Foreign Ministry Minister Border Gendarmerie Aviation Bank "
    "Investment Chamber Valley River Basin Times News Television Radio Agency Authority "
    "Commission Council Parliament Senate Court State Republic Kingdom Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday January February March April May June July "
    "August September October November December And Or To In On At For With From".split())
# Capitalised words before "Jordan"/"Chad" that are not a first name.
NOT_FIRST_NAMES = frozenset(
    "The In On At For From With And But Of To By Into Across Near Including Neighbouring "
    "Neighboring Kingdom Hashemite King Queen Northern Southern Eastern Western Central "
    "Both Like Unlike While When As Also Then Where Visit Visits Said Says Between "
    "Lake Rural Urban Rebel Rebels Troops Forces Army Police Officials".split())
GEORGIA_STATE = re.compile(r"\bAtlanta\b|\bSavannah\b|\bMacon\b|state of Georgia|"
                           r"Georgia (?:state|governor|Gov\.)|Georgia's governor|"
                           r"governor of Georgia|\bU\.?S\.? state\b", re.IGNORECASE)
ALL_CAPS_US = re.compile(r"THE US\b|\bUS-")


@dataclass(frozen=True)
class Alias:
    """One way of naming an actor: its code, the surface form, its kind, where it is from."""

    code: str | None  # None: a phrase that names no actor
    text: str
    kind: str
    source: str = ""


class Mention(NamedTuple):
    """One actor named in a text: the code, the span [start, end) and the words used."""

    code: str
    start: int
    end: int
    text: str
    kind: str


@dataclass(frozen=True)
class Actor:
    """An actor's code, display name and type (`country` or `organisation`)."""

    code: str
    name: str
    type: str


def country_names() -> dict[str, list[str]]:
    """pycountry's names per alpha-3 code, display name first (names with a comma or
    parentheses, "Korea, Republic of", are left to the data file)."""
    import pycountry

    names: dict[str, list[str]] = {}
    for country in pycountry.countries:
        forms = [getattr(country, "common_name", None), country.name,
                 getattr(country, "official_name", None)]
        names[country.alpha_3] = [f for f in dict.fromkeys(forms)
                                  if f and "," not in f and "(" not in f]
    return names


def load_actor_data(folder: Path, display: str, problems: list[Problem]
                    ) -> tuple[list[Alias], list[Alias]]:
    """(aliases, not-actor phrases) from the data folder; problems name file, line, column."""
    aliases = _load_aliases(folder / COUNTRIES_FILE, f"{display}/{COUNTRIES_FILE}", problems)
    phrases = []
    not_display = f"{display}/{NOT_ACTORS_FILE}"
    seen: dict[str, int] = {}
    for line, rec in _read_csv(folder / NOT_ACTORS_FILE, not_display, NOT_ACTOR_COLUMNS,
                               problems, ()):
        phrase = rec["phrase"].strip()
        if not phrase:
            problems.append(Problem(not_display, line, "phrase", "empty phrase"))
            continue
        if phrase.lower() in seen:
            problems.append(Problem(not_display, line, "phrase", f"duplicate phrase {phrase!r} "
                                    f"(first at line {seen[phrase.lower()]})"))
            continue
        seen[phrase.lower()] = line
        phrases.append(Alias(None, phrase, "not_actor", rec["source"].strip()))
    return aliases, phrases


def _load_aliases(path: Path, display: str, problems: list[Problem]) -> list[Alias]:
    records = _read_csv(path, display, ALIAS_COLUMNS, problems, ())
    countries = set(country_names()) | set(EXTRA_COUNTRIES)
    organisations = {rec["code"].strip() for _, rec in records
                     if rec["kind"].strip() == "organisation"}
    aliases: list[Alias] = []
    first: dict[str, tuple[str, int]] = {}
    for line, rec in records:
        code, alias, kind = rec["code"].strip(), rec["alias"].strip(), rec["kind"].strip()
        bad = len(problems)
        if kind not in KINDS:
            problems.append(Problem(display, line, "kind", f"unknown kind {kind!r} "
                                    f"(one of {', '.join(KINDS)})"))
        elif kind in COUNTRY_KINDS and code not in countries:
            problems.append(Problem(display, line, "code", f"unknown country code {code!r}: "
                                    "use an ISO 3166-1 alpha-3 code (pycountry) or "
                                    f"{', '.join(EXTRA_COUNTRIES)}"))
        elif kind in ORG_KINDS and code not in organisations:
            problems.append(Problem(display, line, "code", f"unknown organisation code "
                                    f"{code!r}: define it with a row of kind 'organisation'"))
        if not alias:
            problems.append(Problem(display, line, "alias", "empty alias"))
        elif alias.lower() in first and first[alias.lower()][0] != code:
            other, other_line = first[alias.lower()]
            problems.append(Problem(display, line, "alias", f"alias {alias!r} maps to {code} "
                                    f"and to {other} (line {other_line})"))
        if len(problems) == bad:
            first.setdefault(alias.lower(), (code, line))
            aliases.append(Alias(code, alias, kind, rec["source"].strip()))
    return aliases


def read_actor_data(folder: str | Path = DEFAULT_DATA_DIR) -> tuple[list[Alias], list[Alias]]:
    """The validated data folder, or LabelError listing every problem."""
    folder = Path(folder)
    problems: list[Problem] = []
    data = load_actor_data(folder, f"{folder.parent.name}/{folder.name}", problems)
    if problems:
        raise LabelError(problems)
    return data


def _plural(demonym: str) -> str | None:
    """"Libyan" -> "Libyans"; none for "British", "Chinese", "Swiss", "Dutch"."""
    if demonym.endswith(("sh", "ch", "ese", "s", "x", "z")) or " " in demonym:
        return None
    return demonym + "s"


def _first_token(text: str) -> str:
    match = re.match(r"\w+", text)
    return match.group(0) if match else ""


def _trie(words: Iterable[str], follow: Mapping[str, str] = {}) -> str:
    """A regex alternation of `words`, prefix-factored so the engine reads each character
    once per position instead of once per word; `follow` gives a word a pattern that must
    come after it."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = follow.get(word, "")

    def pattern(node: dict) -> str:
        end = node.get("")
        branches = [re.escape(ch) + pattern(child) for ch, child in node.items() if ch]
        if not branches:
            return end or ""
        if end is None:
            return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if not end:
            return "(?:" + "|".join(branches) + ")?"
        return "(?:" + "|".join(branches + [end]) + ")"

    return pattern(root)


class Spellings(NamedTuple):
    """The aliases that start with one key, longest first, lower-cased."""

    longest_length: int
    aliases: dict[str, Alias]  # by lower-case spelling, longest first
    pattern: re.Pattern  # any spelling, longest first, then no letter or digit

    @classmethod
    def of(cls, aliases: list[Alias]) -> "Spellings":
        by_spelling = {a.text.lower(): a for a in aliases}
        return cls(len(aliases[0].text), by_spelling,
                   re.compile(f"(?:{_trie(by_spelling)})(?![^\\W_])"))

    def longest(self, text: str, start: int) -> Alias | None:
        """The longest alias written at `start` (case aside) and ending at a word boundary.

        An ASCII text is lower-cased once and matched against all spellings in one regex
        call (of the spellings a text starts with, each is a prefix of the next, so the
        trie's greedy order tries the longest first); elsewhere each spelling is compared
        with its own lower-cased slice, since lower-casing may change a string's length.
        """
        window = text[start:start + self.longest_length + 1]
        if window.isascii():
            match = self.pattern.match(window.lower())
            return self.aliases[match.group(0)] if match else None
        for spelling, alias in self.aliases.items():
            end = start + len(alias.text)
            if text[start:end].lower() == spelling and not (
                    end < len(text) and text[end].isalnum()):
                return alias
        return None


class ActorMatcher:
    """The compiled alias table: `find(text)` gives every actor mention with its span."""

    def __init__(self, aliases: list[Alias], not_actors: list[Alias] = ()):
        pycountry_names = country_names()
        self.actors: dict[str, Actor] = {}
        every: list[Alias] = []
        data_names: dict[str, str] = {}
        for a in aliases:
            if a.kind == "name":
                data_names.setdefault(a.code, a.text)
            elif a.kind == "organisation":
                self.actors.setdefault(a.code, Actor(a.code, a.text, "organisation"))
        for code, names in {**{c: [] for c in EXTRA_COUNTRIES}, **pycountry_names}.items():
            display = names[0] if names else data_names.get(code, EXTRA_COUNTRIES.get(code, code))
            self.actors[code] = Actor(code, display, "country")
        # Data-file aliases first: they win over a pycountry name spelled the same
        # (bare "Congo" is the DR Congo here, pycountry's name for COG).
        for a in aliases:
            every.append(a)
            plural = _plural(a.text) if a.kind == "demonym" else None
            if plural:
                every.append(Alias(a.code, plural, a.kind, a.source))
        every += [Alias(code, n, "name", "ISO 3166 / pycountry")
                  for code, names in pycountry_names.items() for n in names]
        every += list(not_actors)
        table: dict[str, dict[str, Alias]] = {}
        for a in every:
            first = _first_token(a.text)
            if not first:
                continue
            for key in dict.fromkeys((first, first.upper())):
                if key != first and len(first) <= 1:
                    continue
                table.setdefault(key, {}).setdefault(a.text.lower(), a)
        # longest first, so "Guinea-Bissau" beats "Guinea" and "Niger River" beats "Niger"
        self.table = {k: sorted(v.values(), key=lambda a: -len(a.text)) for k, v in table.items()}

    @classmethod
    def from_dir(cls, folder: str | Path = DEFAULT_DATA_DIR) -> "ActorMatcher":
        return cls(*read_actor_data(folder))

    @cached_property
    def simple(self) -> dict[str, Alias]:
        """Words that are one whole alias and begin no longer one, with no context rule:
        their code is known from the word alone."""
        return {key: alias for key, (alias, *more) in self.table.items()
                if not more and alias.code and alias.text == key and key not in CONTEXT_WORDS}

    @cached_property
    def spelled(self) -> dict[str, "Spellings"]:
        """Per key, its aliases as `Spellings.longest` compares a text with them."""
        return {key: Spellings.of(aliases) for key, aliases in self.table.items()}

    @cached_property
    def scan(self) -> re.Pattern:
        """Whole word-character runs from a capital that are table keys (a key that could
        never be a candidate, such as "the", is left out: it never matched)."""
        keys = sorted(k for k in self.table if CANDIDATE.fullmatch(k))
        return re.compile(f"(?:{_trie(keys, self.continuations)})(?!\\w)")

    @cached_property
    def continuations(self) -> dict[str, str]:
        """For a key that is no alias alone ("The", "Islamic"), a lookahead for how its
        aliases go on, so the scan skips "The talks": case-insensitive, which admits every
        text whose lower case spells an alias (checked again by `Spellings.longest`). Only
        for keys whose aliases are all ASCII and begin with the key's lower case."""
        out = {}
        for key, aliases in self.table.items():
            spellings = [a.text.lower() for a in aliases]
            if all(s.isascii() and len(s) > len(key) and s.startswith(key.lower())
                   for s in spellings):
                tails = sorted({s[len(key):] for s in spellings})
                out[key] = f"(?=(?i:{_trie(tails)}))"
        return out

    @cached_property
    def cog_aliases(self) -> frozenset[str]:
        """The Republic of the Congo's own aliases, which make a bare "Congo" COG."""
        return frozenset(a.text.lower() for v in self.table.values() for a in v
                         if a.code == "COG")

    def find(self, text: str) -> list[Mention]:
        """Every actor mention in text order; spans never overlap."""
        return self.find_many([text])[0]

    def find_many(self, texts: Sequence[str]) -> list[list[Mention]]:
        """Each text's mentions, in one scan of the batch.

        The texts are joined and scanned once (a text that holds the separator is scanned
        alone); the scan stops only at words that start an alias; a word that names its
        actor alone costs one dict lookup; only a text with a context word goes through the
        context rules.
        """
        return self._scan_many(texts, as_codes=False)

    def _scan_many(self, texts: Sequence[str], as_codes: bool) -> list[list]:
        joined = SEPARATOR.join(texts)
        if len(texts) > 1 and joined.count(SEPARATOR) != len(texts) - 1:
            return [self._scan_many([t], as_codes)[0] for t in texts]
        with collections_paused():  # the mentions are acyclic: collecting would cost double
            return self._scan(texts, joined, as_codes)

    def _scan(self, texts: Sequence[str], joined: str, as_codes: bool) -> list[list]:
        """Each text's mentions, or with `as_codes` only their codes (no Mention is made,
        except for a text with a context word, whose rules need them)."""
        found: list[list] = [[] for _ in texts]
        context: set[int] = set()
        ends = list(itertools.accumulate(len(t) + 1 for t in texts))
        spelled, simple, new_tuple = self.spelled, self.simple, tuple.__new__
        index, offset, covered, end = 0, 0, 0, ends[0] if ends else 0
        for match in self.scan.finditer(joined):
            start = match.start()
            if start < covered:
                continue
            if start:
                before = joined[start - 1]
                if (before.isalnum() or before == "_") and _inside_run(joined, start):
                    continue  # not a candidate: a capital earlier in this run ("McDonald")
            word = match.group()
            if start >= end:  # the next text (compared once per mention, not per text)
                while start >= ends[index]:
                    index += 1
                offset, end = ends[index - 1], ends[index]
            hit = simple.get(word)
            if hit is None:
                in_context = word in CONTEXT_WORDS
                if in_context and (not as_codes or word in CONGO_WORDS):
                    context.add(index)  # resolved below, with all of the text's mentions
                    in_context = False
                hit = spelled[word].longest(joined, start)
                if hit is None:
                    continue
                covered = start + len(hit.text)
                if hit.code is None:
                    continue
                if as_codes:
                    if not in_context or _stands(texts[index], Mention(
                            hit.code, start - offset, covered - offset,
                            joined[start:covered], hit.kind)):
                        found[index].append(hit.code)
                    continue
                word = joined[start:covered]
            elif as_codes:
                found[index].append(hit.code)
                continue
            # tuple.__new__ skips the named tuple's Python-level __new__ (a third of the loop)
            found[index].append(new_tuple(Mention, (hit.code, start - offset,
                                                    start - offset + len(word), word, hit.kind)))
        for i in context:
            found[i] = ([m.code for m in self.find(texts[i])] if as_codes
                        else _resolve(texts[i], found[i], self.cog_aliases))
        return found

    def codes_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's sorted codes (the batch cell form).

        The compiled pass reads the texts whose candidate words are all simple keys (most
        of a batch); the others go through the exact scan, all in one call.
        """
        if not texts:
            return []
        tables = self.code_tables
        offsets = np.fromiter(itertools.accumulate(map(len, texts), initial=0), np.int64,
                              count=len(texts) + 1)
        indptr, ids, exact = kernels().simple_codes(
            code_points("".join(texts)), offsets, *tables["arrays"])
        names = tables["names"][ids].tolist()
        bounds = indptr.tolist()
        out = [names[a:b] for a, b in zip(bounds, bounds[1:])]
        again = np.flatnonzero(exact).tolist()
        if again:
            for i, found in zip(again, self._scan_many([texts[i] for i in again], True)):
                out[i] = sorted(set(found)) if len(found) > 1 else found
        return out

    @cached_property
    def code_tables(self) -> dict:
        """What `actor_kernels.simple_codes` reads (see there), and the code names by id
        (numbered in sorted order, so sorted ids are sorted codes). A key whose spellings
        are all ASCII and begin with it gets its tails; a context word, or any other key
        with longer spellings, is `EXACT`."""
        keys = [k for k in self.table if CANDIDATE.fullmatch(k)]
        names = sorted({a.code for k in keys for a in self.table[k] if a.code})
        code_id = {name: i for i, name in enumerate(names)}

        def code_of(alias: Alias | None) -> int:
            return code_id[alias.code] if alias and alias.code else ACTOR_IGNORED

        key_code, key_span, tail_ptr, tails, tail_code = [], [], [0], [], []
        for key in keys:
            spellings = self.spelled[key]
            own = spellings.aliases.get(key.lower())
            longer = [s for s in spellings.aliases if s != key.lower()]
            readable = key.isascii() and all(
                s.isascii() and s.startswith(key.lower()) for s in spellings.aliases)
            if key in CONTEXT_WORDS or (longer and not readable):
                key_code.append(ACTOR_EXACT)
            else:
                key_code.append(code_of(own))
                tails += [s[len(key):] for s in longer]  # longest first, as spelled
                tail_code += [code_of(spellings.aliases[s]) for s in longer]
            key_span.append(spellings.longest_length + 1)
            tail_ptr.append(len(tails))
        capital = np.array([bool(CAPITAL.fullmatch(chr(c)))
                            for c in range(max(map(ord, CAPITALS)) + 1)])
        _, _, tail_cp, tail_off = token_table(tails)
        arrays = (class_table(), capital, *token_table(keys),
                  np.array(key_code, np.int32), np.array(key_span, np.int64),
                  np.array(tail_ptr, np.int64), tail_cp, tail_off,
                  np.array(tail_code, np.int32))
        return {"arrays": arrays, "names": np.array(names, dtype=object)}

    def actor(self, code: str) -> Actor:
        return self.actors.get(code) or Actor(code, code, "country")

    def fields(self, code: str) -> dict:
        """An actor's code, name and type, as the API gives them."""
        actor = self.actor(code)
        return {"code": actor.code, "name": actor.name, "type": actor.type}

    def summary(self, mentions: list[Mention]) -> list[dict]:
        """The API shape: per actor (first named first) its code, name, type and mentions."""
        grouped: dict[str, dict[str, None]] = {}
        for m in mentions:
            grouped.setdefault(m.code, {})[m.text] = None
        return [{**self.fields(code), "mentions": list(words)}
                for code, words in grouped.items()]

    def is_country(self, code: str) -> bool:
        return self.actor(code).type == "country"


def _inside_run(text: str, start: int) -> bool:
    """Whether a capital letter comes earlier in the word-character run holding `start`
    (str.isalnum or "_" is exactly the regex's \\w)."""
    before = start
    while before and (text[before - 1].isalnum() or text[before - 1] == "_"):
        before -= 1
    return before < start and CAPITAL.search(text, before, start) is not None


def _resolve(text: str, mentions: list[Mention], cog_aliases: frozenset[str]
             ) -> list[Mention]:
    """Apply the context rules: persons, the US state, "US" in capitals, Congo."""
    cog = any(m.text.lower() in cog_aliases for m in mentions)
    out = []
    for m in mentions:
        if not _stands(text, m):
            continue
        if cog and m.code == "COD" and m.text.lower() in ("congo", "congolese"):
            m = Mention("COG", m.start, m.end, m.text, m.kind)
        out.append(m)
    return out


def _stands(text: str, m: Mention) -> bool:
    """Whether a mention names its actor in this text: not a person ("Michael Jordan"), not
    the US state, and "US" in an all-capitals text only where it is clearly the country.
    One mention and its text suffice, so the codes scan applies it as it goes."""
    if m.text in PERSON_NAMES:
        return text == text.upper() or not _is_person(text, m, _title_case(text))
    if m.text == "Georgia":
        return not GEORGIA_STATE.search(text) or "Tbilisi" in text
    if m.text == "US":
        return text != text.upper() or bool(ALL_CAPS_US.search(text))
    return True


def _is_person(text: str, m: Mention, title_case: bool) -> bool:
    """"Michael Jordan", "Jordan Smith", "Chad Johnson": a capitalised name beside it."""
    before = re.search(r"(\w+) $", text[max(0, m.start - 30):m.start])
    if before and before.group(1)[:1].isupper() and before.group(1) not in NOT_FIRST_NAMES \
            and not before.group(1).isupper():
        return True
    after = re.match(r" ([A-Z][a-z]+)\b(?!['’]s)", text[m.end:m.end + 30])
    return bool(after and not title_case and after.group(1) not in INSTITUTION_WORDS)


def _title_case(text: str) -> bool:
    """A headline in Title Case: most longer words start with a capital."""
    words = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


def codes(mentions: list[Mention]) -> list[str]:
    """The distinct codes, sorted: the label-file and batch-cell form."""
    return sorted({m.code for m in mentions})
