"""Load and validate the label files: topics.csv, sentences/*.csv and lexicons/*.csv.

Every problem is collected with its file, line and column so that one run of
`sectag labels check` shows them all; training refuses data with any problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .actor_labels import check_actor_columns
from .errors import LabelError, Problem

TOPICS_FILE = "topics.csv"
SENTENCES_DIR = "sentences"
TOPIC_COLUMNS = ("name", "description")
LEXICONS_DIR = "lexicons"
ACTORS_DIR = "actors"  # the actor data (model/actors.py), validated with the labels
HOLDOUT_DIR = "holdout"  # held-out files: not trained on, but their actor labels are checked
SENTENCE_COLUMNS = ("id", "source", "text", "topics")
# Provenance a row may carry: its article (the CV group), where it came from, who reviewed it.
PROVENANCE_COLUMNS = ("article", "origin", "reviewer", "reviewed_at", "model_version")
# The actor ground truth (labels/README.md): a sentence's actors, its article's partners.
ACTOR_COLUMNS = ("actors", "partners")
OPTIONAL_COLUMNS = PROVENANCE_COLUMNS + ACTOR_COLUMNS
LEXICON_COLUMNS = ("entry", "aliases", "source")
TOPIC_SEPARATOR = ";"
AUTHORED = "authored"
REVIEW = "review"
MIN_TERM_CHARS = 3
TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SHARED_RUN_WORDS = 8


@dataclass(frozen=True)
class Topic:
    """A topic: its identifier, a one-line description and optional baseline keywords."""

    name: str
    description: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One labelled sentence and where it came from."""

    id: str
    source: str
    text: str
    topics: tuple[str, ...]
    file: str
    line: int
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, column: str) -> str:
        """An optional column's value ('' when the file has no such column)."""
        return dict(self.extra).get(column, "")

    @property
    def is_seed(self) -> bool:
        """A sentence of a seed article (real outlets' text), not authored or reviewed."""
        return self.source not in (AUTHORED, REVIEW)

    @property
    def article(self) -> str:
        """The article the row belongs to: its `article` column, or its seed file."""
        if self.get("article"):
            return f"{self.file}:{self.get('article')}"
        return self.source if self.is_seed else ""

    @property
    def group(self) -> str:
        """Cross-validation group: the article, else the authored batch file, else the row."""
        if self.article:
            return self.article
        if self.source == AUTHORED:
            return f"{AUTHORED}:{self.file}"
        return f"{self.source}:{self.file}:{self.id}"


@dataclass
class LabelSet:
    """Validated labels: topics in file order, rows in file order, and a data hash."""

    topics: list[Topic]
    rows: list[Row]
    data_sha256: str
    files: list[str] = field(default_factory=list)
    lexicons: list = field(default_factory=list)  # LexiconEntry, in file order

    @property
    def topic_names(self) -> list[str]:
        return [t.name for t in self.topics]

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.rows]

    @property
    def groups(self) -> list[str]:
        return [r.group for r in self.rows]

    def folds(self, n_splits: int | None = None) -> list[tuple]:
        """Grouped CV folds with the seed articles (the real outlets' text) spread over the
        folds, so their figures do not hinge on where group sizes happen to put them.
        Reviewed rows are not a stratum: reviewing a row never moves the folds."""
        from .crossval import DEFAULT_FOLDS, grouped_folds  # here: serving never loads sklearn

        return grouped_folds(self.groups, n_splits or DEFAULT_FOLDS,
                             strata=[r.is_seed for r in self.rows])

    def indicator_matrix(self):
        """Rows x topics 0/1 matrix in topic order."""
        return indicator_matrix(self.rows, self.topic_names)

    def hold_out(self, file_names: list[str]) -> tuple["LabelSet", list[Row]]:
        """(these labels without the named sentence files, the rows of those files).

        A file is named by its file name or its path; naming a file that is not in the set
        is an error, so a typo never silently holds nothing out.
        """
        wanted = {Path(name).name for name in file_names}
        unknown = sorted(wanted - set(self.files))
        if unknown:
            raise LabelError([Problem(name, 0, "", "not a sentence file of these labels "
                                      f"(files: {', '.join(self.files)})") for name in unknown])
        return self._split(lambda r: Path(r.file).name in wanted, "\0".join(sorted(wanted)),
                           [f for f in self.files if f not in wanted])

    def hold_out_matching(self, pattern: str) -> tuple["LabelSet", list[Row]]:
        """(these labels without the rows whose text matches `pattern`, those rows).

        A topic-register family ("embass|consulat": closures and reopenings alike) is a
        stream the starting model has never read, the drift a user's own news brings.
        The match is a case-insensitive regular expression searched anywhere in the text.
        """
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise LabelError([Problem("--hold-out-matching", 0, "",
                                      f"{pattern!r} is not a regular expression: {exc}")]) from exc
        split = self._split(lambda r: regex.search(r.text) is not None, "re:" + pattern,
                            list(self.files))
        if not split[1]:
            raise LabelError([Problem("--hold-out-matching", 0, "",
                                      f"{pattern!r} matches no labelled sentence")])
        return split

    def _split(self, held_if, tag: str, files: list[str]) -> tuple["LabelSet", list[Row]]:
        """Rows for which held_if is true go out; the rest keep a digest naming the cut."""
        held = [r for r in self.rows if held_if(r)]
        kept = [r for r in self.rows if not held_if(r)]
        digest = hashlib.sha256(self.data_sha256.encode())
        digest.update(tag.encode())
        return LabelSet(self.topics, kept, digest.hexdigest(), files, self.lexicons), held


def indicator_matrix(rows, topic_names: list[str]):
    """Rows x topics 0/1 matrix: Y[i, j] = 1 when row i carries topic j."""
    import numpy as np

    index = {name: j for j, name in enumerate(topic_names)}
    y = np.zeros((len(rows), len(topic_names)), dtype=np.int8)
    for i, row in enumerate(rows):
        for name in row.topics:
            y[i, index[name]] = 1
    return y


def _decode(raw: bytes, name: str, problems: list[Problem]) -> str:
    """Decode UTF-8, reporting the line and byte column of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(Problem(name, line, "", f"bad encoding: byte 0x{raw[exc.start]:02x} "
                                f"at byte {col} of the line is not UTF-8 (save the file as UTF-8)"))
        return raw.decode("utf-8-sig", errors="replace")


def _read_csv(path: Path, display: str, required: tuple[str, ...],
              problems: list[Problem], optional: tuple[str, ...] | None = None
              ) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV as (line number, {column: value}); structural problems are recorded."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(display, 0, "", f"cannot read file: {exc.strerror}"))
        return []
    text = _decode(raw, display, problems)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        problems.append(Problem(display, 1, "", "file is empty: expected a header "
                                f"{','.join(required)}"))
        return []
    except csv.Error as exc:
        problems.append(Problem(display, 1, "", f"malformed CSV header: {exc}"))
        return []
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    for col in missing:
        problems.append(Problem(display, 1, col, f"missing column (header must include "
                                f"{', '.join(required)})"))
    if optional is not None:
        for col in header:
            if col not in required and col not in optional:
                problems.append(Problem(display, 1, col, "unknown column (allowed: "
                                        f"{', '.join(required + optional)})"))
                missing.append(col)
    if missing:
        return []
    out = []
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(display, start, "", f"malformed CSV: {exc}"))
            break
        if values and any(v.strip() for v in values):
            if len(values) != len(header):
                problems.append(Problem(display, start, "", f"row has {len(values)} fields, "
                                        f"the header has {len(header)}"))
            else:
                out.append((start, dict(zip(header, values))))
        start = reader.line_num + 1
    return out


def _load_topics(root: Path, problems: list[Problem]) -> list[Topic]:
    display = f"{root.name}/{TOPICS_FILE}"
    topics, seen = [], set()
    for line, rec in _read_csv(root / TOPICS_FILE, display, TOPIC_COLUMNS, problems):
        name, desc = rec["name"].strip(), rec["description"].strip()
        if not TOPIC_NAME.match(name):
            problems.append(Problem(display, line, "name", f"topic name {name!r} must be "
                                    "lowercase letters, digits and underscores"))
            continue
        if name in seen:
            problems.append(Problem(display, line, "name", f"duplicate topic {name!r}"))
            continue
        if not desc:
            problems.append(Problem(display, line, "description", "empty description"))
        seen.add(name)
        keywords = tuple(k.strip().lower() for k in rec.get("keywords", "").split(";")
                         if k.strip())
        topics.append(Topic(name, desc, keywords))
    if not topics and not any(p.file == display for p in problems):
        problems.append(Problem(display, 0, "", "no topics defined"))
    return topics


def _parse_topics(value: str) -> list[str]:
    return [t.strip() for t in value.split(TOPIC_SEPARATOR) if t.strip()]


def _check_row(rec: dict[str, str], display: str, line: int, topic_names: set[str],
               seed_names: set[str] | None, problems: list[Problem]) -> tuple[Row, bool]:
    """The row, and whether it is valid (invalid rows still take part in duplicate checks)."""
    rid, source, text = rec["id"].strip(), rec["source"].strip(), rec["text"]
    bad = False
    if not rid:
        problems.append(Problem(display, line, "id", "empty id"))
        bad = True
    if not text.strip():
        problems.append(Problem(display, line, "text", "empty text"))
        bad = True
    elif "\n" in text or "\r" in text:
        problems.append(Problem(display, line, "text", "text spans several lines; "
                                "one row holds one sentence"))
        bad = True
    if source not in (AUTHORED, REVIEW) and seed_names is not None and source not in seed_names:
        problems.append(Problem(display, line, "source", f"unknown source {source!r}: "
                                f"expected {AUTHORED!r}, {REVIEW!r} or a file name in seeds/"))
        bad = True
    topics = _parse_topics(rec["topics"])
    for name in topics:
        if name not in topic_names:
            problems.append(Problem(display, line, "topics", f"unknown topic {name!r} "
                                    f"(known: {', '.join(sorted(topic_names))})"))
            bad = True
    if len(set(topics)) != len(topics):
        problems.append(Problem(display, line, "topics", "a topic is listed twice"))
        bad = True
    extra = tuple((c, rec[c].strip()) for c in OPTIONAL_COLUMNS if rec.get(c, "").strip())
    return Row(rid, source, text, tuple(topics), display, line, extra), not bad


def _check_uniqueness(rows: list[Row], problems: list[Problem]) -> None:
    ids: dict[str, Row] = {}
    texts: dict[str, Row] = {}
    for row in rows:
        if row.id and row.id in ids:
            first = ids[row.id]
            problems.append(Problem(row.file, row.line, "id", f"duplicate id {row.id!r} "
                                    f"(first at {first.file}:{first.line})"))
        ids.setdefault(row.id, row)
        key = " ".join(row.text.lower().split())
        if key and key in texts:
            first = texts[key]
            problems.append(Problem(row.file, row.line, "text", "duplicate text "
                                    f"(first at {first.file}:{first.line})"))
        texts.setdefault(key, row)


def _read_rows(path: Path, display: str, topic_names: set[str], seed_names: set[str] | None,
               problems: list[Problem]) -> list[tuple[Row, bool]]:
    """Every row of one sentence file with its validity; problems are recorded."""
    return [_check_row(rec, display, line, topic_names, seed_names, problems)
            for line, rec in _read_csv(path, display, SENTENCE_COLUMNS, problems,
                                       OPTIONAL_COLUMNS)]


def _valid_unique(checked: list[tuple[Row, bool]], problems: list[Problem]) -> list[Row]:
    _check_uniqueness([row for row, _ in checked], problems)
    return [row for row, ok in checked if ok]


def shared_runs(rows: list[Row], words: int = SHARED_RUN_WORDS) -> list[Problem]:
    """Authored rows that share a run of `words` words with another row (templating)."""
    seen: dict[tuple[str, ...], Row] = {}
    problems = []
    for row in rows:
        tokens = re.findall(r"[\w']+", row.text.lower())
        reported = False
        for i in range(len(tokens) - words + 1):
            run = tuple(tokens[i:i + words])
            first = seen.get(run)
            if first is None:
                seen[run] = row
            elif (first.id != row.id and not reported
                  and AUTHORED in (row.source, first.source)):
                problems.append(Problem(row.file, row.line, "text", f"shares the {words}-word "
                                        f"run {' '.join(run)!r} with {first.file}:{first.line}"))
                reported = True
    return problems


def data_hash(root: Path) -> str:
    """sha256 over every label file's name and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for path in [root / TOPICS_FILE, *sorted((root / SENTENCES_DIR).glob("*.csv")),
                 *sorted((root / LEXICONS_DIR).glob("*.csv"))]:
        if path.exists():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_labels(root: str | Path, *, seeds_dir: str | Path | None = None,
                check_runs: bool = True) -> LabelSet:
    """Read and validate the label folder; raise LabelError listing every problem."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        raise LabelError([Problem(str(root), 0, "", "label folder does not exist")])
    topics = _load_topics(root, problems)
    seed_names = None
    if seeds_dir is not None and Path(seeds_dir).is_dir():
        seed_names = {p.name for p in Path(seeds_dir).iterdir() if p.is_file()}
    files = sorted((root / SENTENCES_DIR).glob("*.csv"))
    if not files:
        problems.append(Problem(f"{root.name}/{SENTENCES_DIR}", 0, "",
                                "no sentence files (*.csv)"))
    checked: list[tuple[Row, bool]] = []
    names = {t.name for t in topics}
    for path in files:
        checked += _read_rows(path, f"{root.name}/{SENTENCES_DIR}/{path.name}", names,
                              seed_names, problems)
    rows = _valid_unique(checked, problems)
    held_out = [row for path in sorted((root / HOLDOUT_DIR).glob("*.csv"))
                for row, _ in _read_rows(path, f"{root.name}/{HOLDOUT_DIR}/{path.name}", names,
                                         seed_names, problems)]
    organisations: set[str] = set()
    if (root / ACTORS_DIR).is_dir():
        from .actors import load_actor_data

        aliases, _ = load_actor_data(root / ACTORS_DIR, f"{root.name}/{ACTORS_DIR}", problems)
        organisations = {a.code for a in aliases if a.kind == "organisation"}
    check_actor_columns(rows + held_out, frozenset(organisations), problems)
    if check_runs:
        problems.extend(shared_runs(rows))
    lexicons = load_lexicons(root, names, problems)
    if problems:
        raise LabelError(sorted(problems, key=lambda p: (p.file, p.row)))
    return LabelSet(topics, rows, data_hash(root), [p.name for p in files], lexicons)


def load_lexicons(root: Path, topic_names: set[str], problems: list[Problem]) -> list:
    """Every lexicons/<topic>.csv; a topic without a file simply has no lexicon."""
    from .lexicon import LexiconEntry, term_keys

    entries = []
    for path in sorted((root / LEXICONS_DIR).glob("*.csv")):
        display = f"{root.name}/{LEXICONS_DIR}/{path.name}"
        topic = path.stem
        if topic not in topic_names:
            problems.append(Problem(display, 0, "", f"lexicon for unknown topic {topic!r}: "
                                    f"name the file after a topic in {TOPICS_FILE} "
                                    f"({', '.join(sorted(topic_names))})"))
            continue
        seen: dict[tuple[str, ...], int] = {}
        for line, rec in _read_csv(path, display, LEXICON_COLUMNS, problems, ()):
            name = rec["entry"].strip()
            aliases = [a.strip() for a in rec["aliases"].split(TOPIC_SEPARATOR)]
            if not name:
                problems.append(Problem(display, line, "entry", "empty entry"))
                continue
            if any(not a for a in aliases) and rec["aliases"].strip():
                problems.append(Problem(display, line, "aliases", "empty alias (two ';' in a "
                                        "row, or one at an end)"))
            terms = [name] + [a for a in aliases if a]
            for term in terms:
                column = "entry" if term == name else "aliases"
                keys = term_keys(term)
                if len(term) < MIN_TERM_CHARS or not keys:
                    problems.append(Problem(display, line, column, f"term {term!r} is too short "
                                            f"to match safely (at least {MIN_TERM_CHARS} "
                                            "characters)"))
                for key in keys:
                    if key in seen and seen[key] != line:
                        problems.append(Problem(display, line, column, f"duplicate term "
                                                f"{term!r} (first at line {seen[key]})"))
                        break
                    seen[key] = line
            entries.append(LexiconEntry(topic, name, tuple(terms), rec["source"].strip()))
    return entries


def read_labelled_file(path: str | Path, topic_names: list[str]) -> list[Row]:
    """Read one external labelled CSV (same format as labels/), validated the same way."""
    problems: list[Problem] = []
    rows = _valid_unique(_read_rows(Path(path), str(path), set(topic_names), None, problems),
                         problems)
    if problems:
        raise LabelError(problems)
    return rows
