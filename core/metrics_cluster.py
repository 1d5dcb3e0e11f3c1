"""Cluster-wide facts read from Redis at scrape time, so every endpoint reports the same truth.

The per-process gauges say which instance *believes* it holds the stream lease; these say whether
Redis has a holder at all (an expired or frozen holder's key is gone), the current fencing token and
how long ago the holder last renewed. Redis unreachable: `mevu_redis_up 0` and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from core import metrics
from core.lease import lease_status

CLUSTER_LEASES = ("stream",)


class ClusterCollector(Collector):
    def collect(self) -> Iterator[Metric]:

        up = GaugeMetricFamily("mevu_redis_up", "1 if the scraped process reached Redis during this scrape.")
        held = GaugeMetricFamily(
            "mevu_lease_cluster_held", "1 if Redis holds a live lease (any holder, cluster-wide).", labels=["lease"]
        )
        fence = GaugeMetricFamily(
            "mevu_lease_cluster_fencing_token", "The current fencing token in Redis.", labels=["lease"]
        )
        since = GaugeMetricFamily(
            "mevu_lease_cluster_since_renewal_seconds", "Seconds since the holder last renewed.", labels=["lease"]
        )
        try:
            statuses = [lease_status(name) for name in CLUSTER_LEASES]
        except Exception as exc:  # a scrape never fails because Redis does
            metrics.backend_error(exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        for status in statuses:
            held.add_metric([status["name"]], 1.0 if status["held"] else 0.0)
            fence.add_metric([status["name"]], float(status["fence"]))
            if status["since_renewal_s"] is not None:
                since.add_metric([status["name"]], float(status["since_renewal_s"]))
        yield from (up, held, fence, since)


def metrics_render() -> tuple[bytes, str]:
    """The Prometheus text exposition (format 0.0.4, read by every Prometheus version) of this container
    (all processes) or, without a multiprocess directory, of this process; plus the cluster facts."""
    registry = REGISTRY
    if metrics.multiprocess_enabled():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    cluster = CollectorRegistry()
    cluster.register(ClusterCollector())
    cluster_text = generate_latest(cluster)  # first: a Redis error it meets is counted in this scrape
    return generate_latest(registry) + cluster_text, CONTENT_TYPE_PLAIN_0_0_4
