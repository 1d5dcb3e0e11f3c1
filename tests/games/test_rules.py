"""Domain rules: orientation, team matching, scores, periods, status, market types, lines, probabilities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from games import rules
from games.rules import Score, TeamIndex, TeamRef

NOW = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)


def test_orientation_follows_league_ordering() -> None:
    assert rules.orient("A", "B", "away") == ("B", "A")  # US: first listed is away
    assert rules.orient("A", "B", "home") == ("A", "B")  # soccer/tennis: first listed is home


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Indiana State Sycamores vs. Drake Bulldogs", ("Indiana State Sycamores", "Drake Bulldogs")),
        ("Nationals vs. Mets", ("Nationals", "Mets")),
        ("Lakers @ Celtics", ("Lakers", "Celtics")),
        ("UFC 300: Pereira vs Hill", ("Pereira", "Hill")),
        ("Fulham FC vs. Chelsea FC - More Markets", ("Fulham FC", "Chelsea FC")),
        ("NBA Champion 2026", None),
    ],
)
def test_title_teams(title: str, expected: tuple[str, str] | None) -> None:
    assert rules.title_teams(title) == expected


def test_slug_team_codes() -> None:
    assert rules.slug_team_codes("cbb-indst-drake-2026-01-04", "cbb") == ("indst", "drake")
    assert rules.slug_team_codes("nba-mem-okc-2025-03-27-total-239pt5", "nba") == ("mem", "okc")
    assert rules.slug_team_codes("nba-will-the-mavericks-beat-the-grizzlies", "nba") is None


def test_team_index_matches_by_id_abbreviation_name_alias() -> None:
    wsh = TeamRef(1, 100, "Washington Nationals", "wsh", "Nats")
    nym = TeamRef(2, 200, "New York Mets", "nym", "")
    nyy = TeamRef(3, 300, "New York Yankees", "nyy", "")
    index = TeamIndex([wsh, nym, nyy])
    assert index.match(gamma_id=200) is nym
    assert index.match(abbreviation="WSH") is wsh
    assert index.match(name="new york mets") is nym
    assert index.match(name="Nats") is wsh  # alias
    assert index.match(name="Mets") is nym  # unique whole word of the name
    assert index.match(name="New York") is None  # ambiguous: never guess
    assert index.match(name="Dodgers") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("72-74", Score(72, 74)),
        ("0-0", Score(0, 0)),
        ("6-7(5-7), 1-2", Score(0, 1, sets=((6, 7), (1, 2)))),
        ("7-5, 5-7, 2-6", Score(1, 2, sets=((7, 5), (5, 7), (2, 6)))),
        ("4-6, 1-2", Score(0, 1, sets=((4, 6), (1, 2)))),
        ("000-000|1-2|Bo3", Score(1, 2, best_of=3)),
        ("000-000|0-0|Bo1", Score(0, 0, best_of=1)),
        ("", None),
        ("abc", None),
        (None, None),
        (42, None),
    ],
)
def test_score_parse(raw: object, expected: Score | None) -> None:
    assert rules.score_parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "sets_won"),
    [
        ("6-4, 6-3", (2, 0)),  # a finished match: the last set counts once decided
        ("6-4, 3-2", (1, 0)),  # the current set does not count yet
        ("6-4", (1, 0)),  # one set, decided
        ("3-2", (0, 0)),  # one set, in progress: games, not sets
        ("7-6(7-4), 6-7(5-7), 7-5", (2, 1)),
    ],
)
def test_tennis_scores_are_sets_won(raw: str, sets_won: tuple[int, int]) -> None:
    """One reading of a tennis score, for storage, live scores and FrontendGame's setsWon alike."""
    assert rules.scored_in_sets("atp") and rules.scored_in_sets("wta") and not rules.scored_in_sets("nba")
    score = rules.score_parse(raw, sets=True)
    assert score is not None and (score.first, score.second) == sets_won


@pytest.mark.parametrize(
    ("period", "live", "ended", "kickoff_delta", "closed", "expected"),
    [
        ("POST", False, False, timedelta(hours=-1), False, "postponed"),
        ("CAN", False, True, timedelta(hours=-3), False, "canceled"),
        ("VFT", False, True, timedelta(hours=-3), False, "final"),
        ("FT", False, False, timedelta(hours=-3), False, "final"),
        ("Final", False, False, timedelta(hours=-3), False, "final"),
        ("NS", False, False, timedelta(hours=2), False, "scheduled"),
        ("Q3", True, False, timedelta(hours=-1), False, "live"),
        ("Q3", False, False, timedelta(hours=-1), False, "live"),  # the live flag lags
        ("", False, False, timedelta(hours=2), True, "scheduled"),  # closed before tip-off: not final
        ("", False, False, timedelta(hours=-1), True, "scheduled"),  # closed alone decides nothing
        ("", False, False, timedelta(hours=-10), True, "final"),  # long past kickoff and closed
    ],
)
def test_game_status(
    period: str, live: bool, ended: bool, kickoff_delta: timedelta, closed: bool, expected: str
) -> None:
    status = rules.game_status(
        period=period, live=live, ended=ended, kickoff=NOW + kickoff_delta, now=NOW, closed=closed
    )
    assert status == expected


def test_game_status_from_feed_status_word() -> None:
    kickoff = NOW - timedelta(hours=2)
    assert rules.game_status(period="2H", live=False, ended=False, kickoff=kickoff, now=NOW,
                             feed_status="finished") == "final"


@pytest.mark.parametrize(
    ("raw", "key"),
    [("Q1", "q1"), ("1Q", "q1"), ("End Q2", "q2"), ("P3", "p3"), ("S2", "s2"), ("Set 3", "s3"), ("1H", "1h"),
     ("HT", "ht"), ("OT", "ot"), ("VFT", "final"), ("Final", "final"), ("3/3", "3/3"), ("CAN", "can")],
)
def test_period_normalize(raw: str, key: str) -> None:
    assert rules.period_normalize(raw) == key


def test_period_scores_are_cumulative_snapshots() -> None:
    scores: dict = {}
    scores = rules.period_scores_update(scores, previous_period="NS", previous_score=(None, None),
                                        period="Q1", score=(5, 3))
    assert scores == {"q1": {"home": 5, "away": 3}}
    scores = rules.period_scores_update(scores, previous_period="Q1", previous_score=(5, 3), period="Q1",
                                        score=(20, 18))
    assert scores["q1"] == {"home": 20, "away": 18}  # follows the score while the period is in play
    scores = rules.period_scores_update(scores, previous_period="Q1", previous_score=(20, 18), period="Q2",
                                        score=(22, 18))
    assert scores == {"q1": {"home": 20, "away": 18}, "q2": {"home": 22, "away": 18}}
    scores = rules.period_scores_update(scores, previous_period="Q2", previous_score=(22, 18), period="HT",
                                        score=(50, 48))
    scores = rules.period_scores_update(scores, previous_period="HT", previous_score=(50, 48), period="HT",
                                        score=(51, 48))
    assert scores["ht"] == {"home": 50, "away": 48}  # an end state is written once
    # Missed period change: the previous key gets the previous cumulative score, keys never removed.
    jumped = rules.period_scores_update({}, previous_period="Q3", previous_score=(70, 60), period="Q4",
                                        score=(72, 60))
    assert jumped == {"q3": {"home": 70, "away": 60}, "q4": {"home": 72, "away": 60}}
    assert rules.period_scores_update({}, previous_period="", previous_score=(None, None), period="NS",
                                      score=(0, 0)) == {}


@pytest.mark.parametrize(
    ("smt", "question", "labels", "expected"),
    [
        ("moneyline", "anything", ["A", "B"], "moneyline"),
        ("spreads", "x", ["A", "B"], "spreads"),
        ("totals", "x", ["Over", "Under"], "totals"),
        ("first_half_moneyline", "x", ["A", "B"], "other"),
        ("team_totals", "x", ["Over", "Under"], "other"),
        (None, "Spread: Drake Bulldogs (-5.5)", ["Drake Bulldogs", "Indiana State Sycamores"], "spreads"),
        (None, "Indiana State Sycamores vs. Drake Bulldogs: O/U 144.5", ["Over", "Under"], "totals"),
        (None, "Over 239.5", ["Over", "Under"], "totals"),
        (None, "Nationals vs. Mets", ["Nationals", "Mets"], "moneyline"),
        (None, "Qatar Total Open: Sinner vs. Alcaraz", ["Sinner", "Alcaraz"], "moneyline"),
        (None, "Will the Mavericks beat the Grizzlies by more than 5.5 points?", ["Yes", "No"], "other"),
        (None, "Sinner vs. Alcaraz: Set 1 Winner", ["Sinner", "Alcaraz"], "other"),
        (None, "Who wins?", ["Red", "Blue"], "other"),  # labels must name the two teams
    ],
)
def test_market_type_detect(smt: str | None, question: str, labels: list[str], expected: str) -> None:
    teams = ["Nationals", "Mets", "Drake Bulldogs", "Indiana State Sycamores", "Sinner", "Alcaraz"]
    assert rules.market_type_detect(smt, question, labels, teams) == expected


def test_line_parse() -> None:
    assert rules.line_parse(239.5, "totals") == 239.5
    assert rules.line_parse("-5.5", "spreads") == -5.5
    assert rules.line_parse(None, "spreads", "Spread -6.5") == -6.5
    assert rules.line_parse(None, "spreads", "", "Spread: Drake Bulldogs (-5.5)") == -5.5
    assert rules.line_parse(None, "totals", "O/U 144.5") == 144.5
    assert rules.line_parse(None, "moneyline", "O/U 144.5") is None


def test_three_way_side() -> None:
    home, away = ["Arsenal FC"], ["Chelsea FC"]
    assert rules.three_way_side("Will Arsenal FC win on 2026-01-10?", "Arsenal FC", home, away) == "home"
    assert rules.three_way_side("Will Chelsea FC win on 2026-01-10?", "Chelsea FC", home, away) == "away"
    assert rules.three_way_side("Will Arsenal FC vs. Chelsea FC end in a draw?", "Draw", home, away) == "draw"
    assert rules.three_way_side("Will Arsenal FC win by 2+ goals?", "", home, away) is None


def test_probabilities_from_prices() -> None:
    assert rules.probabilities_from_prices(0.6, 0.45) == (57.14, 42.86, None)
    home, away, draw = rules.probabilities_from_prices(0.5, 0.25, 0.3)  # type: ignore[misc]
    assert (home, away, draw) == (47.62, 23.81, 28.57)
    assert rules.probabilities_from_prices(None, 0.4) is None
    assert rules.probabilities_from_prices(0, 0) is None


def test_json_list_and_timestamps() -> None:
    assert rules.json_list('["Over", "Under"]') == ["Over", "Under"]
    assert rules.json_list(["a"]) == ["a"]
    assert rules.json_list(None) == []
    with pytest.raises(ValueError):
        rules.json_list("[broken")
    with pytest.raises(ValueError):
        rules.json_list(5)
    expected = datetime(2026, 1, 4, 20, 0, tzinfo=UTC)
    assert rules.timestamp_parse("2026-01-04T20:00:00Z") == expected
    assert rules.timestamp_parse("2026-01-04 20:00:00+00") == expected
    assert rules.timestamp_parse("2026-01-04") == datetime(2026, 1, 4, tzinfo=UTC)
    assert rules.timestamp_parse("nope") is None
