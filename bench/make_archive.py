"""A synthetic news archive for `sectag batch --unit article` and `sectag trends`.

Each article is a few sentences from templates written for this bench (no outlet's words),
about two governments picked at random, dated between 2016 and 2024. `--as-batch-output`
writes instead what `sectag batch --unit article --keep date` would give for it (topics
from the templates, partners = the two countries), to measure `sectag trends` alone.

    python bench/make_archive.py archive.jsonl --articles 100000 [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys

COUNTRIES = [("LBY", "Libya"), ("ITA", "Italy"), ("EGY", "Egypt"), ("TUN", "Tunisia"),
             ("FRA", "France"), ("DEU", "Germany"), ("TUR", "Turkey"), ("MLT", "Malta"),
             ("GRC", "Greece"), ("ESP", "Spain"), ("MAR", "Morocco"), ("DZA", "Algeria"),
             ("NER", "Niger"), ("TCD", "Chad"), ("SDN", "Sudan"), ("KOR", "South Korea"),
             ("JPN", "Japan"), ("GBR", "the United Kingdom"), ("USA", "the United States"),
             ("RUS", "Russia")]
# (sentence, topic or None); {a} and {b} are the two governments of the article.
TEMPLATES = [
    ("{a} will train {b} coast guard officers in a six-week course on sea rescue.", "training"),
    ("Instructors from {a} began a training programme for police cadets from {b}.", "training"),
    ("{a} and {b} agreed to share intelligence on armed groups that plan attacks.",
     "counterterrorism"),
    ("Security chiefs of {a} and {b} discussed joint operations against extremist cells.",
     "counterterrorism"),
    ("{a} pledged funds to help {b} manage irregular migration across its borders.",
     "migration"),
    ("Officials of {a} and {b} met to discuss the return of migrants stranded at sea.",
     "migration"),
    ("{a} announced that it will reopen its embassy in {b} next month.", "embassy_reopening"),
    ("The foreign ministry of {a} said its diplomats would return to {b} after years away.",
     "embassy_reopening"),
    ("{a} offered technical support to the electoral commission of {b} before the vote.",
     "elections"),
    ("Observers from {a} will follow the parliamentary elections in {b}.", "elections"),
    ("The ministers of {a} and {b} spoke to reporters after the meeting.", None),
    ("The talks between {a} and {b} lasted two days, officials said.", None),
]
FIRST_DAY, DAYS = dt.date(2016, 1, 1), (dt.date(2024, 12, 31) - dt.date(2016, 1, 1)).days


def article(rng: random.Random, number: int) -> tuple[dict, dict]:
    """One archive row and the batch-output row it stands for (topics, partners)."""
    (code_a, name_a), (code_b, name_b) = rng.sample(COUNTRIES, 2)
    picked = rng.sample(TEMPLATES, rng.randint(3, 6))
    text = " ".join(t.format(a=name_a, b=name_b) for t, _ in picked)
    text = text[0].upper() + text[1:]
    date = (FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS + 1))).isoformat()
    rid = f"art-{number:07d}"
    topics = sorted({topic for _, topic in picked if topic})
    return ({"id": rid, "date": date, "text": text},
            {"id": rid, "date": date, "topics": topics, "partners": sorted([code_a, code_b])})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="JSONL file to write")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-batch-output", action="store_true",
                        help="write the batch output these articles stand for")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with open(args.output, "w", encoding="utf-8") as out:
        for number in range(1, args.articles + 1):
            row = article(rng, number)[1 if args.as_batch_output else 0]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.articles} articles -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
