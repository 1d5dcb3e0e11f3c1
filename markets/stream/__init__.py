"""The price stream: the single holder of the upstream CLOB sockets (see program.py)."""
