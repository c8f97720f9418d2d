"""Serving the API inside ``mailwarden serve``: uvicorn on the service's own event loop.

The endpoints hand every store query and containment command to worker threads, so the loop
keeps answering Postfix policy requests and Dovecot auth policy requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from mailwarden.api.app import build_app
from mailwarden.api.auth import api_token, token_path
from mailwarden.config import SHARED_TOKEN_OFF
from mailwarden.service import Runtime, _EmbeddedServer

STOP_SECONDS = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A bound socket for the server: OSError here (port in use, unknown host) is a clear
    start-up error, where uvicorn binding it would exit the process."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class ApiServer:
    """The API's uvicorn server; ``start`` raises OSError when it cannot listen."""

    def __init__(self, rt: Runtime, listen: tuple[str, int]) -> None:
        self.rt, self.listen = rt, listen
        self.server: _EmbeddedServer | None = None
        self.task: asyncio.Task[None] | None = None
        self.port = listen[1]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        token = await loop.run_in_executor(None, api_token, self.rt.cfg)
        app = build_app(self.rt.cfg, self.rt.store, token)
        config = uvicorn.Config(app, host=self.listen[0], port=self.listen[1],
                                log_level="warning", access_log=False, lifespan="off",
                                http="httptools", timeout_keep_alive=30, server_header=False,
                                limit_concurrency=100,
                                timeout_graceful_shutdown=int(STOP_SECONDS))
        self.server = _EmbeddedServer(config)
        sock = bind(*self.listen)
        self.port = int(sock.getsockname()[1])  # the one chosen when asked for port 0
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:
            if self.task.done():
                self.task.result()  # raises the start-up error (port in use, ...)
                raise OSError(f"API server did not start on {self.listen[0]}:{self.listen[1]}")
            await asyncio.sleep(0.02)
        host = f"[{self.listen[0]}]" if ":" in self.listen[0] else self.listen[0]
        where = f"{host}:{self.port}"
        if self.rt.cfg.api.token == SHARED_TOKEN_OFF:
            tokens = "a personal token from 'mailwarden api token add'; no shared token"
        else:
            token_from = "[api] token" if self.rt.cfg.api.token else token_path(self.rt.cfg)
            tokens = (f"<token in {token_from}>, or a personal one from "
                      "'mailwarden api token add'")
        print(f"mailwarden: administrators' API listening on http://{where}/api/v1/ "
              f"(Authorization: Bearer {tokens})", flush=True)

    async def stop(self) -> None:
        if self.server is None or self.task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, STOP_SECONDS + 1)
