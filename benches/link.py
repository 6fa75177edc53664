#!/usr/bin/env python3
"""A station's upload over a slow link that drops, four ways, side by side.

Starts `motcua serve` on a temp data dir and puts a proxy in front of it that throttles the
client's bytes to RATE bytes/s and drops the connection carrying the client's byte number D
for each D in DROPS (counted over all connections, so every method meets the same drops at the
same points of its traffic). Then the same FILE (an uncompressed TIFF of MB megabytes) goes:

  multipart       one POST of the whole file, sent again from the start after each drop
  tuspy           the tus project's Python client, 1 MiB chunks with sha1 checksums
  tus-js-client   the tus project's JavaScript client, one PATCH resumed after each drop
  motcua station  our uploader on a hot folder, 1 MiB chunks

and reports wall time, bytes the proxy forwarded and how many drops each met.

    benches/link.py [--mb 10] [--rate 250000] [--drops 3,7,12,18]
"""
import argparse
import asyncio
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
BIN = HERE / "target/release/motcua"
CLIENTS = Path(os.environ.get("MOTCUA_TUS_CLIENTS", "/usr/local/share/motcua/tus-clients"))


class Link:
    """The throttled proxy; `reset` starts a new run with its own drops and counters."""

    def __init__(self, target_port, rate):
        self.target_port, self.rate = target_port, rate
        self.loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.sock = sock
        threading.Thread(target=self._run, daemon=True).start()

    def reset(self, drops):
        self.sent, self.drops, self.dropped = 0, list(drops), 0
        self.start = time.monotonic()

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def main():
            server = await asyncio.start_server(self._serve, sock=self.sock)
            async with server:
                await server.serve_forever()

        self.loop.run_until_complete(main())

    async def _serve(self, cr, cw):
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cw.close()
            return

        async def back():
            try:
                while data := await sr.read(65536):
                    cw.write(data)
                    await cw.drain()
            except OSError:
                pass
            cw.close()

        task = asyncio.ensure_future(back())
        try:
            while data := await cr.read(16384):
                cut = False
                if self.drops and self.sent + len(data) >= self.drops[0]:
                    data = data[: max(0, self.drops.pop(0) - self.sent)]
                    cut = True
                self.sent += len(data)
                sw.write(data)
                await sw.drain()
                # Paced to the link's rate since the run started.
                due = self.sent / self.rate - (time.monotonic() - self.start)
                if due > 0:
                    await asyncio.sleep(due)
                if cut:
                    self.dropped += 1
                    break
        except OSError:
            pass
        sw.write_eof() if sw.can_write_eof() else None
        cw.close()
        await asyncio.sleep(0.05)
        sw.close()
        task.cancel()


def tiff(path, mb):
    """An uncompressed 8-bit greyscale TIFF of about `mb` MB (one strip)."""
    w = 2480
    h = mb * 1_000_000 // w
    pixels = bytes((x * 7 + y) & 0xFF for y in range(8) for x in range(w)) * (h // 8)
    h = len(pixels) // w
    entries = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8), (277, 3, 1), (278, 4, h), (279, 4, len(pixels))]
    ifd_at = 8 + len(pixels)
    head = b"II*\x00" + struct.pack("<I", ifd_at)
    ifd = struct.pack("<H", len(entries))
    for tag, typ, val in entries:
        ifd += struct.pack("<HHI", tag, typ, 1) + (struct.pack("<HH", val, 0) if typ == 3 else struct.pack("<I", val))
    ifd += struct.pack("<I", 0)
    path.write_bytes(head + pixels + ifd)


def multipart(url, token, code, path):
    import http.client
    data = path.read_bytes()
    b = "motcua-bench-boundary"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    host, port = url.split("//")[1].split(":")
    for attempt in range(100):
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=600)
            c.request("POST", f"/api/v1/dossiers/{code}/attachments", body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={b}"})
            r = c.getresponse()
            r.read()
            if r.status == 202:
                return attempt + 1
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError("multipart never finished")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=10)
    ap.add_argument("--rate", type=int, default=250_000)
    ap.add_argument("--drops", default="3,7,12,18")
    a = ap.parse_args()
    drops = [int(float(x) * 1_000_000) for x in a.drops.split(",")]
    work = Path(tempfile.mkdtemp())
    env = dict(os.environ, MOTCUA__SERVER__DATA_DIR=str(work / "server"),
               MOTCUA__SERVER__LISTEN="127.0.0.1:0", RUST_LOG="warn",
               # The bench is about the link: no OCR competing for the 2 cores.
               MOTCUA__QUEUE__WORKERS="0")
    run = lambda *args: subprocess.run([str(BIN), *args], env=env, check=True,
                                       capture_output=True, text=True).stdout.strip()
    run("admin", "unit", "create", "--code", "XA", "--name", "Xã A")
    token = run("admin", "station", "create", "--unit", "XA", "--name", "bench")
    serve = subprocess.Popen([str(BIN), "serve"], env=env, stdout=subprocess.PIPE,
                             stderr=open(work / "serve.log", "w"), text=True)
    try:
        url = serve.stdout.readline().strip().removeprefix("listening on ")
        port = int(url.rsplit(":", 1)[1])
        link = Link(port, a.rate)
        proxy = f"http://127.0.0.1:{link.port}"
        f = work / "stack.tif"
        tiff(f, a.mb)
        size = f.stat().st_size

        def dossier():
            req = urllib.request.Request(f"{url}/api/v1/dossiers", method="POST",
                                         data=b'{"procedure":"dang-ky-khai-sinh"}', headers={
                                             "Authorization": f"Bearer {token}",
                                             "Content-Type": "application/json"})
            return json.load(urllib.request.urlopen(req))["code"]

        def station(code):
            hot = work / "hot"
            shutil.rmtree(hot, ignore_errors=True)
            (hot / code).mkdir(parents=True)
            (work / "token").write_text(token)
            senv = dict(env, MOTCUA__SERVER__DATA_DIR=str(work / "station"),
                        MOTCUA__STATION__STABLE_SECS="0", MOTCUA__STATION__POLL_SECS="1",
                        MOTCUA__STATION__RETRY_BASE_MS="200", MOTCUA__STATION__RETRY_MAX_SECS="1")
            p = subprocess.Popen([str(BIN), "station", "--server", proxy, "--token-file",
                                  str(work / "token"), "--watch", str(hot)], env=senv,
                                 stderr=open(work / "station.log", "w"))
            shutil.copy(f, hot / code / f.name)
            while not (hot / "sent" / code / f.name).exists():
                time.sleep(0.1)
            p.terminate()
            p.wait()

        methods = {
            "multipart": lambda code: multipart(proxy, token, code, f),
            "tuspy": lambda code: subprocess.run(
                [str(CLIENTS / "venv/bin/python"), str(HERE / "tests/tus/tuspy_upload.py"),
                 f"{proxy}/api/v1/uploads", token, code, str(f), str(1 << 20)],
                check=True, capture_output=True),
            "tus-js-client": lambda code: subprocess.run(
                ["node", str(HERE / "tests/tus/tusjs_upload.mjs"), f"{proxy}/api/v1/uploads",
                 token, code, str(f)], check=True, capture_output=True,
                env=dict(os.environ, MOTCUA_TUS_CLIENTS=str(CLIENTS))),
            "motcua station": station,
        }
        print(f"{size / 1e6:.1f} MB file, link {a.rate * 8 / 1e6:.1f} Mbit/s, "
              f"drops at {a.drops} MB of the client's traffic; ideal {size / a.rate:.0f} s")
        print("| method | time | sent | sent / file | drops met |")
        print("| --- | --- | --- | --- | --- |")
        for name, go in methods.items():
            code = dossier()
            link.reset(drops)
            t = time.monotonic()
            go(code)
            dt = time.monotonic() - t
            print(f"| {name} | {dt:.0f} s | {link.sent / 1e6:.1f} MB | {link.sent / size:.2f}× "
                  f"| {link.dropped} |", flush=True)
    finally:
        serve.terminate()
        serve.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
