"""Run the whole Gamma sync once, synchronously: leagues, teams, games (first deploys, debugging)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from games import services
from games.activeset import active_set_refresh
from games.upstream import GammaClient


class Command(BaseCommand):
    help = "Sync leagues, teams and games from Gamma once (no Celery needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--league", help="only this league code, e.g. nba")
        parser.add_argument("--gamma-url", help="override GAMMA_URL (e.g. a simulator)")
        parser.add_argument("--no-teams", action="store_true", help="skip the /teams refresh")

    def handle(self, *args: Any, **options: Any) -> None:
        with GammaClient(options.get("gamma_url")) as client:
            leagues = services.leagues_sync(client)
            self._print("leagues", leagues)
            selected = services.followed_leagues(options.get("league"))
            if not selected:
                self.stderr.write(f"no followed league matches {options.get('league')!r}")
                return
            teams, games = services.SyncReport(), services.SyncReport()
            with tqdm(selected, unit="league", disable=None) as bar:
                for league in bar:
                    bar.set_description(league.code)
                    if not options["no_teams"]:
                        teams.add(services.teams_sync(client, league))
                    games.add(services.games_sync(client, league))
                    bar.set_postfix(games=games.upserted + games.unchanged, skipped=games.skipped)
        version = active_set_refresh(changed=games.changed_game_ids)
        self._print("teams", teams)
        self._print("games", games)
        self.stdout.write(f"token set version {version}")

    def _print(self, name: str, report: services.SyncReport) -> None:
        self.stdout.write(
            f"{name}: upserted={report.upserted} unchanged={report.unchanged} skipped={report.skipped} "
            f"ignored={report.ignored} vanished={report.vanished}"
        )
        for problem in report.errors[:10]:
            self.stdout.write(f"  {problem}")
