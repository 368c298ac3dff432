import pytest

from bot.errors import InvalidInput
from bot.services.skills import normalize_skill, parse_skill_list
from bot.services.directory_csv import parse_directory_csv
from models import SkillLevel

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic


def test_skill_list_with_levels():
    assert parse_skill_list("Kubernetes:expert, security, fintech:learning") == [
        ("kubernetes", SkillLevel.EXPERT), ("security", SkillLevel.PROFICIENT), ("fintech", SkillLevel.LEARNING)]


@pytest.mark.parametrize("text, words", [("", "at least one"), ("k8s:guru", "not a level"), ("x" * 500, "at most 40"),
                                         ("<!channel>", "not a skill name")])
def test_bad_skill_lists(text, words):
    with pytest.raises(InvalidInput) as err:
        parse_skill_list(text)
    assert words in str(err.value)


def test_normalize_skill_folds_case_and_space():
    assert normalize_skill("  Data   Platform ") == "data platform"


def test_csv_reports_every_bad_row_with_its_line_number():
    report = parse_directory_csv(
        "user,skills,max_concurrent,timezone\n"
        "U0ALICE,kubernetes:expert,2,Europe/Berlin\n"
        "bob@example.com,security,,\n"
        "not-a-user,security,1,\n"
        "U0CAROL,,1,\n"
        "U0DAVE,security,many,\n"
        "U0ERIN,security,1,Mars/Base\n"
        "U0ALICE,security,1,\n"
    )
    assert [r.user for r in report.rows] == ["U0ALICE", "bob@example.com"]
    assert [e.split(":")[0] for e in report.errors] == ["line 4", "line 5", "line 6", "line 7", "line 8"]
    assert "listed twice" in report.errors[-1]


def test_csv_needs_a_header():
    report = parse_directory_csv("U0ALICE,kubernetes\n")
    assert report.errors and report.errors[0].startswith("line 1")
