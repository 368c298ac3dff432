"""A small TCP proxy (threads) between the app processes and PostgreSQL.

The topology test points ``DATABASE_URL`` of every app process at this proxy, so it can
"stop the database" without touching the real server: :meth:`TcpProxy.stop` closes every
proxied connection and the listening socket (new connections are refused, as when the
server is down), :meth:`TcpProxy.start` listens again on the same port.
"""

from __future__ import annotations

import socket
import threading
import time


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._accept_thread: threading.Thread | None = None
        self.up = False
        self.accepted = 0  # connections proxied since the start
        self.killed = 0  # connections closed by stop()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "TcpProxy":
        """Listen (again) on ``port`` (a free port the first time)."""
        with self._lock:
            if self.up:
                return self
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            deadline = time.monotonic() + 10
            while True:
                try:
                    listener.bind((self.host, self.port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        listener.close()
                        raise
                    time.sleep(0.1)
            listener.listen(256)
            self.port = listener.getsockname()[1]
            self._listener = listener
            self.up = True
            self._accept_thread = threading.Thread(target=self._accept_loop, args=(listener,),
                                                   name="pg-proxy-accept", daemon=True)
            self._accept_thread.start()
        return self

    def stop(self) -> int:
        """The database "stops": every proxied connection is closed, new ones are refused.
        Returns how many connections were cut."""
        with self._lock:
            self.up = False
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for conn in conns:
            _hard_close(conn)
        self.killed += len(conns) // 2
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        return len(conns) // 2

    def close(self) -> None:
        self.stop()

    @property
    def url_host_port(self) -> str:
        return f"{self.host}:{self.port}"

    # ---------------------------------------------------------------- plumbing

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            if not self.up:
                _hard_close(client)
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _hard_close(client)
                continue
            with self._lock:
                if not self.up:
                    _hard_close(client)
                    _hard_close(server)
                    return
                self._conns.update((client, server))
                self.accepted += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), name="pg-proxy-pump", daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            _hard_close(src)
            _hard_close(dst)


def _hard_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
