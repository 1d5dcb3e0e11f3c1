"""Which sinks (client connections) this process serves and which topics each follows."""

from __future__ import annotations

import collections

from core import metrics
from delivery.sinks import Cursor, Sink


class Registry:
    def __init__(self) -> None:
        self.sinks: set[Sink] = set()
        self.subs: dict[str, set[Sink]] = collections.defaultdict(set)  # topic -> its followers here

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
        self.subs[topic].add(sink)

    def unfollow(self, sink: Sink, topic: str) -> bool:
        """Stop following; returns whether the topic lost its last follower here."""
        if sink.topics.pop(topic, None) is not None:
            metrics.WS_SUBSCRIPTIONS.dec()
        followers = self.subs.get(topic)
        if followers is None:
            return False
        followers.discard(sink)
        if followers:
            return False
        del self.subs[topic]
        return True

    def client_count(self, kind: str) -> int:
        return sum(1 for sink in self.sinks if sink.kind == kind)
