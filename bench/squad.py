"""Turn SQuAD 2.0 *train* articles into benchmark cases: `python -m bench.squad TRAIN.json OUT_DIR`.

Each article becomes `OUT_DIR/<slug>/articles/<slug>.txt` (its title, then its paragraphs) and
`OUT_DIR/<slug>/questions.jsonl` in the format of data/benchmark/README.md:

- answerable questions (at most MAX_ANSWERABLE, a fixed sample), each with one evidence string: the
  answer with a few words of its own sentence around it, so only a passage that really holds the
  answer contains it;
- its unanswerable questions as near-topic (SQuAD 2.0 wrote them to look answerable);
- OFF_TOPIC answerable questions of the other articles as off-topic.

Never run it on the SQuAD 2.0 *dev* set: that is reserved for judging the project.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

MAX_ANSWERABLE = 150
MAX_NEAR_TOPIC = 80
OFF_TOPIC = 40
CONTEXT_WORDS = 3  # words of the answer's own sentence kept on each side of it
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")


def slug(title: str) -> str:
    """ "Frédéric_Chopin" → "frederic-chopin"."""
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def evidence(context: str, start: int, answer: str) -> str | None:
    """The answer with up to CONTEXT_WORDS words either side of it, from its own sentence."""
    if context[start : start + len(answer)] != answer:
        return None
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(context, 0, start)), default=0)
    following = _SENTENCE_END.search(context, start + len(answer))
    sentence_end = following.start() if following else len(context)
    before = context[sentence_start:start].split()
    after = context[start + len(answer) : sentence_end].split()
    glue_before = " " if context[:start].endswith((" ", "\n")) and before else ""
    glue_after = " " if context[start + len(answer) :].startswith((" ", "\n")) and after else ""
    text = " ".join(before[-CONTEXT_WORDS:]) + glue_before + answer + glue_after
    text += " ".join(after[:CONTEXT_WORDS])
    return text.strip() or None


def convert(train: dict, out: Path, seed: int = 0) -> list[str]:
    """Write one case folder per article of `train`; returns the slugs written."""
    rng = random.Random(seed)
    articles = train["data"]
    answerable_of: list[list[dict]] = []
    for article in articles:
        rows = []
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                first = qa["answers"][0]
                found = evidence(paragraph["context"], first["answer_start"], first["text"])
                if found:
                    rows.append({"question": qa["question"].strip(), "answerable": True, "evidence": [found]})
        answerable_of.append(rows)
    written = []
    for number, article in enumerate(articles):
        name = slug(article["title"])
        folder = out / name
        (folder / "articles").mkdir(parents=True, exist_ok=True)
        title = article["title"].replace("_", " ")
        body = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        (folder / "articles" / f"{name}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        answerable = list(answerable_of[number])
        rng.shuffle(answerable)
        near = [
            {"question": qa["question"].strip(), "answerable": False, "near_topic": True}
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
            if qa.get("is_impossible")
        ]
        rng.shuffle(near)
        others = [row for other, rows in enumerate(answerable_of) if other != number for row in rows]
        off_topic = [
            {"question": row["question"], "answerable": False} for row in rng.sample(others, OFF_TOPIC)
        ]
        rows = answerable[:MAX_ANSWERABLE] + near[:MAX_NEAR_TOPIC] + off_topic
        with (folder / "questions.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        written.append(name)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    train = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    for name in convert(train, Path(argv[1])):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
