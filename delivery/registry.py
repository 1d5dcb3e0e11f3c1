"""Which sinks (client connections) this process serves and which topics each follows."""

from __future__ import annotations

import collections

from core import metrics
from delivery.sinks import Cursor, Sink


class Registry:
    def __init__(self) -> None:
        self.sinks: set[Sink] = set()
        # topic -> protocol version -> its followers here (a frame is built once per protocol in use)
        self.subs: dict[str, dict[int, set[Sink]]] = collections.defaultdict(dict)

    def attach(self, sink: Sink) -> None:
        self.sinks.add(sink)

    def detach(self, sink: Sink) -> list[str]:
        """Forget the sink; returns the topics nobody here follows any more."""
        sink.closed = True
        self.sinks.discard(sink)
        return [topic for topic in list(sink.topics) if self.unfollow(sink, topic)]

    def follow(self, sink: Sink, topic: str, cursor: Cursor) -> None:
        if topic not in sink.topics:
            metrics.WS_SUBSCRIPTIONS.inc()
        sink.topics[topic] = cursor
        self.subs[topic].setdefault(sink.version, set()).add(sink)

    def unfollow(self, sink: Sink, topic: str) -> bool:
        """Stop following; returns whether the topic lost its last follower here."""
        if sink.topics.pop(topic, None) is not None:
            metrics.WS_SUBSCRIPTIONS.dec()
        by_version = self.subs.get(topic)
        if by_version is None:
            return False
        followers = by_version.get(sink.version, set())
        followers.discard(sink)
        if not followers:
            by_version.pop(sink.version, None)
        if by_version:
            return False
        del self.subs[topic]
        return True

    def client_count(self, kind: str) -> int:
        return sum(1 for sink in self.sinks if sink.kind == kind)
