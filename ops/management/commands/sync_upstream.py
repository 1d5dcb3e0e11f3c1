"""Run the whole Gamma sync once, synchronously: leagues, teams, games (debugging, manual refresh).

A fresh deployment does not need it: every sports worker runs the start-up bootstrap (games.tasks).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from actions.sync import do_sync_catalog
from games import services
from games.upstream import GammaClient
from markets.tokenset import token_set_version


class Command(BaseCommand):
    help = "Sync leagues, teams and games from Gamma once (no Celery needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--league", help="only this league code, e.g. nba")
        parser.add_argument("--gamma-url", help="override GAMMA_URL (e.g. a simulator)")
        parser.add_argument("--no-teams", action="store_true", help="skip the /teams refresh")

    def handle(self, *args: Any, **options: Any) -> None:
        with GammaClient(options.get("gamma_url")) as client, tqdm(unit="game", disable=None) as bar:

            def progress(league_code: str, games: int) -> None:
                bar.set_description(league_code)
                bar.update(games)

            reports = do_sync_catalog(
                client, league_code=options.get("league"), teams=not options["no_teams"], progress=progress
            )
        if options.get("league") and not services.followed_leagues(options["league"]):
            self.stderr.write(f"no followed league matches {options['league']!r}")
        for name, report in reports.items():
            self._print(name, report)
        self.stdout.write(f"token set version {token_set_version()}")

    def _print(self, name: str, report: services.SyncReport) -> None:
        self.stdout.write(
            f"{name}: upserted={report.upserted} unchanged={report.unchanged} skipped={report.skipped} "
            f"ignored={report.ignored} vanished={report.vanished}"
        )
        for problem in report.errors[:10]:
            self.stdout.write(f"  {problem}")
