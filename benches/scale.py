#!/usr/bin/env python3
"""Scale-out throughput on PostgreSQL + S3: pages/s with 1, 2 and 3 `motcua worker` processes.

    benches/scale.sh            # starts PostgreSQL and SeaweedFS, then runs this
    python3 benches/scale.py [--pages 300] [--workers 1,2,3] [--threads 1]

Needs MOTCUA_TEST_PG_URL (an admin URL: a fresh database is created per run) and
MOTCUA_TEST_S3_ENDPOINT (+ AWS keys), as scripts/test.sh exports them. For each worker count:
a fresh database and bucket, `motcua serve` with no workers, the batch uploaded (50 distinct dev
corpus pages per dossier), then N worker processes started (each `--threads` page threads, one
job at a time) and timed until every page is done.
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
BIN = os.path.join(root, "target", "release", "motcua")


def backend_env(data_dir):
    admin = os.environ["MOTCUA_TEST_PG_URL"]
    name = "motcua_b_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", admin, "-qAtc", f"CREATE DATABASE {name}"], check=True)
    env = dict(os.environ)
    env.update({
        "MOTCUA__DB__BACKEND": "postgres",
        "MOTCUA__DB__URL": admin.rsplit("/", 1)[0] + "/" + name,
        "MOTCUA__STORE__BACKEND": "s3",
        "MOTCUA__STORE__ENDPOINT": os.environ["MOTCUA_TEST_S3_ENDPOINT"],
        "MOTCUA__STORE__BUCKET": "motcua-b-" + uuid.uuid4().hex[:12],
        "MOTCUA__STORE__CREATE_BUCKET": "true",
        "MOTCUA__SERVER__DATA_DIR": data_dir,
        "MOTCUA__SERVER__LISTEN": "127.0.0.1:0",
        "RUST_LOG": "warn",
    })
    return env


def corpus_files(n):
    files, seen = [], set()
    for f in sorted(glob.glob(os.path.join(root, "..", "shared", "corpus", "dev", "dev-*"))):
        h = hashlib.sha256(open(f, "rb").read()).hexdigest()
        if h not in seen:
            seen.add(h)
            files.append(f)
    return files[:n]


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=60))


def run(n_workers, pages, threads):
    data = tempfile.mkdtemp(prefix="motcua-scale-")
    env = backend_env(data)
    admin = lambda *a: subprocess.run([BIN, "admin", *a], env=env, check=True, capture_output=True, text=True).stdout.strip()
    admin("unit", "create", "--code", "XA", "--name", "Xã An Bình")
    token = admin("station", "create", "--unit", "XA", "--name", "quầy 1")
    api = subprocess.Popen([BIN, "serve"], env={**env, "MOTCUA__QUEUE__WORKERS": "0"},
                           stdout=subprocess.PIPE, stderr=open(os.path.join(data, "api.log"), "w"), text=True)
    url = api.stdout.readline().strip().removeprefix("listening on ")
    workers = []
    try:
        per = 50
        files = corpus_files(per)
        codes, t_up = [], time.monotonic()
        for d in range((pages + per - 1) // per):
            req = urllib.request.Request(f"{url}/api/v1/dossiers", method="POST",
                                         data=json.dumps({"procedure": "dang-ky-khai-sinh"}).encode(),
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            code = json.load(urllib.request.urlopen(req))["code"]
            codes.append(code)
            batch = files[: min(per, pages - d * per)]
            for i in range(0, len(batch), 10):
                args = ["curl", "-sf", "-o", "/dev/null", "-H", f"Authorization: Bearer {token}"]
                for f in batch[i:i + 10]:
                    args += ["-F", f"file=@{f}"]
                subprocess.run(args + [f"{url}/api/v1/dossiers/{code}/attachments"], check=True)
        t_up = time.monotonic() - t_up

        wenv = {**env, "MOTCUA__QUEUE__WORKERS": "1", "MOTCUA__QUEUE__THREADS": str(threads)}
        t0 = time.monotonic()
        for i in range(n_workers):
            workers.append(subprocess.Popen([BIN, "worker"], env=wenv, stdout=subprocess.DEVNULL,
                                            stderr=open(os.path.join(data, f"worker-{i}.log"), "w")))
        while True:
            att = [a for c in codes for a in get(f"{url}/api/v1/dossiers/{c}", token)["attachments"]]
            settled = [a for a in att if a["status"] in ("done", "failed")]
            if len(settled) == len(att):
                break
            time.sleep(0.25)
        t = time.monotonic() - t0
        done = sum(a["page_count"] or 0 for a in att if a["status"] == "done")
        failed = len(att) - len([a for a in att if a["status"] == "done"])
        print(f"workers {n_workers} x {threads} thread(s)  pages {done:4}  failed {failed}  "
              f"{t:7.2f} s  {done / t:6.3f} pages/s   (upload of the batch: {t_up:.1f} s)", flush=True)
    finally:
        for w in workers:
            w.terminate()
        api.terminate()
        for p in workers + [api]:
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    for var in ("MOTCUA_TEST_PG_URL", "MOTCUA_TEST_S3_ENDPOINT"):
        if var not in os.environ:
            sys.exit(f"{var} is not set: run benches/scale.sh")
    print(f"cores: {os.cpu_count()}  pages: {a.pages}  PostgreSQL + S3 (SeaweedFS)")
    for n in map(int, a.workers.split(",")):
        run(n, a.pages, a.threads)


if __name__ == "__main__":
    main()
