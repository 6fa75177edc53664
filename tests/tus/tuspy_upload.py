"""Uploads one file with tuspy (the tus project's Python client), as a station would.

    tuspy_upload.py ENDPOINT TOKEN DOSSIER FILE CHUNK_BYTES

Retries (HEAD for the offset, then PATCH from there) after every dropped connection; each
chunk carries its sha1 Upload-Checksum. Prints {"url": ...} on success.
"""
import json
import sys

from tusclient import client

endpoint, token, dossier, path, chunk = sys.argv[1:6]
c = client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
up = c.uploader(
    path,
    chunk_size=int(chunk),
    metadata={"dossier": dossier, "filename": path.rsplit("/", 1)[-1]},
    retries=50,
    retry_delay=0.2,
    upload_checksum=True,
)
up.upload()
print(json.dumps({"url": up.url, "offset": up.offset}))
