"""The public REST API (django-ninja); OpenAPI docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="MEVU API", version="1.0.0", docs_url="/docs", urls_namespace="api")
