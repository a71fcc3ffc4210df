"""A seeded corpus of certificates for any type definition: valid ones and systematic mutations.

Everything is driven by the definition (FORMAT.md), so a new type gets a
corpus without code. A certificate is first built as a small model (answers
with typed values), repaired with the definition's own rules until the data
engine accepts it, then mutated: missing, repeated and unexpected answers and
sub-answers, wrong codes and code systems, bad dates and booleans, empty
texts, overlapping and reversed periods, wrong instance numbers, broken CV
structure and flipped rule conditions. The same seed gives the same corpus.

Use: ``python -m intygsgw.devtools.rules_corpus lisjp 500 --seed 1 --out DIR``.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from intygsgw import ns
from intygsgw.interactions import REGISTER_CERTIFICATE_3
from intygsgw.rules.engine import CompiledDefinition

# Count limits up to this are tried exactly and one over (m_count_boundary).
MAX_BOUNDARY = 12
RG = REGISTER_CERTIFICATE_3.namespace
GN = ns.CORE
TP = ns.TYPES
NSMAP = {"rg": RG, "gn": GN, "tp": TP}

WORDS = ("patienten", "har", "ont", "i", "ryggen", "sedan", "länge", "arbete", "vila", "behandling")
ICD_SAMPLES = ("J20", "M54", "S834", "F321", "Z730", "A09", "M751", "R52", "G43", "K35")
OID_SAMPLES = ("1.2.752.116.1.1.1.1.3", "1.2.752.116.1.3.1.4.1")
BOOLEANS = ("true", "false", "1", "0")
PERSON_ID = "191212121212"


@dataclass(frozen=True)
class Sample:
    label: str  # "valid" or the mutations applied, e.g. "drop-svar:32"
    xml: bytes  # a RegisterCertificate element


class CorpusBuilder:
    def __init__(self, definition: CompiledDefinition, seed: int = 0):
        self.definition = definition
        self.raw = definition.raw
        self.rng = random.Random(f"{definition.type_id}/{definition.major}/{seed}")
        self.svar_specs = {s["id"]: s for s in self.raw["svar"]}
        self.delsvar_specs = {d["id"]: (s["id"], d) for s in self.raw["svar"] for d in s.get("delsvar", [])}
        self.rules = self.raw.get("rule", [])
        self._period_cursor = dt.date(2020, 1, 1)

    # ------------------------------------------------------------ values

    def text(self) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(1, 5)))

    def new_delsvar(self, did: str) -> dict:
        spec = self.delsvar_specs[did][1]
        kind, rng = spec["type"], self.rng
        ds: dict[str, Any] = {"id": did, "type": kind}
        if kind == "text":
            ds["text"] = self.text()
        elif kind == "boolean":
            ds["text"] = rng.choice(BOOLEANS)
        elif kind == "date" or kind == "any":
            ds["text"] = (dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 900))).isoformat()
        elif kind == "partial_date":
            ds["text"] = rng.choice(["2020-00-00", "2020-05-00", "2020-05-17"])
        elif kind == "year":
            ds["value"] = str(rng.randint(1990, dt.date.today().year))
        elif kind == "partial_date_day":
            ds["text"] = (dt.date(1995, 1, 1) + dt.timedelta(days=rng.randint(0, 9000))).isoformat()
        elif kind == "partial_date_year":
            ds["text"] = str(rng.randint(1950, 2020))
        elif kind == "decimal":
            ds["text"] = rng.choice(["0.05", "0.1", "0.4", "0.5", "0.7", "0.8", "1.0", "1.5", "2.0", "1", "0"])
        elif kind == "period":
            start = self._period_cursor + dt.timedelta(days=rng.randint(0, 3))
            end = start + dt.timedelta(days=rng.randint(0, 40))
            self._period_cursor = end + dt.timedelta(days=1)
            ds["start"], ds["end"] = start.isoformat(), end.isoformat()
        elif kind == "boolean_or_cv" and rng.random() < 0.6:
            ds["type"] = "boolean"
            ds["text"] = rng.choice(BOOLEANS)
        elif kind in ("cv", "boolean_or_cv"):
            ds["type"] = "cv"
            ds["code"] = self.valid_code(spec)
            ds["system"] = self.valid_system(spec)
            if rng.random() < 0.3:
                ds["display"] = [ds["code"].lower()]
        elif kind == "quantity":
            n = rng.randint(int(spec.get("value_min", 0)), int(spec.get("value_max", 100)))
            candidates = [f"{n}.0", str(n), f"{n / 10:.1f}"]
            if "value_pattern" in spec:
                rx = re.compile(spec["value_pattern"])
                candidates = [c for c in candidates if rx.search(c)] or candidates
            ds["value"] = candidates[0]
            unit = spelled(spec["unit_pattern"])[0] if "unit_pattern" in spec else "procent"
            ds["unit"] = spec.get("unit", unit)
        return ds

    def valid_code(self, spec: dict) -> str:
        if "codes" in spec:
            return self.rng.choice(spec["codes"])
        if "code_pattern" in spec:
            rx = re.compile(spec["code_pattern"])
            fits = [
                c
                for c in (*ICD_SAMPLES, *spelled(spec["code_pattern"]))
                if rx.search(c) and len(c) <= int(spec.get("max_length", 99))
            ]
            if fits:
                return self.rng.choice(fits)
        return "KOD1"

    def valid_system(self, spec: dict) -> str:
        if "code_system" in spec:
            return spec["code_system"]
        if "code_system_pattern" in spec:
            rx = re.compile(spec["code_system_pattern"])
            fits = [s for s in (*OID_SAMPLES, *spelled(spec["code_system_pattern"])) if rx.search(s)]
            if fits:
                return fits[0]
        return "KV_OKAND"

    def new_svar(self, sid: str) -> dict:
        spec = self.svar_specs[sid]
        svar = {"id": sid, "instans": None, "delsvar": []}
        for ds in spec.get("delsvar", []):
            if int(ds.get("min", 0)) >= 1 or self.rng.random() < 0.5:
                svar["delsvar"].append(self.new_delsvar(ds["id"]))
        return svar

    # ------------------------------------------------------------ models

    def random_model(self) -> list[dict]:
        self._period_cursor = dt.date(2020, 1, 1) + dt.timedelta(days=self.rng.randint(0, 300))
        model = []
        for sid, spec in self.svar_specs.items():
            lo, hi = int(spec.get("min", 0)), int(spec.get("max", 1))
            n = lo if self.rng.random() < 0.4 else self.rng.randint(lo, min(hi, lo + 2))
            if n == 0 and lo == 0 and self.rng.random() < 0.5:
                n = 1
            for _ in range(n):
                model.append(self.new_svar(sid))
        return model

    def renumber(self, model: list[dict]) -> None:
        counters: dict[str, int] = {}
        for s in model:
            if self.svar_specs.get(s["id"], {}).get("instans"):
                counters[s["id"]] = counters.get(s["id"], 0) + 1
                s["instans"] = str(counters[s["id"]])

    def valid_model(self, attempts: int = 60) -> list[dict] | None:
        for _ in range(attempts):
            model = self.random_model()
            for round_no in range(30):
                self.renumber(model)
                failures = self.definition.validate(render(model).find(f"{{{RG}}}intyg"))
                if not failures:
                    return model
                self.repair(model, failures[0].rule_id, round_no)
        return None

    # ------------------------------------------------------------ repairs

    def instances(self, model, sid):
        return [s for s in model if s["id"] == sid]

    def scope_targets(self, model, scope: str) -> list:
        """The answers a rule with this scope is evaluated in (``[None]``: the whole intyg)."""
        if scope == "intyg":
            return [None]
        if scope.startswith("delsvar:"):
            return [s for s in model if any(d["id"] == scope[8:] for d in s["delsvar"])] or self.instances(
                model, self.delsvar_specs[scope[8:]][0]
            )
        return self.instances(model, scope[5:])

    def repair(self, model: list[dict], rule_id: str, round_no: int) -> None:
        rule = next((r for r in self.rules if r.get("id") == rule_id), None)
        if rule is not None:
            self.repair_rule(model, rule, round_no)
            return
        head, _, tail = rule_id.rpartition(".")
        if head in self.svar_specs:
            spec = self.svar_specs[head]
            found = self.instances(model, head)
            if tail == "count":
                hi, lo = int(spec.get("max", 1)), int(spec.get("min", 0))
                for extra in found[hi:]:
                    model.remove(extra)
                for _ in range(lo - len(found)):
                    model.append(self.new_svar(head))
            elif tail == "unique":
                did = spec["unique_code"]
                codes = list(self.delsvar_specs[did][1].get("codes", []))
                self.rng.shuffle(codes)
                for i, s in enumerate(found):
                    if i >= len(codes):
                        model.remove(s)
                        continue
                    for d in s["delsvar"]:
                        if d["id"] == did:
                            d["code"] = codes[i]
        elif head in self.delsvar_specs:
            sid, spec = self.delsvar_specs[head]
            for s in self.instances(model, sid):
                mine = [d for d in s["delsvar"] if d["id"] == head]
                if tail == "count":
                    for extra in mine[1:]:
                        s["delsvar"].remove(extra)
                    if not mine and int(spec.get("min", 0)) >= 1:
                        s["delsvar"].append(self.new_delsvar(head))
                else:
                    for d in mine:
                        d.update(self.new_delsvar(head))
        elif model:
            model.remove(self.rng.choice(model))

    def repair_rule(self, model, rule, round_no) -> None:
        kind = rule.get("kind", "implies")
        if kind == "implies":
            targets = self.scope_targets(model, rule.get("scope", "intyg"))
            for el in targets:
                if round_no % 3 == 2 and "when" in rule:
                    self.make(model, rule["when"], el, False)
                else:
                    self.make(model, rule["then"], el, True)
        elif kind == "no_overlap":
            sid, _ = self.delsvar_specs[rule["delsvar"]]
            for s in self.instances(model, sid):
                for d in s["delsvar"]:
                    if d["id"] == rule["delsvar"]:
                        d.update(self.new_delsvar(d["id"]))
        elif kind == "same_code_system":
            first, *others = rule["delsvar"]
            sid, _ = self.delsvar_specs[first]
            for s in self.instances(model, sid):
                base = next((d["system"] for d in s["delsvar"] if d["id"] == first), None)
                for d in s["delsvar"]:
                    if d["id"] in others and base is not None:
                        d["system"] = base
        elif kind in ("date_not_after", "date_after", "date_sequence", "not_later"):
            # Move the dates of the answers this rule compares onto one day, which satisfies them all.
            ids = rule.get("delsvar")
            ids = ids if isinstance(ids, list) else [ids]
            if rule.get("not_after"):
                ids = [*ids, rule["not_after"]]
            day = (dt.date(2019, 6, 1) + dt.timedelta(days=self.rng.randint(0, 300))).isoformat()
            for s in model:
                for d in s["delsvar"]:
                    if d["id"] in ids and d.get("type") in ("date", "any"):
                        d["text"] = day
            if kind == "date_after":
                for s in model:
                    for d in s["delsvar"]:
                        if d["id"] == ids[1]:
                            d["text"] = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
        elif kind == "sequential_instans":
            self.renumber(model)
        elif kind == "within_life":
            for s in model:
                for d in s["delsvar"]:
                    if d["id"] == rule["delsvar"]:
                        d.update(self.new_delsvar(d["id"]))
        elif kind == "exclusive_code":
            sid, _ = self.delsvar_specs[rule["delsvar"]]
            for s in self.instances(model, sid):
                if any(d.get("code") == rule["code"] for d in s["delsvar"]):
                    model.remove(s)
                    break

    def scope_delsvar(self, model, did, el, create: bool) -> list[dict]:
        sid, _ = self.delsvar_specs[did]
        holders = [el] if el is not None else self.instances(model, sid)
        if not holders and create:
            holder = self.new_svar(sid)
            model.append(holder)
            holders = [holder]
        found = [d for h in holders for d in h["delsvar"] if d["id"] == did]
        if not found and create and holders:
            d = self.new_delsvar(did)
            holders[0]["delsvar"].append(d)
            found = [d]
        return found

    def make(self, model, cond: dict, el, truth: bool) -> None:
        """Change the model so that ``cond`` holds (``truth``) or does not."""
        if "not" in cond:
            self.make(model, cond["not"], el, not truth)
            return
        if "any" in cond or "all" in cond:
            parts = cond.get("any") or cond.get("all")
            conj = "all" in cond
            if conj == truth:
                for p in parts:
                    self.make(model, p, el, truth)
            else:
                self.make(model, self.rng.choice(parts), el, truth)
            return
        if any(k in cond for k in ("count", "min", "max")):
            lo = int(cond.get("count", cond.get("min", 0)))
            hi = int(cond.get("count", cond.get("max", lo + 2)))
            n = self.rng.randint(lo, min(hi, lo + 1)) if truth else (0 if lo > 0 else hi + 1)
            if "svar" in cond:
                found = self.instances(model, cond["svar"])
                for extra in found[n:]:
                    model.remove(extra)
                for _ in range(n - len(found)):
                    model.append(self.new_svar(cond["svar"]))
                self.renumber(model)
            else:
                did = cond["delsvar"]
                sid, _ = self.delsvar_specs[did]
                holders = [el] if el is not None else self.instances(model, sid)
                for h in holders:
                    h["delsvar"] = [d for d in h["delsvar"] if d["id"] != did]
                if n and not holders:
                    holders = [self.new_svar(sid)]
                    holders[0]["delsvar"] = [d for d in holders[0]["delsvar"] if d["id"] != did]
                    model.append(holders[0])
                for _ in range(n):
                    holders[0]["delsvar"].append(self.new_delsvar(did))
            return
        if "svar" in cond:
            present = not cond.get("absent")
            if present == truth:
                if not self.instances(model, cond["svar"]):
                    model.append(self.new_svar(cond["svar"]))
            else:
                for s in self.instances(model, cond["svar"]):
                    model.remove(s)
            return
        did = cond["delsvar"]
        spec = self.delsvar_specs[did][1]
        if "code_matches" in cond or "code_not_matches" in cond:
            rx = re.compile(cond.get("code_matches", cond.get("code_not_matches")))
            want_match = truth == ("code_matches" in cond)
            literals = [x.strip("^$") for x in rx.pattern.split("|")]
            base = spec.get("codes") or spelled(spec.get("code_pattern", ""))
            pool = [
                c
                for c in (*base, *literals, "KOD1")
                if c and re.fullmatch(r"[\w.]+", c) and bool(rx.search(c)) == want_match
            ]
            for d in self.scope_delsvar(model, did, el, True):
                if pool and d.get("type") == "cv":
                    d["code"] = self.rng.choice(pool)
            return
        if "absent" in cond or not any(
            k in cond for k in ("codes", "not_codes", "matches", "not_matches", "less_than", "at_least")
        ):
            present = not cond.get("absent")
            if present == truth:
                self.scope_delsvar(model, did, el, True)
            else:
                sid, _ = self.delsvar_specs[did]
                for h in [el] if el is not None else self.instances(model, sid):
                    h["delsvar"] = [d for d in h["delsvar"] if d["id"] != did]
            return
        if "codes" in cond or "not_codes" in cond:
            listed = set(cond.get("codes", cond.get("not_codes")))
            want_listed = truth == ("codes" in cond)
            pool = [c for c in spec.get("codes", []) if (c in listed) == want_listed]
            for d in self.scope_delsvar(model, did, el, True):
                if pool:
                    d["code"] = self.rng.choice(pool)
            return
        if "less_than" in cond or "at_least" in cond:
            high, low = float(cond.get("less_than", "inf")), float(cond.get("at_least", "-inf"))
            pool = [
                v
                for v in ("0.05", "0.1", "0.4", "0.5", "0.7", "0.8", "1.0", "1.5")
                if (low <= float(v) < high) == truth
            ]
            for d in self.scope_delsvar(model, did, el, True):
                if pool:
                    d["text"] = self.rng.choice(pool)
            return
        rx = re.compile(cond.get("matches", cond.get("not_matches")))
        want_match = truth == ("matches" in cond)
        if spec["type"] == "cv":
            # A pattern on a CV's text: use its literal alternatives as codes (or a code matching none).
            literals = [x for x in rx.pattern.split("|") if re.fullmatch(r"[\w.]+", x)]
            pool = literals if want_match else ["KOD1"]
            for d in self.scope_delsvar(model, did, el, True):
                if pool and d.get("type") == "cv":
                    d["code"] = self.rng.choice(pool)
            return
        pool = [b for b in BOOLEANS if bool(rx.search(b)) == want_match]
        for d in self.scope_delsvar(model, did, el, True):
            if pool:
                d["text"] = self.rng.choice(pool)

    # ------------------------------------------------------------ mutations

    def mutate(self, model: list[dict]) -> tuple[str, list[dict]]:
        m = copy.deepcopy(model)
        rng = self.rng
        ops = [
            self.m_drop_svar,
            self.m_repeat_svar,
            self.m_unexpected_svar,
            self.m_drop_delsvar,
            self.m_repeat_delsvar,
            self.m_unexpected_delsvar,
            self.m_bad_value,
            self.m_bad_value,
            self.m_wrong_code,
            self.m_wrong_system,
            self.m_bad_instans,
            self.m_overlap,
            self.m_flip,
            self.m_flip,
            self.m_add_optional,
            self.m_whitespace,
            self.m_shift_date,
            self.m_move_delsvar,
            self.m_count_boundary,
        ]
        labels = []
        for _ in range(1 if rng.random() < 0.75 else 2):
            labels.append(rng.choice(ops)(m))
        # Loose rule sets (AF00251) accept most single mutations; stacking further ones on
        # two thirds of the accepted ones keeps the corpus from being mostly valid, while
        # the rest still tests that harmless changes are accepted.
        for _ in range(3):
            if rng.random() < 1 / 3 or self.definition.validate(render(m).find(f"{{{RG}}}intyg")):
                break
            labels.append(rng.choice(ops)(m))
        return "+".join(labels), m

    def pick_delsvar(self, m, kinds=None):
        pool = [(s, d) for s in m for d in s["delsvar"] if kinds is None or d.get("type") in kinds]
        return rng_choice(self.rng, pool) or (None, None)

    def m_drop_svar(self, m):
        if not m:
            return "noop"
        s = self.rng.choice(m)
        m.remove(s)
        return f"drop-svar:{s['id']}"

    def m_repeat_svar(self, m):
        if not m:
            return "noop"
        s = self.rng.choice(m)
        m.insert(m.index(s) + 1, copy.deepcopy(s))
        if self.rng.random() < 0.5:
            self.renumber(m)
        return f"repeat-svar:{s['id']}"

    def m_count_boundary(self, m):
        """As many answers to a question as a count limit allows, or one more.

        A random repeat adds one answer, so a limit above two (AF00251 allows
        'Sjukfrånvaro' four times) was only reached by hand-written tests.
        New answers rather than copies, so their periods do not overlap and
        the count is what decides.
        """
        limits = [
            (sid, int(spec["max"]))
            for sid, spec in self.svar_specs.items()
            if 1 < int(spec.get("max", 1)) <= MAX_BOUNDARY
        ]
        limits += [
            (r["then"]["svar"], int(r["then"]["max"]))
            for r in self.rules
            if isinstance(r.get("then"), dict)
            and "svar" in r["then"]
            and "max" in r["then"]
            and r["then"]["svar"] in self.svar_specs
            and int(r["then"]["max"]) <= MAX_BOUNDARY
        ]
        if not limits:
            return "noop"
        sid, limit = self.rng.choice(sorted(limits))
        want = limit + (self.rng.random() < 0.5)
        have = [s for s in m if s["id"] == sid]
        for extra in have[want:]:
            m.remove(extra)
        for _ in range(want - len(have)):
            m.append(self.new_svar(sid))
        self.renumber(m)
        return f"count-boundary:{sid}={want}"

    def m_unexpected_svar(self, m):
        sid = self.rng.choice(["2", "99", "1000", "abc", "9001", "9002"])
        m.append({"id": sid, "instans": None, "delsvar": [{"id": f"{sid}.1", "type": "text", "text": self.text()}]})
        return f"unexpected-svar:{sid}"

    def m_drop_delsvar(self, m):
        s, d = self.pick_delsvar(m)
        if d is None:
            return "noop"
        s["delsvar"].remove(d)
        return f"drop-delsvar:{d['id']}"

    def m_repeat_delsvar(self, m):
        s, d = self.pick_delsvar(m)
        if d is None:
            return "noop"
        s["delsvar"].append(copy.deepcopy(d))
        return f"repeat-delsvar:{d['id']}"

    def m_move_delsvar(self, m):
        """A sub-answer filed under another question: rules that look at the parent answer see it there."""
        s, d = self.pick_delsvar(m)
        others = [t for t in m if s is not None and t["id"] != s["id"]]
        if d is None or not others:
            return "noop"
        s["delsvar"].remove(d)
        self.rng.choice(others)["delsvar"].append(d)
        return f"move-delsvar:{d['id']}"

    def m_unexpected_delsvar(self, m):
        if not m:
            return "noop"
        s = self.rng.choice(m)
        s["delsvar"].append({"id": f"{s['id']}.9", "type": "text", "text": self.text()})
        return f"unexpected-delsvar:{s['id']}.9"

    def m_add_optional(self, m):
        sid = self.rng.choice(list(self.svar_specs))
        m.append(self.new_svar(sid))
        self.renumber(m)
        return f"add-svar:{sid}"

    def m_bad_value(self, m):
        _s, d = self.pick_delsvar(m)
        if d is None:
            return "noop"
        kind, rng = d["type"], self.rng
        if kind in ("text",):
            d["text"] = rng.choice(["", "   ", None])
            if rng.random() < 0.3:
                d["child"] = True
        elif kind == "boolean":
            d["text"] = rng.choice(["ja", "TRUE", "", "yes", "2", " true "])
        elif kind in ("date", "any", "partial_date"):
            d["text"] = rng.choice(
                [
                    "2020-13-01",
                    "2021-02-29",
                    "20200101",
                    " 2020-01-01",
                    "2020-1-1",
                    "2020-01-01Z",
                    "2020-01-01T10:00:00",
                    "",
                    "2020-06-31",
                    "2024-02-29",
                ]
            )
        elif kind == "decimal":
            d["text"] = rng.choice(["2.5", "-3", "-1.5", "abc", "1,5", "1e0", "", " 0.5 ", "INF", ".5", "2.00"])
            if rng.random() < 0.2:
                d["child"] = True
        elif kind in ("partial_date_day", "partial_date_year"):
            choice = rng.randrange(4)
            if choice == 0:
                d["text"] = rng.choice(
                    [
                        "2020-13-01",
                        "2021-02-29",
                        "20200101",
                        " 2020-01-01",
                        "2020-1-1",
                        "2020-01-01Z",
                        "",
                        "2020",
                        "20",
                        " 1999",
                        "1999-05",
                        "2099-01-01",
                    ]
                )
            elif choice == 1:
                d["text"] = rng.choice(["1900", "1912", "1911", "1912-12-11", "1912-12-12", "2099", "2090-06-01"])
            elif choice == 2:
                d["values"] = 2
            else:
                d["no_partial"] = True
        elif kind == "period":
            choice = rng.randrange(4)
            if choice == 0:
                d["start"], d["end"] = d["end"], d["start"]
            elif choice == 1:
                d["end"] = rng.choice(["2020-02-30", "", "2020/01/01"])
            elif choice == 2:
                d["start"] = None
            else:
                d["no_period"] = True
        elif kind == "cv":
            choice = rng.randrange(4)
            if choice == 0:
                d["system"] = None
            elif choice == 1:
                d["code"] = None
            elif choice == 2:
                d["display"] = ["a", "b"]
            else:
                d["no_cv"] = True
        elif kind == "year":
            choice = rng.randrange(3)
            if choice == 0:
                d["value"] = rng.choice(["20", "abcd", "2999", "", "2020-01", " 2020", "20201", "2020 "])
            elif choice == 1:
                d["value"] = None
            else:
                d["no_partial_date"] = True
        elif kind == "quantity":
            choice = rng.randrange(3)
            if choice == 0:
                d["value"] = rng.choice(["abc", "", "1,5", "101.0", "50", " 50.0"])
            elif choice == 1:
                d["unit"] = None
            else:
                d["no_pq"] = True
        return f"bad-value:{d['id']}"

    def m_wrong_code(self, m):
        _s, d = self.pick_delsvar(m, ("cv",))
        if d is None:
            return "noop"
        d["code"] = self.rng.choice(["FEL_KOD", "undersokning", "X1", "F32", "Z73", "A0000001", "B9"])
        return f"wrong-code:{d['id']}"

    def m_wrong_system(self, m):
        _s, d = self.pick_delsvar(m, ("cv",))
        if d is None:
            return "noop"
        d["system"] = self.rng.choice(
            ["KV_FKMU_9999", " " + (d.get("system") or ""), "1.2.752.116.1.1.1.1.4", "1.2.752.116.1.3.1.4.1"]
        )
        return f"wrong-system:{d['id']}"

    def m_bad_instans(self, m):
        with_instans = [s for s in m if s.get("instans")]
        s = rng_choice(self.rng, with_instans)
        if s is None:
            s = rng_choice(self.rng, m)
            if s is None:
                return "noop"
        s["instans"] = self.rng.choice(["0", "-1", "abc", None, "2 ", "1e3"])
        if self.rng.random() < 0.2:
            s["instans2"] = True
        return f"bad-instans:{s['id']}"

    def m_overlap(self, m):
        periods = [(s, d) for s in m for d in s["delsvar"] if d["type"] == "period"]
        if len(periods) < 2:
            s, d = rng_choice(self.rng, periods) or (None, None)
            if d is None:
                return "noop"
            m.insert(m.index(s) + 1, copy.deepcopy(s))
            return f"overlap-copy:{d['id']}"
        (_, a), (_, b) = self.rng.sample(periods, 2)
        b["start"] = a["start"]
        return f"overlap:{b['id']}"

    def m_flip(self, m):
        rules = [r for r in self.rules if r.get("kind", "implies") == "implies" and "when" in r]
        if not rules:
            return "noop"
        rule = self.rng.choice(rules)
        scope = rule.get("scope", "intyg")
        el = None
        if scope != "intyg":
            el = rng_choice(self.rng, self.scope_targets(m, scope))
            if el is None:
                return "noop"
        self.make(m, rule["when"], el, True)
        self.renumber(m)
        return f"flip:{rule['id']}"

    def m_shift_date(self, m):
        """Another valid date, possibly in the future: exercises the rules that order dates."""
        _s, d = self.pick_delsvar(m, ("date", "any", "period", "partial_date_day", "partial_date_year", "year"))
        if d is None:
            return "noop"
        day = dt.date(2018, 1, 1) + dt.timedelta(days=self.rng.randint(0, 3650))
        if d["type"] == "year":
            # Around this year: "not after this year" rules (TSTRK1062 R13/R14) hold on one side only.
            d["value"] = str(dt.date.today().year + self.rng.choice([-1, 0, 1, 2]))
        elif d["type"] == "period":
            d["end"] = day.isoformat()
        elif d["type"] == "partial_date_year":
            d["text"] = str(day.year + self.rng.choice([-110, -100, 0, 0, 5]))
        else:
            d["text"] = day.isoformat()
        return f"shift-date:{d['id']}"

    def m_whitespace(self, m):
        _s, d = self.pick_delsvar(m, ("cv", "boolean"))
        if d is None:
            return "noop"
        if d["type"] == "cv" and d.get("code"):
            d["code"] = f"  {d['code']}\n"
        elif d.get("text"):
            d["text"] = f" {d['text']} "
        return f"whitespace:{d['id']}"

    # ------------------------------------------------------------ the corpus

    def samples(self, count: int, valid_share: float = 0.25) -> Iterator[Sample]:
        bases: list[list[dict]] = []
        while len(bases) < 8:
            model = self.valid_model()
            if model is None:
                raise RuntimeError(f"could not build a valid {self.raw['type']} certificate from its definition")
            bases.append(model)
        for i in range(count):
            base = bases[i % len(bases)] if i < len(bases) else self.rng.choice(bases)
            if i < len(bases) or self.rng.random() < valid_share:
                model = self.valid_model() if i >= len(bases) else base
                label = "valid"
                if model is None:
                    model, label = base, "valid"
            else:
                label, model = self.mutate(base)
            yield Sample(label, etree.tostring(render(model)))


def spelled(pattern: str) -> list[str]:
    """The literal alternatives a simple pattern spells out (``'^(A|B)$'`` gives A and B)."""
    return re.sub(r"[\^$()\\]", "", pattern).split("|")


def rng_choice(rng: random.Random, pool: list):
    return rng.choice(pool) if pool else None


def generate(definition: CompiledDefinition, count: int, seed: int = 0) -> list[Sample]:
    return list(CorpusBuilder(definition, seed).samples(count))


# ------------------------------------------------------------------ rendering


def _el(parent, ns: str, name: str, text: str | None = None):
    e = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        e.text = text
    return e


def render(model: list[dict]) -> etree._Element:
    root = etree.Element(f"{{{RG}}}RegisterCertificate", nsmap=NSMAP)
    intyg = _el(root, RG, "intyg")
    iid = _el(intyg, GN, "intygs-id")
    _el(iid, TP, "root", "1.2.3")
    _el(iid, TP, "extension", "corpus-1")
    _el(intyg, GN, "version", "1.0")
    _el(intyg, GN, "signeringstidpunkt", "2021-06-01T10:00:00")
    patient = _el(intyg, GN, "patient")
    pid = _el(patient, GN, "person-id")
    _el(pid, TP, "root", "1.2.752.129.2.1.3.1")
    _el(pid, TP, "extension", PERSON_ID)
    for s in model:
        svar = _el(intyg, GN, "svar")
        svar.set("id", s["id"])
        if s.get("instans") is not None:
            _el(svar, GN, "instans", s["instans"])
        if s.get("instans2"):
            _el(svar, GN, "instans", "1")
        for d in s["delsvar"]:
            _render_delsvar(_el(svar, GN, "delsvar"), d)
    return root


def _render_delsvar(el, d: dict) -> None:
    el.set("id", d["id"])
    kind = d["type"]
    if kind in ("text", "boolean", "date", "partial_date", "any", "decimal"):
        el.text = d.get("text")
        if d.get("child"):
            _el(el, TP, "extra", "x")
    elif kind in ("partial_date_day", "partial_date_year"):
        if d.get("no_partial"):
            el.text = d.get("text")
            return
        p = _el(el, TP, "partialDate")
        _el(p, TP, "format", "YYYY" if kind == "partial_date_year" else "YYYY-MM-DD")
        for _ in range(d.get("values", 1)):
            _el(p, TP, "value", d.get("text"))
    elif kind == "period":
        if d.get("no_period"):
            el.text = d.get("start")
            return
        p = _el(el, TP, "datePeriod")
        if d.get("start") is not None:
            _el(p, TP, "start", d["start"])
        if d.get("end") is not None:
            _el(p, TP, "end", d["end"])
    elif kind == "cv":
        if d.get("no_cv"):
            el.text = d.get("code")
            return
        cv = _el(el, TP, "cv")
        if d.get("code") is not None:
            _el(cv, TP, "code", d["code"])
        if d.get("system") is not None:
            _el(cv, TP, "codeSystem", d["system"])
        for name in d.get("display", ()):
            _el(cv, TP, "displayName", name)
    elif kind == "year":
        if d.get("no_partial_date"):
            el.text = d.get("value")
            return
        pd = _el(el, TP, "partialDate")
        _el(pd, TP, "format", "YYYY")
        if d.get("value") is not None:
            _el(pd, TP, "value", d["value"])
    elif kind == "quantity":
        if d.get("no_pq"):
            el.text = d.get("value")
            return
        pq = _el(el, TP, "pq")
        _el(pq, TP, "value", d.get("value"))
        if d.get("unit") is not None:
            _el(pq, TP, "unit", d["unit"])


def main(argv: list[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    from intygsgw.rules.catalog import DEFAULT_DIR
    from intygsgw.rules.definitions import load_definition

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("type")
    parser.add_argument("count", type=int)
    parser.add_argument("--major", default="1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", default=str(DEFAULT_DIR))
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    definition = load_definition(Path(args.dir) / args.type / f"v{args.major}.toml")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, sample in enumerate(generate(definition, args.count, args.seed)):
        (out / f"{i:05d}-{re.sub(r'[^A-Za-z0-9.+-]', '_', sample.label)[:80]}.xml").write_bytes(sample.xml)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
