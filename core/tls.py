"""One TLS context per process for the HTTP clients to Polymarket.

Building one loads the CA bundle (about 50 ms of CPU); the clients are made per task run or per request,
and would otherwise pay that every time. A context is safe to share between clients and threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()
