"""python-telegram-bot's HTTP transport on aiohttp.

PTB's default transport (httpx) costs several times more CPU per request than aiohttp; under
load the bot's event loop spent about a third of its time inside it (bench/results). This
implements PTB's ``BaseRequest`` with the same timeouts and error mapping as ``HTTPXRequest``:
timeouts → ``TimedOut``, other transport failures → ``NetworkError``.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    __slots__ = ("_session", "_pool_size", "_timeouts", "_client_timeouts")

    def __init__(self, *, connection_pool_size: int = 16, connect_timeout: float = 5.0,
                 read_timeout: float = 5.0, write_timeout: float = 5.0, pool_timeout: float = 1.0):
        self._session: aiohttp.ClientSession | None = None
        self._pool_size = connection_pool_size
        self._timeouts = {"connect": connect_timeout, "read": read_timeout, "write": write_timeout,
                          "pool": pool_timeout}
        self._client_timeouts: dict[tuple, aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            # the Bot API sets no cookies: no cookie jar to consult on every call
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                  headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE,
                         pool_timeout=BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")

        def pick(value, name: str) -> float | None:
            return self._timeouts[name] if isinstance(value, DefaultValue) else value

        read, write = pick(read_timeout, "read"), pick(write_timeout, "write")
        key = (pick(pool_timeout, "pool"), pick(connect_timeout, "connect"), read, write)
        timeout = self._client_timeouts.get(key)
        if timeout is None:
            timeout = self._client_timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=key[0], sock_connect=key[1],
                sock_read=max(x for x in (read, write, 1.0) if x is not None))
        data, headers = None, None
        if request_data is not None:
            if request_data.multipart_data:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:  # one JSON body (the Bot API takes JSON as well as forms): cheaper than URL-encoding
                data, headers = request_data.json_payload, {"Content-Type": "application/json"}
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
