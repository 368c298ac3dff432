"""Property-based fuzzing (hypothesis): arbitrary text, unicode, control characters and sizes up
to 10 KB thrown at the parsers, at every modal submission and at `/presales <text>`.

RELIABILITY cases covered:
- 14: a view_submission with missing, junk or oversized fields answers ``response_action: errors``
  (inline, on blocks the modal really has) or a readable error view — never a 500 — and writes
  nothing;
- 15: slash-command text with SQL / shell metacharacters, mrkdwn, control characters or 10 KB of
  junk is only data: 200, no traceback, nothing stored unless the command said it did something.

The parsers are pure functions and get hundreds of examples; the HTTP properties drive the real
app through the harness (signed requests, FakeSlack, whose Block Kit contract checks fail the test
at teardown if any junk made the app send Slack something invalid) with a few dozen examples each.
No example database is written (``database=None``); a failure prints its reproduction blob.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from bot import clock
from bot.errors import InvalidInput
from bot.services import dates, directory, directory_csv, people
from bot.services.fields import storable
from bot.services.prefill import Prefill, parse_prefill
from bot.services.requests import DURATIONS
from bot.services.skills import MAX_SKILLS_PER_EXPERT, normalize_skill, parse_skill_list
from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks import forms, notices, request_modal
from bot.slack.ids import Action, Field, View
from bot.slack.payloads import request_modal_metadata
from models import (
    BriefEdit,
    FollowUp,
    Offer,
    Person,
    Request,
    RequestKind,
    RequestStatus,
)
from tests.fakes import signing
from tests.harness import ADMIN, AE, TEAM, Harness

E1 = "U0EXP1"
E2 = "U0EXP2"

_BASE = dict(deadline=None, database=None, print_blob=True,
             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                    HealthCheck.data_too_large, HealthCheck.filter_too_much])
PURE = settings(max_examples=300, **_BASE)
# On PostgreSQL (the second pass of .ci/run) fewer examples: the database-specific part (column
# lengths, transactions) shows in a few; the parsers are covered by the SQLite pass.
HTTP = settings(max_examples=12 if os.environ.get("TEST_DATABASE_URL") else 40, **_BASE)

# ---------------------------------------------------------------------------- junk

NASTY = [
    "<!channel>", "<!here|here>", "<!everyone>", "<!subteam^S1>", "<@U0ADMIN>", "<https://evil.example|CRM>",
    "'; DROP TABLE requests; --", "\" OR 1=1 --", "1; DELETE FROM people", "$(rm -rf /)", "`reboot`", "| cat /etc/passwd",
    "%s%s%s%n", "{0}{1}{__class__}", "${jndi:ldap://x}", "\x00", "a\x00b", "\x1b[31mred", "\u202eevil", "\ufeff",
    "\u200b", "𝕏" * 64, "🎉" * 300, "a\r\nb", "\t\t", "&amp;&lt;&gt;", "null", "None", "NaN", "-inf", "1e309", "-0",
    "９", "٣", "0x10", "2026-02-30", "25:99", "Dec 33", "tomorrow 99pm", "*bold* _it_ ~s~ `c`\n> quote",
    "kubernetes:expert, " * 200, ":" * 50, ",,,;;;\n\n", "U0AE", "user,skills\nU0X,k8s", "\\", "\"", "'", " ",
]
_CHARS = st.characters(codec="utf-8")  # every code point but surrogates, control characters included


def _sized(draw_len: st.SearchStrategy[int], alphabet: str) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(alphabet), draw_len).map(lambda pair: pair[0] * pair[1])


JUNK = st.one_of(
    st.text(_CHARS, max_size=80),
    st.text(_CHARS, min_size=200, max_size=3500),
    st.sampled_from(NASTY),
    _sized(st.integers(1000, 10_000), "x <\n0,é"),  # sizes up to 10 KB
    _sized(st.integers(500, 2500), "🎉\x00𝕏"),  # up to 10 KB in UTF-8
    st.lists(st.sampled_from(NASTY), min_size=2, max_size=30).map(" ".join),
).filter(lambda s: "Traceback" not in s and 'File "' not in s)

JSON_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


EPOCH = st.one_of(st.none(), st.integers(-2**63, 2**63), st.floats(allow_nan=False), st.text(max_size=12),
                  st.booleans())
FUTURE_DATE = st.integers(8, 400).map(lambda d: (datetime(2026, 11, 23) + timedelta(days=d)).date().isoformat())

# ---------------------------------------------------------------------------- what people must never see

_TRACE = re.compile(r'Traceback|File "')


def _strings(node):
    """Every string inside a call's parameters, JSON-in-strings (blocks, view) decoded."""
    if isinstance(node, str):
        stripped = node.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                yield from _strings(json.loads(node))
                return
            except ValueError:
                pass
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "token":
                yield from _strings(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _strings(value)


def assert_answered_cleanly(h: Harness, reply, mark: int, *, statuses=(200,)) -> None:
    """200 (never 500), and no traceback in the answer nor in anything the app sent Slack since."""
    assert reply.status in statuses, (reply.status, reply.body[:500])
    assert not _TRACE.search(reply.body), reply.body[:2000]
    for call in h.slack.calls[mark:]:
        for text in _strings(call.params):
            assert not _TRACE.search(text), f"{call.method} carried a traceback: {text[:2000]}"


def count(h: Harness, model, *where) -> int:
    with h.db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def block_ids(view) -> set[str]:
    """The block ids of a modal (a slack_sdk View or its dict): the only keys Slack accepts in
    ``response_action: errors``."""
    blocks = view["blocks"] if isinstance(view, dict) else [b.to_dict() for b in view.blocks]
    return {str(b["block_id"]) for b in blocks if b.get("block_id")}


# ---------------------------------------------------------------------------- (a) the parsers

ZONES = st.sampled_from([None, "", "UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham",
                         "Not/AZone", "../../etc/passwd"])
NOW = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(tzinfo=timezone.utc))
SKILL_NAMES = ["kubernetes", "security", "machine learning", "c++", "go", "ci/cd", "a", "k8s & helm"]


@pytest.mark.db_agnostic
@PURE
@given(text=st.one_of(JUNK, st.text(_CHARS), st.lists(st.sampled_from(
    ["demo", "poc", "rfp", "urgent", "for", "Acme", "Tue", "3pm", "tomorrow", "Dec", "3", "machine", "learning",
     "kubernetes", "with", "at", "2026-12-01", "10:30", "25:00", "next", "by"]), max_size=40).map(" ".join)),
       skills=st.lists(st.one_of(st.sampled_from(SKILL_NAMES), st.text(_CHARS, max_size=30)), max_size=12),
       tz=ZONES, now=NOW)
def test_parse_prefill_never_raises(text, skills, tz, now):
    """RELIABILITY 15: whatever follows `/presales`, the prefill parser returns a Prefill whose parts
    fit the form (never raises; the account is clipped; the date is never in the past)."""
    prefill = parse_prefill(text, known_skills=skills, tz=tz, now=now)
    assert isinstance(prefill, Prefill)
    assert len(prefill.account) <= 200 and len(prefill.leftover) <= 500
    assert prefill.kind is None or prefill.kind in {k.value for k in RequestKind}
    assert set(prefill.skills) <= set(skills)
    assert prefill.when is None or prefill.when >= now


@pytest.mark.db_agnostic
@PURE
@given(text=st.one_of(JUNK, st.text(_CHARS, max_size=100), st.lists(st.sampled_from(
    ["Dec", "3", "Tue", "3pm", "tomorrow", "today", "at", "until", "2026-12-03", "15:00", "noon", "midnight", "+0200",
     "EST", "99", "1e9", "2999", "0", "Feb", "29", "next", "week"]), max_size=8).map(" ".join)),
       tz=ZONES, now=NOW)
def test_parse_when_raises_only_invalid_input(text, tz, now):
    """RELIABILITY 15: a date typed by a person either parses to an aware UTC moment or raises
    InvalidInput with a readable sentence — no ValueError, OverflowError or TypeError escapes."""
    try:
        parsed = dates.parse_when(text, tz=tz, now=now)
    except InvalidInput as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert parsed.at.tzinfo is not None and parsed.at.utcoffset() == timedelta(0)


@pytest.mark.db_agnostic
@PURE
@given(text=st.one_of(JUNK, st.lists(st.tuples(st.sampled_from(SKILL_NAMES + ["", " ", "<!here>", "x" * 41]),
                                                st.sampled_from(["", ":expert", ":learning", ":pro", ":guru", ":", "::"])),
                                      max_size=40).map(lambda items: ", ".join(a + b for a, b in items))))
def test_parse_skill_list_raises_only_invalid_input(text):
    """RELIABILITY 15: a skill list is either clean (normalized names, real levels, at most 30) or
    InvalidInput whose message never echoes mrkdwn that could ping."""
    try:
        skills = parse_skill_list(text)
    except InvalidInput as exc:
        assert "<!" not in str(exc) and "<@" not in str(exc)
        return
    assert 1 <= len(skills) <= MAX_SKILLS_PER_EXPERT
    for name, level in skills:
        assert name == normalize_skill(name)
        assert level in directory.SkillLevel


@pytest.mark.db_agnostic
@PURE
@given(raw=st.one_of(JUNK, st.text(_CHARS, max_size=500), st.binary(max_size=300).map(
    lambda b: b.decode("latin-1"))))
def test_parse_directory_csv_never_raises_on_junk(raw):
    """RELIABILITY 14/15: any file content, as `presales-bot directory import` reads it (text mode:
    universal newlines), gives a report; every problem names a line of the file."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    report = directory_csv.parse_directory_csv(raw)
    lines = raw.count("\n") + 1
    for error in report.errors:
        match = re.match(r"line (\d+): ", error)
        assert match, error
        assert 1 <= int(match.group(1)) <= lines + 1, (error, lines)


@pytest.mark.db_agnostic
@pytest.mark.parametrize("text, tz", [("9999-12-31 23:00", "America/New_York"), ("Dec 31 9999 11pm", "America/Los_Angeles"),
                                      ("0001-01-01 00:30", "Asia/Tokyo")])
def test_dates_at_the_edge_of_the_calendar_are_invalid_input(text, tz):
    """RELIABILITY 15: `/presales away until 9999-12-31 23:00` must read "not a date I can use",
    not "Something went wrong" with an error logged; the prefill parser must not raise either."""
    now = datetime(2026, 11, 23, 15, tzinfo=timezone.utc)
    parse_prefill(f"demo for Acme {text}", known_skills=[], tz=tz, now=now)
    with pytest.raises(InvalidInput):
        dates.parse_when(text, tz=tz, now=now)


@pytest.mark.db_agnostic
def test_csv_with_a_bare_carriage_return_is_reported_not_raised():
    report = directory_csv.parse_directory_csv("user,skills\nU0KATE,kubernetes\rsecurity\n")
    assert report.rows or report.errors


GOOD_ROW = st.tuples(st.sampled_from(["kubernetes:expert", "security", "go:learning, c++"]),
                     st.sampled_from(["", "1", "50"]), st.sampled_from(["", "Europe/Berlin", "UTC"]))
BAD_ROW = st.one_of(
    st.tuples(st.just("bad-user"), st.just("kubernetes"), st.just(""), st.just("")),
    st.tuples(st.just("user"), st.sampled_from(["", "<!here>:expert", "k8s:guru", "x" * 41]), st.just(""), st.just("")),
    st.tuples(st.just("user"), st.just("kubernetes"), st.sampled_from(["0", "51", "-1", "two", "1.5"]), st.just("")),
    st.tuples(st.just("user"), st.just("kubernetes"), st.just(""), st.sampled_from(["Mars/Base", "Europe/Nowhere", "+02:00"])),
)


@pytest.mark.db_agnostic
@PURE
@given(rows=st.lists(st.one_of(GOOD_ROW.map(lambda r: ("good", *r)), BAD_ROW.map(lambda r: ("bad", *r))),
                     max_size=25),
       blank_every=st.integers(0, 5))
def test_parse_directory_csv_reports_exactly_the_bad_lines(rows, blank_every):
    """The CSV import reports every bad row by its line number, and only those: good rows parse."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user", "skills", "max_concurrent", "timezone"])
    bad_lines, good_lines, line = set(), set(), 1
    for n, (kind, *cells) in enumerate(rows):
        if blank_every and n % blank_every == 0:
            writer.writerow([])
            line += 1
        user = f"U0USER{n:03d}" if cells[0] in ("user",) or kind == "good" else cells[0]
        if kind == "good":
            cells = [user, *cells]
        else:
            cells = [user, *cells[1:]]
        writer.writerow(cells)
        line += 1
        (good_lines if kind == "good" else bad_lines).add(line)
    report = directory_csv.parse_directory_csv(out.getvalue())
    reported = {int(re.match(r"line (\d+): ", e).group(1)) for e in report.errors}
    assert reported == bad_lines, (report.errors, out.getvalue())
    assert {row.line for row in report.rows} == good_lines


# ---------------------------------------------------------------------------- (b) over HTTP


@pytest.fixture
def world(h):
    """AE and two experts; an open request (E1 and E2 asked) and one claimed by E1."""
    h.person(AE)
    h.expert(E1, "kubernetes:expert")
    h.expert(E2, "kubernetes:proficient, security")
    h.submit_request(AE, account="Open Co", open_first=False)
    open_id = h.last_request().id
    h.submit_request(AE, account="Claimed Co", open_first=False, meeting_at=clock.now() + timedelta(days=4))
    claimed_id = h.last_request().id
    h.click(E1, Action.CLAIM, claimed_id)
    assert h.last_request().status == RequestStatus.CLAIMED
    return {"open": open_id, "claimed": claimed_id}


@pytest.fixture
def experts(h):
    """Just the people the request form needs: the AE, and experts for kubernetes and security."""
    h.person(AE)
    h.expert(E1, "kubernetes:expert")
    h.expert(E2, "kubernetes:proficient, security")


METADATA = "_metadata"
_view_ids = itertools.count(1)


@st.composite
def form(draw, valid: dict, junk: dict, max_bad: int = 3):
    """A submitted form: a few fields (sometimes none, sometimes all) hold junk, the rest valid
    values — so submissions also get through and store junk next to valid neighbours.
    Returns (field -> element, the junk fields)."""
    names = [name for name in valid if name != METADATA]
    bad = draw(st.one_of(st.sampled_from(names).map(lambda name: {name}),  # one junk field: the sharpest probe
                         st.sets(st.sampled_from(names), max_size=max_bad)))
    if draw(st.integers(0, 9)) == 5:  # now and then everything at once (not 0: hypothesis favours it)
        bad = set(names)
    if METADATA in valid and draw(st.integers(0, 5)) == 3:  # a tampered private_metadata, about 1 in 6
        bad.add(METADATA)
    names = list(valid)
    return {name: draw(junk[name] if name in bad else valid[name]) for name in names}, bad


def text_junk(junk=JUNK) -> st.SearchStrategy:
    """A plain_text_input holding junk, or an element of the wrong type or shape altogether."""
    return st.one_of(junk.map(signing.plain_text_input), junk.map(signing.plain_text_input), JSON_JUNK)


def select_junk() -> st.SearchStrategy:
    return st.one_of(JUNK.map(signing.static_select), JSON_JUNK)


def _skills_element(names: list[str]) -> dict:
    return {"type": "multi_external_select",
            "selected_options": [{"text": {"type": "plain_text", "text": n[:75] or "x"}, "value": n} for n in names]}


def _in_days(days: int) -> dict:
    return signing.datetimepicker(int((clock.now() + timedelta(days=days)).timestamp()))


EPOCH_JUNK = EPOCH.map(lambda v: {"type": "datetimepicker", "selected_date_time": v}) | JSON_JUNK
DATE_JUNK = st.one_of(JUNK, st.just("2026-02-30"), st.just("2020-01-01"), st.just("10000-01-01")).map(
    lambda v: {"type": "datepicker", "selected_date": v}) | JSON_JUNK

REQUEST_VALID = {
    Field.KIND: st.sampled_from([k.value for k in RequestKind]).map(signing.static_select),
    Field.SKILLS: st.sampled_from([["kubernetes"], ["kubernetes", "security"]]).map(_skills_element),
    Field.ACCOUNT: st.sampled_from(["Acme", "Zeta GmbH"]).map(signing.plain_text_input),
    Field.MEETING_AT: st.integers(1, 60).map(_in_days),
    Field.DURATION: st.sampled_from([str(d) for d in DURATIONS]).map(signing.static_select),
    Field.NEEDED_BY: st.just(signing.datetimepicker(None)),
    Field.URGENCY: st.sampled_from(["normal", "urgent"]).map(signing.static_select),
    Field.DESCRIPTION: st.just(signing.plain_text_input("Show the failover story")),
    Field.CRM_URL: st.sampled_from([None, "https://crm.example/opp/1"]).map(
        lambda v: {"type": "url_text_input", "value": v}),
    METADATA: st.just(request_modal_metadata("C0DEAL")),
}
REQUEST_JUNK = {
    Field.KIND: select_junk(),
    Field.SKILLS: st.lists(JUNK, max_size=12).map(_skills_element) | JSON_JUNK,
    Field.ACCOUNT: text_junk(),
    Field.MEETING_AT: EPOCH_JUNK,
    Field.DURATION: select_junk(),
    Field.NEEDED_BY: EPOCH_JUNK,
    Field.URGENCY: select_junk(),
    Field.DESCRIPTION: text_junk(),
    Field.CRM_URL: JUNK.map(lambda v: {"type": "url_text_input", "value": v}) | JSON_JUNK,
    METADATA: JUNK,
}
BRIEF_VALID = {
    Field.BRIEF_PROBLEM: st.just(signing.plain_text_input("Their batch jobs miss the SLA every month-end, badly.")),
    Field.BRIEF_SHOW: st.just(signing.plain_text_input("Multi-cluster failover and the cost dashboard.")),
    Field.BRIEF_ATTENDEES: st.sampled_from(["Jane Doe, CTO - decision maker", "Raj - tech\nAnn - user"]).map(
        signing.plain_text_input),
    Field.BRIEF_DECISION: st.just(signing.plain_text_input("Pick the platform vendor for the renewal")),
    Field.BRIEF_DECISION_BY: FUTURE_DATE.map(lambda v: {"type": "datepicker", "selected_date": v}),
    Field.BRIEF_CTA: st.sampled_from([None, "Book the POC"]).map(signing.plain_text_input),
    Field.BRIEF_COMPETITORS: st.sampled_from([None, "Globex"]).map(signing.plain_text_input),
    Field.BRIEF_LINKS: st.sampled_from([None, "https://notes.example"]).map(signing.plain_text_input),
}
BRIEF_JUNK = {**{name: text_junk() for name in BRIEF_VALID}, Field.BRIEF_DECISION_BY: DATE_JUNK}


def _wrap(values: dict) -> dict:
    """{field: element} -> Slack's state.values ({block_id: {action_id: element}})."""
    out = {}
    for block, element in values.items():
        if block == METADATA:
            continue
        action = Action.SKILL_SELECT if block == Field.SKILLS else "value"
        out[str(block)] = {str(action): element}
    return out


@HTTP
@given(request=form(REQUEST_VALID, REQUEST_JUNK),
       brief=st.one_of(st.none(), form(BRIEF_VALID, BRIEF_JUNK, max_bad=2)))
def test_request_modal_submissions(h, experts, request, brief):
    """RELIABILITY 14: the request form with junk in any field (the brief part and the
    private_metadata included): inline errors on the form's own blocks and nothing stored, or stored
    once (junk text and all) and broadcast with contract-valid messages; never a 500 or a traceback."""
    fields, bad = request
    brief_fields, brief_bad = brief or ({}, set())
    before = count(h, Request)
    mark = len(h.slack.calls)
    reply = h.driver.submit_view(AE, View.REQUEST, _wrap({**fields, **brief_fields}), private_metadata=fields[METADATA],
                                 view_id=f"VFUZZ{next(_view_ids)}")
    h.drain()
    _check_request_answer(h, reply, mark, before)


def _check_request_answer(h: Harness, reply, mark: int, before: int) -> None:
    assert_answered_cleanly(h, reply, mark)
    answer = reply.json or {}
    event(f"answer: {answer.get('response_action') or 'accepted'}")
    if answer.get("response_action") == "errors":
        # the form's blocks in whichever layout the chosen type gives it (meeting or needed-by)
        layouts = [request_modal.build(Prefill(kind=kind), private_metadata="{}", tz_label=None)
                   for kind in (None, *(k.value for k in RequestKind))]
        assert set(answer["errors"]) <= set().union(*(block_ids(view) for view in layouts))
        assert count(h, Request) == before
        return
    if answer.get("response_action") == "push":
        assert count(h, Request) == before
        return
    saved = count(h, Request) == before + 1
    told = any("was not saved" in str(c.params.get("text")) for c in h.slack.calls[mark:]
               if c.method == "chat.postMessage")
    event(f"stored: {saved}")
    assert saved or told
    if saved:  # whatever got through is a valid request
        stored = h.last_request()
        assert stored.kind in {k.value for k in RequestKind} and stored.urgency in ("normal", "urgent")
        assert {s.name for s in stored.skills} <= {"kubernetes", "security"} and stored.skills
        assert 0 < len(stored.account.strip()) <= 200 and 0 < len(stored.description.strip()) <= 2900
        assert stored.crm_url is None or (len(stored.crm_url) <= 500 and re.match(r"https?://", stored.crm_url))
        assert (stored.meeting_at or stored.needed_by) > clock.now() - timedelta(minutes=5)


ONE_AT_A_TIME = settings(max_examples=8, **_BASE)
ALL_FIELDS = {**REQUEST_VALID, **BRIEF_VALID}
ALL_JUNK = {**REQUEST_JUNK, **BRIEF_JUNK}


@pytest.mark.parametrize("field", [str(name) for name in ALL_FIELDS])
@ONE_AT_A_TIME
@given(data=st.data())
def test_request_modal_one_junk_field_at_a_time(h, experts, field, data):
    """RELIABILITY 14: every field of the request form (its brief part and private_metadata
    included) gets junk on its own, all the others valid: an inline error on the form's blocks and
    nothing stored, or a stored request that is still valid (the sharpest probe for a missing check)."""
    name = next(key for key in ALL_FIELDS if str(key) == field)
    fields = {key: data.draw(ALL_JUNK[key] if key == name else valid, label=str(key)) for key, valid in ALL_FIELDS.items()}
    before = count(h, Request)
    mark = len(h.slack.calls)
    reply = h.driver.submit_view(AE, View.REQUEST, _wrap(fields), private_metadata=fields[METADATA],
                                 view_id=f"VFUZZ{next(_view_ids)}")
    h.drain()
    _check_request_answer(h, reply, mark, before)


@HTTP
@given(submitted=form({**BRIEF_VALID, METADATA: st.none()}, {**BRIEF_JUNK, METADATA: JUNK}))
def test_brief_modal_submissions(h, world, submitted):
    """RELIABILITY 14: the brief form (the AE's own request) with junk anywhere, private_metadata
    included: inline errors on its own blocks and no edit stored, or one edit stored."""
    fields, bad = submitted
    rid = world["open"]
    edits = count(h, BriefEdit)
    mark = len(h.slack.calls)
    metadata = json.dumps({"r": rid}) if fields[METADATA] is None else fields[METADATA]
    reply = h.driver.submit_view(AE, View.BRIEF, _wrap(fields), private_metadata=metadata)
    h.drain()
    assert_answered_cleanly(h, reply, mark)
    answer = reply.json or {}
    event(f"answer: {answer.get('response_action') or 'accepted'}")
    if answer.get("response_action") in ("errors", "push"):
        if answer["response_action"] == "errors":
            with h.db.read() as s:
                request = s.get(Request, rid)
            assert set(answer["errors"]) <= block_ids(brief_ui.modal(request, None, private_metadata="{}"))
        assert count(h, BriefEdit) == edits
    else:
        assert METADATA not in bad and count(h, BriefEdit) == edits + 1


@HTTP
@given(submitted=form({Field.REASON: st.sampled_from([None, "", "On PTO"]).map(signing.plain_text_input),
                       METADATA: st.none()},
                      {Field.REASON: text_junk(), METADATA: JUNK}))
def test_decline_modal_submissions(h, world, submitted):
    """RELIABILITY 14: the decline reason is free text: stored trimmed to 500 characters (or not at
    all when empty), NUL characters dropped (found on PostgreSQL, which refuses them: the
    decline was lost); a junk private_metadata changes nothing."""
    fields, bad = submitted
    rid = world["open"]
    with h.db.session() as s:  # every example starts from "not answered yet"
        s.execute(update(Offer).where(Offer.request_id == rid).values(responded_at=None, response=None,
                                                                        decline_reason=None))
    mark = len(h.slack.calls)
    metadata = json.dumps({"r": rid}) if fields[METADATA] is None else fields[METADATA]
    reply = h.driver.submit_view(E1, View.DECLINE, _wrap(fields), private_metadata=metadata)
    h.drain()
    assert_answered_cleanly(h, reply, mark)
    offer = h.offer(rid, E1)
    event(f"declined: {offer.response == 'decline'}")
    if METADATA in bad:
        assert offer.response is None
        return
    assert offer.response == "decline"
    element = fields[Field.REASON]
    typed = element.get("value") if isinstance(element, dict) and isinstance(element.get("value"), str) else ""
    typed = typed.replace("\x00", "")  # NUL is dropped on the way in: PostgreSQL cannot store it
    assert offer.decline_reason == (typed.strip()[:500] or None)


@HTTP
@given(submitted=form({Field.EXPERT_SKILLS: st.sampled_from(["kubernetes:expert", "go, rust:learning",
                                                             "kubernetes, security:expert"]).map(signing.plain_text_input),
                       Field.CAPACITY: st.sampled_from(["1", "3", "50"]).map(
                           lambda v: {"type": "number_input", "value": v})},
                      {Field.EXPERT_SKILLS: text_junk(),
                       Field.CAPACITY: st.one_of(JUNK, st.sampled_from(["0", "51", "-1", "1.5", "1e3", "٣", " 2 "])).map(
                           lambda v: {"type": "number_input", "value": v}) | JSON_JUNK}))
def test_skills_modal_submissions(h, world, submitted):
    """RELIABILITY 14: an expert's skills form with junk: inline errors on its two blocks and the
    directory unchanged, or exactly the parsed skills and capacity saved."""
    fields, bad = submitted

    def current():
        with h.db.read() as s:
            person = people.get_person(s, team_id=TEAM, user_id=E1)
            return sorted((es.skill.name, es.level) for es in person.skills), person.max_concurrent

    before = current()
    mark = len(h.slack.calls)
    reply = h.driver.submit_view(E1, View.SKILLS, _wrap(fields))
    h.drain()
    assert_answered_cleanly(h, reply, mark)
    answer = reply.json or {}
    event(f"answer: {answer.get('response_action') or 'accepted'}")
    if answer.get("response_action") == "errors":
        assert set(answer["errors"]) <= block_ids(forms.skills_modal(skills_text="", capacity=3, days="", hours=""))
        assert current() == before
    else:
        assert answer.get("response_action") is None, answer
        # the app drops NUL at the payload boundary (fields.storable); the oracle does the same
        expected = sorted((name, level.value) for name, level in
                          parse_skill_list(storable(fields[Field.EXPERT_SKILLS]["value"])))
        assert current() == (expected, int(fields[Field.CAPACITY]["value"].strip()))


@HTTP
@given(submitted=form(
    {Field.OUTCOME_DECIDED: st.sampled_from(["yes", "no", "not_yet"]).map(
        lambda v: {"type": "radio_buttons", "selected_option": {"value": v, "text": {"type": "plain_text", "text": v}}}),
     Field.OUTCOME_NEXT: st.sampled_from([None, "Security review"]).map(signing.plain_text_input),
     Field.OUTCOME_NEW_DATE: st.one_of(st.none(), FUTURE_DATE).map(lambda v: {"type": "datepicker", "selected_date": v}),
     METADATA: st.none()},
    {Field.OUTCOME_DECIDED: select_junk(), Field.OUTCOME_NEXT: text_junk(), Field.OUTCOME_NEW_DATE: DATE_JUNK,
     METADATA: JUNK}))
def test_outcome_modal_submissions(h, world, submitted):
    """RELIABILITY 14: the AE's outcome form with junk: inline errors on its blocks and no row, or
    one follow-up row."""
    fields, bad = submitted
    if _submit_followup(h, world["claimed"], AE, View.OUTCOME, notices.outcome_modal, fields):
        assert METADATA not in bad and count(h, FollowUp) == 1


def _submit_followup(h: Harness, rid: int, user: str, view: str, modal, fields: dict) -> bool:
    """Submit a follow-up form (no follow-up stored before); refused -> inline errors only on the
    form's own blocks and no row; True when it was accepted."""
    with h.db.session() as s:
        s.execute(delete(FollowUp))
    mark = len(h.slack.calls)
    metadata = json.dumps({"r": rid}) if fields[METADATA] is None else fields[METADATA]
    reply = h.driver.submit_view(user, view, _wrap(fields), private_metadata=metadata)
    h.drain()
    assert_answered_cleanly(h, reply, mark)
    answer = reply.json or {}
    event(f"answer: {answer.get('response_action') or 'accepted'}")
    if answer.get("response_action") not in ("errors", "push"):
        return True
    if answer["response_action"] == "errors":
        with h.db.read() as s:
            request = s.get(Request, rid)
        assert set(answer["errors"]) <= block_ids(modal(request, private_metadata="{}"))
    assert count(h, FollowUp) == 0
    return False


HOURS_JUNK = st.one_of(st.sampled_from(["200.01", "-1", "nan", "inf", "-inf", "1e309", "1_0", "٣", "0x10", ""]), JUNK)


@HTTP
@given(submitted=form(
    {Field.HOURS_PREP: st.sampled_from(["0", "1.5", "2,5", " 3 ", "200"]).map(lambda v: {"type": "number_input", "value": v}),
     Field.HOURS_MEETING: st.sampled_from(["1", "0.25"]).map(lambda v: {"type": "number_input", "value": v}),
     METADATA: st.none()},
    {Field.HOURS_PREP: HOURS_JUNK.map(lambda v: {"type": "number_input", "value": v}) | JSON_JUNK,
     Field.HOURS_MEETING: HOURS_JUNK.map(lambda v: {"type": "number_input", "value": v}) | JSON_JUNK,
     METADATA: JUNK}))
def test_hours_modal_submissions(h, world, submitted):
    """RELIABILITY 14: the expert's hours form with junk numbers: inline errors and no row, or one
    row with finite hours between 0 and 200."""
    fields, bad = submitted
    if _submit_followup(h, world["claimed"], E1, View.HOURS, notices.hours_modal, fields):
        assert METADATA not in bad
        with h.db.read() as s:
            rows = list(s.scalars(select(FollowUp)))
        assert len(rows) == 1
        for hours in (rows[0].prep_hours, rows[0].meeting_hours):
            assert hours is not None and 0 <= hours <= 200


SUBCOMMANDS = ["", "help", "list", "cancel", "reschedule", "move", "brief", "expert add", "expert remove", "experts",
               "manager add", "manager remove", "directory", "skills", "away", "away until", "back", "stats",
               "digest", "demo", "poc for"]
DONE = ("is in the expert directory", "is no longer in the expert directory", "is now a manager",
        "is no longer a manager", "You are away until", "Welcome back", "is cancelled", "moved to", "on its way")


def _snapshot(h: Harness):
    with h.db.read() as s:
        persons = sorted((p.team_id, p.slack_user_id, p.is_manager, p.is_expert, p.away_until, p.max_concurrent,
                         tuple(sorted(es.skill.name for es in p.skills)))
                        for p in s.scalars(select(Person).options(selectinload(Person.skills))))
        persons = [p for p in persons if p[2:] != (False, False, None, 3, ())]
        requests = sorted((r.id, r.status, r.meeting_at, r.needed_by) for r in s.scalars(select(Request)))
    return persons, requests


@HTTP
@given(actor=st.sampled_from([ADMIN, AE, E1]), word=st.sampled_from(SUBCOMMANDS),
       target=st.sampled_from(["", "1", "2", "#1", "<@U0BOB|bob>", "<@U0EXP2>", "<@W0X|x> <@U0Y>"]), rest=JUNK)
def test_presales_command_text(h, world, actor, word, target, rest):
    """RELIABILITY 15: `/presales <subcommand> <junk>` from an admin, an AE or an expert: 200,
    no traceback, a contract-valid answer or form, and nothing changes unless the answer says so."""
    text = " ".join(part for part in (word, target, rest) if part)
    before = _snapshot(h)
    mark = len(h.slack.calls)
    reply = h.driver.command(actor, text)
    h.drain()
    assert_answered_cleanly(h, reply, mark)
    said = h.said(reply)
    event("changed something" if any(phrase in said for phrase in DONE) else "changed nothing")
    opened = [c for c in h.slack.calls[mark:] if c.method == "views.open"]
    assert said.strip() or opened, f"/presales {text[:200]!r} got no answer"
    if not any(phrase in said for phrase in DONE):
        assert _snapshot(h) == before, f"/presales {text[:200]!r} changed something but said: {said[:500]}"


# ---------------------------------------------------------------------------- numbers int() cannot read


TRAPS = ["²", "0" * 5000]


@pytest.mark.parametrize("surface", ["skills_modal", "request_modal", "directory_csv"])
@pytest.mark.parametrize("digits", TRAPS, ids=["superscript", "5000_digits"])
def test_digit_strings_int_cannot_read_are_refused_inline(h, world, surface, digits):
    """RELIABILITY 14: a "number" that passes str.isdigit() but that int() cannot read is a
    validation error next to its field (or a reported CSV line) — not "Something went wrong"."""
    if surface == "directory_csv":
        report = directory_csv.parse_directory_csv(f"user,skills,max_concurrent\nU0KATE,kubernetes,{digits}\n")
        assert report.errors and report.errors[0].startswith("line 2: ")
        return
    if surface == "skills_modal":
        values = {str(Field.EXPERT_SKILLS): {"value": signing.plain_text_input("kubernetes")},
                  str(Field.CAPACITY): {"value": {"type": "number_input", "value": digits}}}
        reply = h.driver.submit_view(E1, View.SKILLS, values)
        field = Field.CAPACITY
    else:
        values = h.request_values()
        values[str(Field.DURATION)] = {"value": signing.static_select(digits)}
        reply = h.driver.submit_view(AE, View.REQUEST, values, view_id="VTRAP")
        field = Field.DURATION
    h.drain()
    assert reply.status == 200
    assert reply.json["response_action"] == "errors" and str(field) in reply.json["errors"], reply.json


# ---------------------------------------------------------------------------- malformed (signed) payloads

PAYLOAD_KEYS = ["actions", "user", "team", "view", "channel", "container", "trigger_id", "response_url", "state",
                "message", "callback_id", "private_metadata", "action_id", "value", "block_id"]
PAYLOAD_ATOMS = st.none() | st.booleans() | st.integers() | st.sampled_from(
    ["block_actions", "view_submission", "offer_claim", "request_modal", "U0AE", "T0001", "1", "", "modal"])
PAYLOAD_JUNK = st.recursive(PAYLOAD_ATOMS, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.sampled_from(PAYLOAD_KEYS + ["type", "id"]), inner, max_size=5),
                            max_leaves=12)


@settings(max_examples=60, **_BASE)
@given(payload=st.fixed_dictionaries(
    {"type": st.sampled_from(["block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut",
                              "message_action", "interactive_message"])},
    optional={key: PAYLOAD_JUNK for key in PAYLOAD_KEYS}))
@example(payload={"type": "block_actions", "actions": None})
@example(payload={"type": "view_submission", "view": {"callback_id": "request_modal", "state": "x"}})
@example(payload={"type": "view_closed", "view": None})
def test_malformed_signed_payloads_are_never_a_500(h, payload):
    """RELIABILITY 14 (and 3): a correctly signed interactivity payload of the wrong shape —
    something only a bug or a leaked signing secret produces — is answered 2xx/4xx, never 500,
    and with no traceback."""
    mark = len(h.slack.calls)
    reply = h.driver.post_payload(payload)
    h.drain()
    # 400 when Bolt itself cannot read the payload (bot/web.py), 404 when no listener matches
    # (Bolt's "unhandled request"), 200 when a listener answers.
    assert_answered_cleanly(h, reply, mark, statuses=(200, 400, 404))
    if reply.status == 400:
        assert reply.json == {"error": "unreadable payload"}
        assert len(h.slack.calls) == mark, "a payload Bolt could not read still made Slack calls"


# ---------------------------------------------------------------------------- an unexpected error, shown


@pytest.mark.parametrize("surface", ["command", "button", "modal_before_ack", "modal_after_ack"])
def test_an_unexpected_error_shows_a_reference_never_a_traceback(h, world, monkeypatch, surface):
    """RELIABILITY 14/15: when something breaks that nobody foresaw, the person reads "Something
    went wrong (ref …)" — in the form, ephemerally or by DM — with no traceback, and the app still
    answers 200."""
    from bot.services import claims as claims_service
    from bot.services import requests as requests_service

    def explode(*args, **kwargs):
        raise RuntimeError('kaboom File "/secret/path.py", line 1')

    target = {"command": (requests_service, "list_open"), "button": (claims_service, "claim"),
              "modal_before_ack": (directory, "set_own_skills"), "modal_after_ack": (claims_service, "decline")}[surface]
    monkeypatch.setattr(*target, explode)
    mark = len(h.slack.calls)
    if surface == "command":
        reply = h.driver.command(AE, "list")
    elif surface == "button":
        reply = h.driver.action(E2, Action.CLAIM, str(world["open"]), block_id="offer_actions")
    elif surface == "modal_before_ack":
        reply = h.driver.submit_view(E1, View.SKILLS, {
            str(Field.EXPERT_SKILLS): {"value": signing.plain_text_input("kubernetes")},
            str(Field.CAPACITY): {"value": {"type": "number_input", "value": "3"}}})
    else:
        reply = h.driver.submit_view(E1, View.DECLINE, {str(Field.REASON): {"value": signing.plain_text_input("x")}},
                                     private_metadata=json.dumps({"r": world["open"]}))
    h.drain()
    assert_answered_cleanly(h, reply, mark)
    shown = reply.body + " ".join(text for call in h.slack.calls[mark:] for text in _strings(call.params))
    assert re.search(r"Something went wrong on our side \(ref `[0-9a-f]{8}`\)", shown), shown[:1000]
    assert "kaboom" not in shown and "RuntimeError" not in shown
