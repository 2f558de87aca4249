"""Check the follow-up sets: fields, turn counts, and that every evidence string
(4-15 words) is an exact substring of its article read as UTF-8."""

import collections
import json
import os

B = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")) + "/"
arts = {
    "philadelphia": B + "articles/philadelphia-ice-arrest-data.txt",
    "tesco-poland-sale": B + "benchmark/news/tesco-poland-sale/articles/tesco-poland-sale.txt",
    "ebola-treatments": B + "benchmark/news/ebola-treatments/articles/ebola-treatments.txt",
    "greece-eastmed-pipeline": B
    + "benchmark/news/greece-eastmed-pipeline/articles/greece-eastmed-pipeline.txt",
}
bad = 0
for n, p in arts.items():
    text = open(p, encoding="utf-8").read()
    c = collections.Counter()
    qs = set()
    for i, l in enumerate(open(f"{B}benchmark/followups/{n}.jsonl", encoding="utf-8"), 1):
        r = json.loads(l)
        k = r["kind"]
        assert set(r) == {"turns", "rewritten", "evidence", "kind"}, (n, i)
        assert 1 <= len(r["evidence"]) <= 3
        c[(k, len(r["turns"]))] += 1
        if k == "standalone":
            assert len(r["turns"]) == 2 and r["rewritten"] == r["turns"][-1], (n, i)
        else:
            assert len(r["turns"]) in (2, 3), (n, i)
        for e in r["evidence"]:
            w = len(e.split())
            if e not in text or not 4 <= w <= 15:
                bad += 1
                print("BAD", n, i, w, repr(e))
        key = tuple(r["turns"])
        if key in qs:
            print("DUP", n, i)
        qs.add(key)
    print(n, dict(c))
print("bad", bad)
