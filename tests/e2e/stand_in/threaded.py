"""``ThreadedStandIn``: a stand-in serving from its own event loop in a background thread, for
synchronous tests (e.g. one that runs the bot as a subprocess)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import DiscordStandIn


class ThreadedStandIn:
    """A stand-in serving from a background thread's event loop."""

    def __init__(self, server: DiscordStandIn) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        """Start the loop thread and the server on it."""
        self._thread.start()
        self.call(self.server.start)

    def stop(self) -> None:
        """Stop the server, the loop and the thread."""
        try:
            self.call(self.server.stop)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def call(self, function: Callable[..., Any], *args: Any, timeout: float = 30.0, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` on the stand-in's loop (awaiting it if it is a
        coroutine function) and return its result."""

        async def run() -> Any:
            result = function(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)
