"""The Django admin of the running system: catalog screens (games, markets) and the price stream's status.

Django imports this module (ops is an installed app); importing the screens registers them."""

from ops.admin import games, markets, stream

__all__ = ["games", "markets", "stream"]
