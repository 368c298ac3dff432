"""Skills: names as people type them, levels, and the skill table the directory and requests share."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import InvalidInput, quote
from models import ExpertSkill, Person, Skill, SkillLevel

SKILL_MAX = 40
MAX_SKILLS_PER_EXPERT = 30
_SKILL_CHARS = re.compile(r"^[a-z0-9][a-z0-9 +#./&-]*$")


def normalize_skill(raw: str) -> str:
    """'  Kubernetes ' -> 'kubernetes'; raises InvalidInput with a human sentence."""
    name = re.sub(r"\s+", " ", (raw or "").strip().lower())
    if not name:
        raise InvalidInput("A skill name cannot be empty.")
    if len(name) > SKILL_MAX:
        raise InvalidInput(f"Skill names are at most {SKILL_MAX} characters; '{quote(name, 20)}' has {len(name)}.")
    if not _SKILL_CHARS.match(name):
        raise InvalidInput(
            f"'{quote(name)}' is not a skill name: use letters, digits, spaces and + # . / & - only."
        )
    return name


def parse_level(raw: str | None) -> SkillLevel:
    text = (raw or "").strip().lower()
    if not text:
        return SkillLevel.PROFICIENT
    for level in SkillLevel:
        if level.value.startswith(text) and len(text) >= 3:
            return level
    raise InvalidInput(f"'{quote(raw)}' is not a level: use learning, proficient or expert.")


def parse_skill_list(text: str) -> list[tuple[str, SkillLevel]]:
    """'kubernetes:expert, security, fintech:learning' -> [(name, level), ...] (deduplicated)."""
    items = [part for part in re.split(r"[,;\n]+", text or "") if part.strip()]
    if not items:
        raise InvalidInput("List at least one skill, e.g. `kubernetes:expert, security`.")
    out: dict[str, SkillLevel] = {}
    for item in items:
        name, _, level = item.partition(":")
        out[normalize_skill(name)] = parse_level(level)
    if len(out) > MAX_SKILLS_PER_EXPERT:
        raise InvalidInput(f"At most {MAX_SKILLS_PER_EXPERT} skills per expert ({len(out)} given).")
    return list(out.items())


def format_skill_list(skills: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{name}:{level}" for name, level in skills)


def skill_ids(session: Session, names: Sequence[str], *, now: datetime, create: bool) -> dict[str, int]:
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    found = dict(session.execute(select(Skill.name, Skill.id).where(Skill.name.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing and not create:
        raise InvalidInput(f"Unknown skill: {missing[0]}.")
    for name in missing:
        try:
            with session.begin_nested():
                skill = Skill(name=name, created_at=now)
                session.add(skill)
                session.flush()
            found[name] = skill.id
        except IntegrityError:  # created concurrently by someone else
            found[name] = session.execute(select(Skill.id).where(Skill.name == name)).scalar_one()
    return found


def known_skills(session: Session, *, query: str = "", limit: int = 100, with_experts_only: bool = False) -> list[str]:
    """Skill names for pickers: prefix matches first, then substring matches."""
    stmt = select(Skill.name)
    q = (query or "").strip().lower()
    if q:
        stmt = stmt.where(Skill.name.contains(q, autoescape=True))
    if with_experts_only:
        stmt = stmt.where(Skill.id.in_(_active_skill_ids()))
    names = list(session.scalars(stmt.order_by(Skill.name)))
    names.sort(key=lambda n: (not n.startswith(q), n))
    return names[:limit]


def existing_skills(session: Session, names: Sequence[str]) -> set[str]:
    """Which of ``names`` (normalised; unreadable names are skipped) are in the directory."""
    wanted = set()
    for name in names:
        try:
            wanted.add(normalize_skill(name))
        except InvalidInput:
            continue
    if not wanted:
        return set()
    return set(session.scalars(select(Skill.name).where(Skill.name.in_(wanted))))


def _active_skill_ids():
    return (
        select(ExpertSkill.skill_id)
        .join(Person, Person.id == ExpertSkill.person_id)
        .where(Person.is_expert.is_(True))
    )


def related_skill_ids(session: Session, skill_ids: Sequence[int]) -> list[int]:
    """The requested skills plus every skill sharing a word with one of them
    ('kubernetes-security' ~ 'kubernetes', 'aws security')."""
    names = list(session.scalars(select(Skill.name).where(Skill.id.in_(list(skill_ids)))))
    words = {w for name in names for w in re.split(r"[\s/.+#&-]+", name) if len(w) >= 3}
    if not words:
        return list(skill_ids)
    related = set(skill_ids)
    for skill_id, name in session.execute(select(Skill.id, Skill.name)).all():
        if words & set(re.split(r"[\s/.+#&-]+", name)):
            related.add(skill_id)
    return sorted(related)


def closest_skills(session: Session, wanted: Sequence[str], *, limit: int = 5) -> list[str]:
    """Skills that do have active experts, closest in spelling to what was asked for."""
    available = known_skills(session, limit=10_000, with_experts_only=True)
    picks: list[str] = []
    for name in wanted:
        for candidate in difflib.get_close_matches(name, available, n=limit, cutoff=0.5):
            if candidate not in picks:
                picks.append(candidate)
        for candidate in available:
            if (name in candidate or candidate in name) and candidate not in picks:
                picks.append(candidate)
    if not picks:
        picks = available
    return picks[:limit]
