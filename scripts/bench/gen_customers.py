#!/usr/bin/env python3
"""Writes N synthetic customers in the customers.json format (one object keyed by
customerID) for scripts/bench.sh.

The output is deterministic: the same N always gives the same file, and the first
K customers of a larger file are exactly the customers of the file for N = K.
IDs are `c` plus eight digits (c00000000, c00000001, ...), so they sort in the
order they were generated. Every 1000th customer has the last name `Quennell`,
which nothing else contains: the search figure looks for it and finds 0.1%.

With --journal, writes instead the embedded store's journal of one update of
each of those customers (`{"rev":i,"put":{...}}` per line, first name changed),
for the start-up and compaction figures of the file store.
"""

import argparse
import json
import random
import sys

ID_FORMAT = "c{:08d}"
RARE_LAST_NAME = "Quennell"
RARE_EVERY = 1000

FIRST_NAMES = (
    "Ada Alan Amara Anders Aoife Beatriz Bruno Carmen Chidi Dalia Dmitri Elif "
    "Emeka Farah Felix Greta Hana Hugo Ines Ivan Jamal Jonas Kaito Karin Leila "
    "Lucas Maja Mateo Nadia Noor Oskar Priya Rafael Rosa Sami Sofia Tomas Uma "
    "Vera Wen Yara Zoltan"
).split()
LAST_NAMES = (
    "Abbott Baker Castillo Dubois Eriksen Fischer Garcia Haddad Ivanova Jensen "
    "Kowalski Larsen Moreau Nakamura Okafor Petrov Quinn Rossi Santos Tanaka "
    "Urban Varga Weber Xu Yilmaz Zhang Novak Horvat Lindqvist Mendes"
).split()


def customers(count):
    rng = random.Random(20240601)
    for index in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        if index % RARE_EVERY == RARE_EVERY - 1:
            last = RARE_LAST_NAME
        yield {"customerID": ID_FORMAT.format(index), "firstName": first, "lastName": last}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="how many customers")
    parser.add_argument("output", help="file to write ('-' for stdout)")
    parser.add_argument("--journal", action="store_true", help="write a journal of updates")
    args = parser.parse_args()
    if args.journal:
        with open(args.output, "w", encoding="utf-8") as out:
            for rev, customer in enumerate(customers(args.count), start=1):
                customer["firstName"] = "Journaled"
                out.write(json.dumps({"rev": rev, "put": customer}, separators=(",", ":")) + "\n")
        return
    records = {c["customerID"]: c for c in customers(args.count)}
    text = json.dumps(records, separators=(",", ":"))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()
