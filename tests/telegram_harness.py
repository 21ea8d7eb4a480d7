"""Run the real Telegram channel (python-telegram-bot) in its own thread and event loop, as a
separate bot process would, against the fake Bot API server of tests/fake_telegram.py."""

from __future__ import annotations

import asyncio
import threading
import time

from bot.telegram import build_channel
from tongban.channels import declare_push
from tongban.runtime import Runtime
from tongban.settings import Settings

TOKEN = "123456:TEST-TOKEN"


def bot_settings(backend: dict, fake, **telegram) -> Settings:
    return Settings(env="test", data_dir=backend["data_dir"], database=backend["database"],
                    knowledge={"watch_interval": 0},
                    telegram={"token": TOKEN, "base_url": fake.base_url, "base_file_url": fake.base_file_url,
                              "outbox_interval": 0.2, "request_timeout": 3.0, **telegram})


class RunningBot:
    """``with RunningBot(settings, kb, interpreter) as bot:`` — polling until the block ends."""

    def __init__(self, settings: Settings, kb, interpreter, *, polling: bool = True):
        self.settings = settings
        self.kb = kb
        self.interpreter = interpreter
        self.polling = polling
        self.runtime: Runtime | None = None
        self.channel = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self._sweeps = 0  # outbox sweeps finished (the bot's loop counts them)
        self._thread = threading.Thread(target=self._run, name="telegram-bot", daemon=True)

    def __enter__(self) -> "RunningBot":
        declare_push()  # as the app does: Telegram conversations are sent their notifications
        self.runtime = Runtime.build(self.settings, knowledge=self.kb, interpreter=self.interpreter)
        self._thread.start()
        if not self._ready.wait(30):
            raise AssertionError("the bot did not start within 30 s")
        if self._error:
            raise self._error
        return self

    def __exit__(self, *exc) -> None:
        if self.loop is not None and self._stop_event is not None:
            self.loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join(30)
        self.runtime.close(stop_knowledge=False)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            self.channel = build_channel(self.runtime)
            self._count_sweeps(self.channel.delivery)
            await self.channel.start(polling=self.polling, poll_interval=0.0, poll_timeout=1)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop_event.wait()
        await self.channel.stop()

    def _count_sweeps(self, delivery) -> None:
        sweep = delivery.sweep

        async def counted() -> int:
            try:
                return await sweep()
            finally:
                self._sweeps += 1

        delivery.sweep = counted  # the sweeper looks it up on each round

    def wait_sweeps(self, count: int = 2, timeout: float = 20.0) -> None:
        """Wait until ``count`` more outbox sweeps have finished. With 2 (or more), at least one of
        them began after this call: whatever was due when it was made has been tried — the signal
        to wait for before asserting that something was *not* sent."""
        target = self._sweeps + count
        deadline = time.monotonic() + timeout
        while self._sweeps < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"{target - self._sweeps} of {count} outbox sweeps not done in {timeout} s")
            time.sleep(0.01)

    def call(self, coroutine, timeout: float = 30.0):
        """Run a coroutine in the bot's loop (e.g. ``bot.channel.delivery.sweep()``)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)
