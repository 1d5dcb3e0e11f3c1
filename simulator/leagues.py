"""League metadata: the real ``/sports`` entries' values and the market-line profile per league.

The ``/sports`` fields (id, image, resolution, ordering, tags, series, createdAt) are the values the
live Gamma list carried in 2026-04 (upstream README §1.2), so clients that hard-code series ids or
read ``ordering`` behave as they would against the real service.
"""

from __future__ import annotations

from dataclasses import dataclass

S3 = "https://polymarket-upload.s3.us-east-2.amazonaws.com"

# Tag id -> (label, slug). Ids are the ones the /sports entries reference.
TAG_LABELS: dict[int, tuple[str, str]] = {
    1: ("Sports", "sports"),
    28: ("Basketball", "basketball"),
    82: ("EPL", "epl"),
    306: ("Premier League", "premier-league"),
    450: ("NFL", "nfl"),
    745: ("NBA", "nba"),
    780: ("La Liga", "la-liga"),
    864: ("Tennis", "tennis"),
    899: ("NHL", "nhl"),
    100350: ("Soccer", "soccer"),
    100351: ("College Football", "college-football"),
    100381: ("MLB", "mlb"),
    100396: ("NCAA", "ncaa"),
    100639: ("Games", "games"),
    101178: ("CBB", "cbb"),
    101232: ("ATP", "atp"),
    101954: ("NCAA CBB", "ncaa-cbb"),
    102123: ("WTA", "wta"),
    102114: ("NCAA Basketball", "ncaa-basketball"),
    100240: ("UFC", "ufc"),
}


@dataclass(frozen=True)
class LineProfile:
    """How many spread/total lines a game gets and where they sit (in points/goals/games)."""

    margin: tuple[float, float]  # favourite's expected margin range (half-point values)
    margin_sd: float  # standard deviation of the final margin
    spread_lines: tuple[int, int]  # count range, lines step 1.0 from 0.5 upward
    total_main: tuple[float, float]
    total_sd: float
    total_step: float
    total_lines: tuple[int, int]


@dataclass(frozen=True)
class League:
    code: str
    sports_id: int
    image: str
    resolution: str
    ordering: str  # "away": titles/slugs list the away team first (US leagues)
    tags: str
    series: str
    created_at: str
    series_slug: str
    series_title: str
    kind: str  # basketball | football | hockey | baseball | soccer | tennis | mma
    game_id_range: tuple[int, int]
    lines: LineProfile
    records: bool  # whether /teams carries "(W-L)" records
    event_tags: tuple[int, ...]  # extra tags (beyond /sports tags) seen on events
    upper_socket_names: bool = True

    def sports_entry(self) -> dict[str, object]:
        return {
            "id": self.sports_id,
            "sport": self.code,
            "image": self.image,
            "resolution": self.resolution,
            "ordering": self.ordering,
            "tags": self.tags,
            "series": self.series,
            "createdAt": self.created_at,
        }

    def tag_ids(self) -> list[int]:
        ids = [int(t) for t in self.tags.split(",") if t]
        return ids + [t for t in self.event_tags if t not in ids]


_CREATED = "2025-11-05T19:27:45.399303Z"

LEAGUES: dict[str, League] = {
    lg.code: lg
    for lg in (
        League("nba", 34, f"{S3}/super+cool+basketball+in+red+and+blue+wow.png", "https://www.nba.com/",
               "away", "1,745,100639", "10345", _CREATED, "nba", "NBA", "basketball", (20000, 29999),
               LineProfile((1.5, 14.5), 12.0, (24, 32), (212.5, 240.5), 18.0, 1.0, (28, 38)), True, (28,)),
        League("nfl", 10, f"{S3}/nfl.png", "https://www.nfl.com/", "away", "1,450,100639", "10187", _CREATED,
               "nfl", "NFL", "football", (19000, 19999),
               LineProfile((1.5, 13.5), 13.5, (24, 32), (37.5, 54.5), 13.0, 1.0, (26, 34)), True, ()),
        League("nhl", 35, f"{S3}/nhl.png", "https://www.nhl.com/", "away", "1,899,100639", "10346", _CREATED,
               "nhl", "NHL", "hockey", (30000, 39999),
               LineProfile((0.5, 1.5), 2.2, (6, 9), (5.5, 6.5), 2.2, 0.5, (11, 15)), True, ()),
        League("mlb", 8, f"{S3}/Repetitive-markets/MLB.jpg", "https://www.mlb.com/", "away", "1,100639,100381",
               "3", _CREATED, "mlb", "MLB", "baseball", (40000, 49999),
               LineProfile((0.5, 2.5), 3.6, (6, 9), (7.5, 9.5), 3.8, 0.5, (13, 17)), True, ()),
        League("cbb", 4, f"{S3}/ncaab1.png", "https://www.ncaa.com/", "away", "1,101178,100639,101954",
               "10470", _CREATED, "ncaa-cbb", "NCAA CBB", "basketball", (60000, 79999),
               LineProfile((0.5, 20.5), 11.0, (22, 30), (128.5, 160.5), 16.0, 1.0, (26, 36)), True,
               (28, 100396, 102114)),
        League("cfb", 9, f"{S3}/espn+college+football+logo.png", "https://www.ncaa.com/", "away",
               "1,100351,100639", "10210", _CREATED, "ncaa-cfb", "NCAA CFB", "football", (80000, 89999),
               LineProfile((1.5, 28.5), 15.0, (18, 26), (40.5, 66.5), 15.0, 1.0, (20, 28)), True, (100396,)),
        League("epl", 2, f"{S3}/Repetitive-markets/premier+league.jpg", "https://www.premierleague.com/",
               "home", "1,82,306,100639,100350", "10188", _CREATED, "premier-league", "Premier League",
               "soccer", (90000000, 90999999),
               LineProfile((0.5, 1.5), 1.6, (5, 8), (2.5, 3.5), 1.6, 1.0, (6, 8)), False, (),
               upper_socket_names=False),
        League("lal", 3, f"{S3}/league-lal.png", "https://www.laliga.com/en-GB", "home", "1,780,100639,100350",
               "10193", _CREATED, "la-liga", "La Liga", "soccer", (91000000, 91999999),
               LineProfile((0.5, 1.5), 1.6, (5, 8), (2.5, 3.5), 1.6, 1.0, (6, 8)), False, (),
               upper_socket_names=False),
        League("atp", 45, f"{S3}/atp-tour-b4390c4fb8.jpg", "https://www.atptour.com/en/scores/current", "home",
               "1,864,100639,101232", "10365", "2025-11-07T21:08:59.561861Z", "atp", "ATP", "tennis",
               (5000000, 5999999),
               LineProfile((1.5, 6.5), 5.0, (13, 17), (20.5, 23.5), 5.0, 1.0, (17, 21)), False, (),
               upper_socket_names=False),
        League("wta", 46, f"{S3}/wta-logo-41f331bdf1.png", "https://www.wtatennis.com/scores", "home",
               "1,864,100639,102123", "10366", "2025-11-07T21:09:26.309189Z", "wta", "WTA", "tennis",
               (6000000, 6999999),
               LineProfile((1.5, 6.5), 5.0, (12, 16), (19.5, 22.5), 5.0, 1.0, (16, 20)), False, (),
               upper_socket_names=False),
        League("ufc", 48, f"{S3}/ufc.png", "https://www.ufc.com/", "home", "1,100639", "10500",
               "2025-11-07T21:10:21.566359Z", "ufc", "UFC", "mma", (7000000, 7999999),
               LineProfile((0.5, 0.5), 1.0, (0, 0), (1.5, 2.5), 1.0, 1.0, (0, 0)), False, (100240,),
               upper_socket_names=False),
    )
}

# The default "realistic day": games per league (about 150 fixtures, ~12k outcome tokens).
DEFAULT_MIX: dict[str, int] = {
    "cbb": 40,
    "atp": 35,
    "mlb": 15,
    "nfl": 14,
    "nhl": 14,
    "nba": 12,
    "epl": 10,
    "lal": 10,
}

# Series slug / title prefix lookups used by replay to recognise a league.
SERIES_TO_LEAGUE: dict[str, str] = {lg.series: lg.code for lg in LEAGUES.values()}
SERIES_SLUG_TO_LEAGUE: dict[str, str] = {lg.series_slug: lg.code for lg in LEAGUES.values()}
