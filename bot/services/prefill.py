"""`/presales demo kubernetes for Acme Tue 3pm`: the free text after the command, read into a
pre-filled request form. Never raises: what it cannot read stays for the person to fill in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from bot.errors import InvalidInput
from bot.services.dates import parse_when
from bot.services.requests import ACCOUNT_MAX
from models import RequestKind, Urgency

_KIND_WORDS = {
    "demo": RequestKind.DEMO,
    "demonstration": RequestKind.DEMO,
    "discovery": RequestKind.DISCOVERY,
    "deep-dive": RequestKind.DISCOVERY,
    "deepdive": RequestKind.DISCOVERY,
    "technical": RequestKind.DISCOVERY,
    "poc": RequestKind.POC,
    "pov": RequestKind.POC,
    "pilot": RequestKind.POC,
    "rfp": RequestKind.RFP,
    "rfi": RequestKind.RFP,
    "questionnaire": RequestKind.RFP,
    "security-questionnaire": RequestKind.RFP,
    "question": RequestKind.QUESTION,
    "ad-hoc": RequestKind.QUESTION,
    "adhoc": RequestKind.QUESTION,
}
_URGENT_WORDS = {"urgent", "asap", "urgently"}


@dataclass
class Prefill:
    kind: str | None = None
    skills: list[str] = field(default_factory=list)
    account: str = ""
    when: datetime | None = None
    urgency: str = Urgency.NORMAL.value
    leftover: str = ""


def parse_prefill(text: str, *, known_skills: Sequence[str], tz: str | None, now: datetime) -> Prefill:
    """`demo kubernetes for Acme Tue 3pm` -> kind demo, skills [kubernetes], account Acme,
    when = next Tuesday 15:00 in ``tz``. Never raises: what it cannot read stays for the modal."""
    out = Prefill()
    text = (text or "").strip()[:500]
    if not text:
        return out
    words = text.split()
    rest: list[str] = []
    lowered_text = " " + " ".join(w.lower() for w in words) + " "
    # Multi-word skills first (longest name wins), matched on word boundaries.
    for name in sorted(known_skills, key=len, reverse=True):
        if f" {name} " in lowered_text and name not in out.skills:
            out.skills.append(name)
            lowered_text = lowered_text.replace(f" {name} ", " \x00 ", 1)
    mapped = _align(words, out.skills)
    account_words: list[str] = []
    in_account = False
    for lower, original_word in mapped:
        if lower == "\x00":
            in_account = False
            continue
        bare = lower.strip(",.;:!")
        if out.kind is None and bare in _KIND_WORDS:
            out.kind = _KIND_WORDS[bare].value
            in_account = False
            continue
        if bare in _URGENT_WORDS:
            out.urgency = Urgency.URGENT.value
            continue
        if bare == "for" and not account_words:
            in_account = True
            continue
        if bare in {"with", "about", "on", "at", "by"}:
            in_account = False
            if bare in {"with", "about"}:
                continue
        if in_account:
            account_words.append(original_word)
        else:
            rest.append(original_word)
    # The date is the longest run of words (in the account part, then the rest) that parses.
    spans = [(span, source) for source in (account_words, rest) if (span := _date_span(source, tz=tz, now=now))]
    if spans:
        (start, end, out.when), source = max(spans, key=lambda item: item[0][1] - item[0][0])
        del source[start:end]
    out.account = " ".join(account_words).strip(" ,.;:")[:ACCOUNT_MAX]
    out.leftover = " ".join(rest).strip()
    return out


_DATEISH = re.compile(
    r"\b(today|tomorrow|(mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\b"
    r"|\d\s*(am|pm)\b|\d:\d\d|\d{4}-\d\d?-\d\d?|\d\d?/\d\d?",
    re.I,
)


def _date_span(words: list[str], *, tz: str | None, now: datetime) -> tuple[int, int, datetime] | None:
    words = words[:30]
    for size in range(min(len(words), 6), 0, -1):
        for start in range(0, len(words) - size + 1):
            chunk = " ".join(words[start : start + size])
            if not _DATEISH.search(chunk):
                continue
            try:
                moment = parse_when(chunk, tz=tz, now=now).at
            except InvalidInput:
                continue
            if moment >= now:
                return start, start + size, moment
    return None


def _align(words: list[str], skills: list[str]) -> list[tuple[str, str]]:
    """Pair each word (lower, original), replacing each matched multi-word skill by one marker."""
    out: list[tuple[str, str]] = []
    lowered = [w.lower() for w in words]
    i = 0
    remaining = list(skills)
    while i < len(words):
        hit = None
        for name in remaining:
            parts = name.split()
            if lowered[i : i + len(parts)] == parts:
                hit = name
                break
        if hit:
            remaining.remove(hit)
            out.append(("\x00", hit))
            i += len(hit.split())
        else:
            out.append((lowered[i], words[i]))
            i += 1
    return out
