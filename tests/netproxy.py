"""A TCP proxy on 127.0.0.1 in front of a real server, that can stall the way a network dropping packets does.

``freeze()`` stops forwarding in both directions without closing anything: connections stay open,
new ones are accepted by the kernel and left unanswered, and what either side sends waits, as
unacknowledged packets wait for their retransmission. ``thaw()`` forwards what waited (including a
close that happened meanwhile) and carries on. ``freeze_on(b"...")`` freezes as soon as the client
sends those bytes, before they reach the server: a stall in the middle of a conversation.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

_CHUNK = 65536


class NetProxy:
    """Forwards each connection to ``upstream`` from a thread of its own; frozen or thawed at will."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.frozen = False
        self._trigger: bytes | None = None
        self._peers: dict[socket.socket, socket.socket] = {}
        self._waiting: dict[socket.socket, bytes] = {}  # bytes held for a socket until the thaw
        self._clients: set[socket.socket] = set()
        self._ended: set[socket.socket] = set()  # sockets whose sender closed its side
        self._selector = selectors.DefaultSelector()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="netproxy", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by this proxy's."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def start(self) -> NetProxy:
        self._listener.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._listen(True)
        self._thread.start()
        return self

    def freeze(self) -> None:
        """Forward nothing more, close nothing, answer no new connection."""
        self._change(frozen=True)

    def freeze_on(self, pattern: bytes) -> None:
        """Freeze when a client next sends ``pattern`` (held back with everything after it)."""
        self._change(trigger=pattern)

    def thaw(self) -> None:
        """Forward what waited, then carry on as a plain proxy."""
        self._change(frozen=False)

    def close(self) -> None:
        self._stopping = True
        self._wake_w.send(b"x")
        self._thread.join(5)
        for sock in [*self._peers, self._listener, self._wake_r, self._wake_w]:
            sock.close()
        self._selector.close()

    # -- the forwarding thread -----------------------------------------------------------------

    def _change(self, *, frozen: bool | None = None, trigger: bytes | None = None) -> None:
        with self._lock:
            if frozen is not None:
                self.frozen, self._trigger = frozen, None
            if trigger is not None:
                self._trigger = trigger
        self._wake_w.send(b"x")

    def _run(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(1.0):
                sock = key.fileobj
                if sock is self._wake_r:
                    self._wake_r.recv(_CHUNK)
                    self._apply()
                elif sock is self._listener:
                    self._accept()
                elif not self.frozen:
                    self._forward(sock)  # type: ignore[arg-type]

    def _apply(self) -> None:
        """Start or stop reading everywhere; on a thaw, first deliver what waited."""
        if not self.frozen:
            for sock, data in list(self._waiting.items()):
                del self._waiting[sock]
                self._send(sock, data)
        self._listen(not self.frozen)
        for sock in list(self._peers):
            self._read(sock, not self.frozen and sock not in self._ended)

    def _listen(self, on: bool) -> None:
        self._read(self._listener, on)

    def _read(self, sock: socket.socket, on: bool) -> None:
        registered = sock in self._selector.get_map()
        if on and not registered:
            self._selector.register(sock, selectors.EVENT_READ)
        elif not on and registered:
            self._selector.unregister(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.settimeout(5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peers[client], self._peers[server] = server, client
        self._clients.add(client)
        self._read(client, True)
        self._read(server, True)

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(_CHUNK)
        except OSError:  # reset: the pair is gone
            self._drop(sock)
            return
        if data and sock in self._clients and self._trigger and self._trigger in data:
            self.frozen, self._trigger = True, None
            self._waiting[peer] = self._waiting.get(peer, b"") + data
            self._apply()
            return
        if not data:
            self._ended.add(sock)
            self._read(sock, False)
        self._send(peer, data)

    def _send(self, peer: socket.socket, data: bytes) -> None:
        """Pass ``data`` on; empty data is the other side's close, passed on as a half close."""
        try:
            if data:
                peer.sendall(data)
            else:
                peer.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(peer)
            return
        if not data and peer in self._ended:
            self._drop(peer)

    def _drop(self, sock: socket.socket) -> None:
        for one in (sock, self._peers.get(sock)):
            if one is None:
                continue
            self._read(one, False)
            self._peers.pop(one, None)
            self._clients.discard(one)
            self._ended.discard(one)
            self._waiting.pop(one, None)
            one.close()


@contextmanager
def proxy_to(database_url: str) -> Iterator[NetProxy]:
    """A started proxy in front of the server of ``database_url``; closed afterwards."""
    url = make_url(database_url)
    proxy = NetProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    try:
        yield proxy
    finally:
        proxy.close()
