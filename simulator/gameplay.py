"""How games move: not started -> live periods (per sport) -> final, with score changes.

Each game owns a private ``random.Random`` so its progression does not depend on how price changes
interleave with it. Wall durations are real-world-like and divided by ``--game-speed``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

PRE, LIVE, FINAL, CANCELLED, POSTPONED = "pre", "live", "final", "cancelled", "postponed"


@dataclass(slots=True)
class Segment:
    label: str  # period code sent on the socket ("Q1", "HT", "Top 3", "S2", ...)
    play: bool  # False for breaks
    wall_s: float  # real-world duration at speed 1
    steps: int  # state updates during the segment
    clock_s: int = 0  # countdown clock length (basketball/football/hockey); 0 = none
    minute_base: int = -1  # soccer count-up minutes; -1 = none
    batting: str = ""  # baseball: "away" or "home" scores in this half-inning


@dataclass
class GameState:
    """Full state as broadcast on the sports socket (slug order: team A first)."""

    phase: str = PRE
    score_a: int = 0
    score_b: int = 0
    sets: list[tuple[int, int]] = field(default_factory=list)  # tennis: finished and current set
    period: str = ""
    elapsed: str = ""
    turn: str = ""  # team in possession (football)
    overtime: bool = False
    finished_ms: int | None = None

    def copy(self) -> GameState:
        return GameState(self.phase, self.score_a, self.score_b, list(self.sets), self.period, self.elapsed,
                         self.turn, self.overtime, self.finished_ms)


@dataclass
class Progress:
    """Where a live game is in its timeline."""

    segments: list[Segment]
    seg: int = 0
    step: int = 0
    next_ms: int = 0
    edge: float = 0.0  # team A's scoring advantage in [-0.3, 0.3] (from the pre-game line)


class SportModel:
    """Generic timed sport: periods with a clock, per-step scoring, overtime while tied."""

    kind = "generic"
    statuses = {"pre": "Scheduled", "live": "InProgress", "break": "Break", "final": "Final", "final_ot": "F/OT"}

    def regulation(self, rng: random.Random) -> list[Segment]:
        raise ValueError(self.kind)

    def overtime(self, state: GameState) -> Segment | None:
        return None

    def points(self, rng: random.Random, seg: Segment, mult: float, state: GameState, team: int) -> int:
        return 0

    def duration_s(self) -> float:
        return sum(s.wall_s for s in self.regulation(random.Random(0)))

    # ---------------------------------------------------------------- progression
    def start(self, state: GameState, rng: random.Random, kickoff_ms: int, speed: float, edge: float) -> Progress:
        prog = Progress(self.regulation(rng), next_ms=kickoff_ms, edge=max(-0.3, min(0.3, edge)))
        state.phase = LIVE
        self._enter(state, prog.segments[0])
        prog.next_ms = kickoff_ms + self._step_ms(prog.segments[0], speed)
        return prog

    def resume(self, state: GameState, rng: random.Random, now_ms: int, speed: float, edge: float) -> Progress:
        """Play on from a recorded live state: its score, from the start of its period (else the first)."""
        segments = self.regulation(rng)
        period = state.period.strip().lower()
        seg = next((i for i, s in enumerate(segments) if s.label.lower() == period), 0)
        prog = Progress(segments, seg=seg, edge=max(-0.3, min(0.3, edge)))
        state.phase = LIVE
        prog.next_ms = now_ms + self._step_ms(segments[seg], speed)
        return prog

    def advance(self, state: GameState, prog: Progress, rng: random.Random, speed: float, now_ms: int) -> bool:
        """Run every step due by ``now_ms``; True if the state changed."""
        changed = False
        while state.phase == LIVE and prog.next_ms <= now_ms:
            self._step(state, prog, rng, speed)
            changed = True
        return changed

    def _step(self, state: GameState, prog: Progress, rng: random.Random, speed: float) -> None:
        seg = prog.segments[prog.seg]
        at = prog.next_ms
        if seg.play:
            self._score(state, seg, rng, prog.edge)
        prog.step += 1
        if prog.step < seg.steps:
            self._tick_clock(state, seg, prog.step)
            prog.next_ms = at + self._step_ms(seg, speed)
            return
        prog.seg += 1
        prog.step = 0
        if prog.seg >= len(prog.segments):
            extra = self.overtime(state) if self.tied(state) else None
            if extra is None:
                self.finish(state, at)
                return
            state.overtime = True
            prog.segments.append(extra)
        nxt = prog.segments[prog.seg]
        self._enter(state, nxt)
        prog.next_ms = at + self._step_ms(nxt, speed)

    def _score(self, state: GameState, seg: Segment, rng: random.Random, edge: float) -> None:
        state.score_a += self.points(rng, seg, 1.0 + edge, state, 0)
        state.score_b += self.points(rng, seg, 1.0 - edge, state, 1)

    def tied(self, state: GameState) -> bool:
        return state.score_a == state.score_b

    def finish(self, state: GameState, at_ms: int) -> None:
        state.phase = FINAL
        state.period = "FT OT" if state.overtime else "FT"
        state.elapsed = ""
        state.turn = ""
        state.finished_ms = at_ms

    def _enter(self, state: GameState, seg: Segment) -> None:
        state.period = seg.label
        if seg.clock_s:
            state.elapsed = _clock(seg.clock_s)
        elif seg.minute_base >= 0:
            state.elapsed = str(seg.minute_base)
        else:
            state.elapsed = ""

    def _tick_clock(self, state: GameState, seg: Segment, step: int) -> None:
        if seg.clock_s:
            state.elapsed = _clock(seg.clock_s * (seg.steps - step) // seg.steps)
        elif seg.minute_base >= 0:
            state.elapsed = str(seg.minute_base + step)

    @staticmethod
    def _step_ms(seg: Segment, speed: float) -> int:
        return max(1, int(seg.wall_s * 1000 / seg.steps / speed))

    # ---------------------------------------------------------------- presentation
    def score_text(self, state: GameState) -> str:
        return f"{state.score_a}-{state.score_b}"

    def status(self, state: GameState) -> str:
        if state.phase == PRE:
            return self.statuses["pre"]
        if state.phase == CANCELLED:
            return "Canceled"
        if state.phase == POSTPONED:
            return "Postponed"
        if state.phase == FINAL:
            return self.statuses["final_ot"] if state.overtime else self.statuses["final"]
        if state.period in ("HT", "INT", "Break"):
            return self.statuses["break"]
        return self.statuses["live"]

    def progress_fraction(self, state: GameState, prog: Progress | None) -> float:
        """Share of the game still to play (1 before kickoff, 0 at the end)."""
        if state.phase in (PRE, POSTPONED) or prog is None:
            return 1.0
        if state.phase != LIVE:
            return 0.0
        total = sum(s.steps for s in prog.segments if s.play) or 1
        done = sum(s.steps for s in prog.segments[: prog.seg] if s.play)
        if prog.seg < len(prog.segments) and prog.segments[prog.seg].play:
            done += prog.step
        return max(0.0, 1.0 - done / total)


def _clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def _basket(rng: random.Random, per_step: float) -> int:
    # Expected points per step ≈ per_step: a mix of 2s, 3s and free throws.
    r = rng.random() / per_step
    if r < 0.30:
        return 2
    if r < 0.40:
        return 3
    if r < 0.48:
        return 1
    return 0


class Basketball(SportModel):
    kind = "basketball"

    def __init__(self, halves: bool = False) -> None:
        self.halves = halves

    def regulation(self, rng: random.Random) -> list[Segment]:
        if self.halves:  # college: two 20-minute halves
            return [Segment("1H", True, 2700, 40, clock_s=1200), Segment("HT", False, 1200, 1),
                    Segment("2H", True, 2700, 40, clock_s=1200)]
        quarter = [Segment(f"Q{i}", True, 1650, 24, clock_s=720) for i in range(1, 5)]
        return [quarter[0], quarter[1], Segment("HT", False, 900, 1), quarter[2], quarter[3]]

    def overtime(self, state: GameState) -> Segment:
        return Segment("OT", True, 700, 10, clock_s=300)

    def points(self, rng: random.Random, seg: Segment, mult: float, state: GameState, team: int) -> int:
        per_step = (36.0 / 40) if self.halves else (28.0 / 24)
        return _basket(rng, per_step * mult)


class Football(SportModel):
    kind = "football"

    def regulation(self, rng: random.Random) -> list[Segment]:
        q = [Segment(f"Q{i}", True, 2700, 30, clock_s=900) for i in range(1, 5)]
        return [q[0], q[1], Segment("HT", False, 1200, 1), q[2], q[3]]

    def overtime(self, state: GameState) -> Segment:
        return Segment("OT", True, 1200, 10, clock_s=600)

    def points(self, rng: random.Random, seg: Segment, mult: float, state: GameState, team: int) -> int:
        # Only the team in possession can score this step.
        if (state.turn == "a") != (team == 0):
            return 0
        r = rng.random() / mult
        if r < 0.04:
            return 7
        if r < 0.065:
            return 3
        return 0

    def _score(self, state: GameState, seg: Segment, rng: random.Random, edge: float) -> None:
        if not state.turn:
            state.turn = "a" if rng.random() < 0.5 else "b"
        before = (state.score_a, state.score_b)
        super()._score(state, seg, rng, edge)
        if before != (state.score_a, state.score_b) or rng.random() < 0.25:
            state.turn = "b" if state.turn == "a" else "a"


class Hockey(SportModel):
    kind = "hockey"

    def regulation(self, rng: random.Random) -> list[Segment]:
        p = [Segment(f"P{i}", True, 2100, 20, clock_s=1200) for i in range(1, 4)]
        return [p[0], Segment("INT", False, 1080, 1), p[1], Segment("INT", False, 1080, 1), p[2]]

    def overtime(self, state: GameState) -> Segment:
        return Segment("OT", True, 600, 5, clock_s=300)

    def points(self, rng: random.Random, seg: Segment, mult: float, state: GameState, team: int) -> int:
        if seg.label == "OT" and rng.random() < 0.25 * mult:
            return 1
        return 1 if rng.random() < 0.05 * mult else 0


class Baseball(SportModel):
    kind = "baseball"

    def regulation(self, rng: random.Random) -> list[Segment]:
        out = []
        for inning in range(1, 10):
            out.append(Segment(f"Top {inning}", True, 540, 3, batting="away"))
            out.append(Segment(f"Bot {inning}", True, 540, 3, batting="home"))
        return out

    def overtime(self, state: GameState) -> Segment:
        return Segment("Extra", True, 1080, 6, batting="both")

    def _step(self, state: GameState, prog: Progress, rng: random.Random, speed: float) -> None:
        at = prog.next_ms
        super()._step(state, prog, rng, speed)
        # Home (team B) ahead in the bottom of the 9th: not played, or a walk-off.
        if state.phase == LIVE and prog.segments[prog.seg].label == "Bot 9" and state.score_b > state.score_a:
            self.finish(state, at)

    def _score(self, state: GameState, seg: Segment, rng: random.Random, edge: float) -> None:
        # Team A is the away team in baseball (ordering "away").
        for team, side in ((0, "away"), (1, "home")):
            if seg.batting in (side, "both"):
                r = rng.random() / (1.0 + (edge if team == 0 else -edge))
                runs = 2 if r < 0.03 else 1 if r < 0.16 else 0
                if seg.batting == "both" and team == 1 and state.score_a == state.score_b:
                    runs = max(runs, 1 if rng.random() < 0.5 else 0)
                if team == 0:
                    state.score_a += runs
                else:
                    state.score_b += runs


class Soccer(SportModel):
    kind = "soccer"
    statuses = {"pre": "Scheduled", "live": "InProgress", "break": "Break", "final": "Final", "final_ot": "Final"}

    def regulation(self, rng: random.Random) -> list[Segment]:
        return [Segment("1H", True, 2820, 45, minute_base=0), Segment("HT", False, 900, 1),
                Segment("2H", True, 2820, 45, minute_base=45)]

    def points(self, rng: random.Random, seg: Segment, mult: float, state: GameState, team: int) -> int:
        return 1 if rng.random() < 0.015 * mult else 0


class Tennis(SportModel):
    """Best of three sets; one step per game."""

    kind = "tennis"
    statuses = {"pre": "not_started", "live": "inprogress", "break": "inprogress", "final": "finished",
                "final_ot": "finished"}
    game_wall_s = 240.0

    def regulation(self, rng: random.Random) -> list[Segment]:
        return [Segment("S1", True, self.game_wall_s, 1)]

    def duration_s(self) -> float:
        return 22 * self.game_wall_s

    def start(self, state: GameState, rng: random.Random, kickoff_ms: int, speed: float, edge: float) -> Progress:
        prog = super().start(state, rng, kickoff_ms, speed, edge)
        state.sets = [(0, 0)]
        return prog

    def resume(self, state: GameState, rng: random.Random, now_ms: int, speed: float, edge: float) -> Progress:
        state.sets = state.sets or [(0, 0)]
        return super().resume(state, rng, now_ms, speed, edge)

    def _step(self, state: GameState, prog: Progress, rng: random.Random, speed: float) -> None:
        at = prog.next_ms
        a, b = state.sets[-1]
        if rng.random() < 0.5 + prog.edge / 2:
            a += 1
        else:
            b += 1
        state.sets[-1] = (a, b)
        set_over = (max(a, b) >= 6 and abs(a - b) >= 2) or max(a, b) == 7
        if set_over:
            if a > b:
                state.score_a += 1
            else:
                state.score_b += 1
            if max(state.score_a, state.score_b) == 2:
                self.finish(state, at)
                return
            state.sets.append((0, 0))
            state.period = f"S{len(state.sets)}"
        prog.next_ms = at + self._step_ms(prog.segments[0], speed)

    def score_text(self, state: GameState) -> str:
        if not state.sets:
            return "0-0"
        return ", ".join(f"{a}-{b}" for a, b in state.sets)

    def games(self, state: GameState) -> tuple[int, int]:
        return sum(a for a, _ in state.sets), sum(b for _, b in state.sets)

    def progress_fraction(self, state: GameState, prog: Progress | None) -> float:
        if state.phase in (PRE, POSTPONED) or prog is None:
            return 1.0
        if state.phase != LIVE:
            return 0.0
        played = sum(a + b for a, b in state.sets)
        return max(0.05, 1.0 - played / 24)


class Mma(SportModel):
    kind = "mma"

    def regulation(self, rng: random.Random) -> list[Segment]:
        rounds = [Segment(f"R{i}", True, 300, 5, clock_s=300) for i in range(1, 4)]
        return [rounds[0], Segment("Break", False, 60, 1), rounds[1], Segment("Break", False, 60, 1), rounds[2]]

    def _score(self, state: GameState, seg: Segment, rng: random.Random, edge: float) -> None:
        # A finish ends the fight: recorded as 1-0 / 0-1, decided at the next tie check.
        if rng.random() < 0.04:
            if rng.random() < 0.5 + edge / 2:
                state.score_a = 1
            else:
                state.score_b = 1

    def advance(self, state: GameState, prog: Progress, rng: random.Random, speed: float, now_ms: int) -> bool:
        changed = False
        while state.phase == LIVE and prog.next_ms <= now_ms:
            self._step(state, prog, rng, speed)
            changed = True
            if state.phase == LIVE and state.score_a != state.score_b:
                self.finish(state, prog.next_ms)
        return changed

    def overtime(self, state: GameState) -> Segment | None:
        # Went the distance: the judges decide (no extra round).
        return None

    def finish(self, state: GameState, at_ms: int) -> None:
        if state.score_a == state.score_b:
            state.score_a = 1
        super().finish(state, at_ms)
        state.period = "FT"


MODELS: dict[str, type[SportModel]] = {
    "basketball": Basketball,
    "football": Football,
    "hockey": Hockey,
    "baseball": Baseball,
    "soccer": Soccer,
    "tennis": Tennis,
    "mma": Mma,
}


def model_for(kind: str, league: str) -> SportModel:
    if kind == "basketball":
        return Basketball(halves=(league == "cbb"))
    return MODELS[kind]()


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
