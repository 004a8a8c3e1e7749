"""tuspy 1.1.0 against shoebox-server.

1. A ~10 MiB upload with upload_checksum=True (Upload-Checksum: sha1 on every 1 MiB PATCH): the asset's
   original must be byte-identical.
2. Wrong per-chunk checksums (raw requests): 460, the offset does not advance, no asset appears; the
   same chunk with the right checksum then goes through; a wrong checksum on the completing PATCH
   creates no asset either.
3. A wrong whole-file `checksum` in Upload-Metadata: the completing PATCH gets 460, no asset.

Env: SHOEBOX_URL (http://IP:PORT), SHOEBOX_KEY (API key). Prints PASS/FAIL lines.
"""

import base64
import hashlib
import os
import sys
import tempfile
import traceback

import requests
from tusclient import client as tus_client

BASE = os.environ["SHOEBOX_URL"]
KEY = os.environ["SHOEBOX_KEY"]
T = "tuspy"
MiB = 1024 * 1024
failures = 0


def report(name, ok, good="", bad=""):
    global failures
    if ok:
        print(f"PASS: {name}" + (f" — {good}" if good else ""))
    else:
        failures += 1
        print(f"FAIL: {name}" + (f" — {bad}" if bad else ""))
    sys.stdout.flush()
    return ok


def short(s, n=300):
    s = str(s)
    return s if len(s) <= n else s[:n] + "…"


def api(method, path, **kw):
    headers = {"x-api-key": KEY, **kw.pop("headers", {})}
    return requests.request(method, BASE + path, headers=headers, timeout=60, **kw)


def tus(method, url, **kw):
    headers = {"x-api-key": KEY, "Tus-Resumable": "1.0.0", **kw.pop("headers", {})}
    return requests.request(method, url if url.startswith("http") else BASE + url, headers=headers, timeout=60, **kw)


def b64(b):
    return base64.b64encode(b).decode()


def metadata_header(md):
    return ",".join(f"{k} {b64(v.encode())}" for k, v in md.items())


def original_sha1(asset_id):
    r = api("GET", f"/api/assets/{asset_id}/original")
    return r.status_code, hashlib.sha1(r.content).hexdigest(), len(r.content)


def bulk_check(sha1hex):
    r = api("POST", "/api/assets/bulk-upload-check", json={"assets": [{"id": "x", "checksum": sha1hex}]})
    if r.status_code not in (200, 201):
        return None, f"bulk-upload-check → {r.status_code} {short(r.text)}"
    res = (r.json().get("results") or [{}])[0]
    return res, None


def test_tuspy_upload(work):
    data = os.urandom(10 * MiB + 12345)
    sha1 = hashlib.sha1(data).hexdigest()
    path = os.path.join(work, "tuspy clip.mov")
    with open(path, "wb") as f:
        f.write(data)
    client = tus_client.TusClient(BASE + "/api/upload", headers={"x-api-key": KEY})
    seen_checksums = []
    import tusclient.request as treq

    orig_add = treq.BaseTusRequest.add_checksum

    def spy(self, chunk):  # record what tuspy sends, to prove the checksum path was exercised
        orig_add(self, chunk)
        seen_checksums.append(self._request_headers.get("upload-checksum"))

    treq.BaseTusRequest.add_checksum = spy
    try:
        uploader = client.uploader(
            path,
            chunk_size=MiB,
            upload_checksum=True,
            retries=2,
            retry_delay=1,
            metadata={"filename": "tuspy clip.mov", "filetype": "video/quicktime", "checksum": sha1},
        )
        uploader.upload()
    except Exception as e:  # noqa: BLE001
        resp = getattr(e, "response_content", None)
        report(f"{T}: upload with upload_checksum=True", False, bad=f"{type(e).__name__}: {e} {short(resp)}")
        return
    finally:
        treq.BaseTusRequest.add_checksum = orig_add
    n_chunks = -(-len(data) // MiB)
    report(
        f"{T}: upload with upload_checksum=True",
        uploader.offset == len(data) and len(seen_checksums) == n_chunks and all(c and c.startswith("sha1 ") for c in seen_checksums),
        good=f"{len(seen_checksums)} PATCHes with Upload-Checksum sha1, final offset {uploader.offset}",
        bad=f"offset {uploader.offset}/{len(data)}, checksums sent {len(seen_checksums)}/{n_chunks}",
    )
    hdrs = uploader.request.response_headers
    asset_id = hdrs.get("shoebox-asset-id")
    report(
        f"{T}: completing PATCH names the asset",
        bool(asset_id) and hdrs.get("shoebox-asset-status") == "created",
        good=f"asset {asset_id}",
        bad=f"last PATCH status {uploader.request.status_code}, headers {short(hdrs)}",
    )
    if not asset_id:
        return
    st, got, size = original_sha1(asset_id)
    report(
        f"{T}: original byte-identical to source",
        st == 200 and got == sha1 and size == len(data),
        good=f"SHA-1 {got}",
        bad=f"GET /api/assets/{asset_id}/original → {st}, {size} B, sha1 {got}, want {sha1}",
    )
    res, err = bulk_check(sha1)
    report(
        f"{T}: bulk-upload-check knows the uploaded file",
        res is not None and res.get("action") == "reject" and res.get("assetId") == asset_id,
        good="reject/duplicate", bad=err or short(res),
    )


def create_upload(data, sha1, name):
    md = {"filename": name, "filetype": "image/jpeg", "checksum": sha1}
    r = tus("POST", "/api/upload", headers={"Upload-Length": str(len(data)), "Upload-Metadata": metadata_header(md)})
    loc = r.headers.get("Location")
    return r, loc


def head_offset(loc):
    h = tus("HEAD", loc)
    return h.status_code, h.headers.get("Upload-Offset")


def patch(loc, offset, body, checksum_b64=None):
    headers = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)}
    if checksum_b64 is not None:
        headers["Upload-Checksum"] = f"sha1 {checksum_b64}"
    return tus("PATCH", loc, headers=headers, data=body)


def test_wrong_checksum():
    data = b"\xff\xd8\xff\xe0" + os.urandom(2 * MiB - 4)
    sha1 = hashlib.sha1(data).hexdigest()
    c1, c2 = data[:MiB], data[MiB:]
    wrong = b64(hashlib.sha1(b"definitely not this chunk").digest())
    r, loc = create_upload(data, sha1, "bad checksum.jpg")
    if not report(f"{T}/checksum: create upload", r.status_code == 201 and loc, good=loc, bad=f"POST /api/upload → {r.status_code} {short(r.text)}"):
        return

    p = patch(loc, 0, c1, wrong)
    report(f"{T}/checksum: PATCH with wrong Upload-Checksum → 460", p.status_code == 460, good="460",
           bad=f"PATCH {loc} (offset 0, wrong sha1) → {p.status_code} {short(p.text)}")
    st, off = head_offset(loc)
    report(f"{T}/checksum: offset did not advance after 460", st == 200 and off == "0", good="Upload-Offset 0",
           bad=f"HEAD → {st}, Upload-Offset {off} (want 0)")
    res, err = bulk_check(sha1)
    report(f"{T}/checksum: no asset after 460", res is not None and res.get("action") == "accept", good="bulk-upload-check: accept",
           bad=err or short(res))

    p = patch(loc, 0, c1, "not base64!!")
    report(f"{T}/checksum: malformed Upload-Checksum → 400", p.status_code == 400, good="400",
           bad=f"PATCH with 'sha1 not base64!!' → {p.status_code} {short(p.text)}")
    p = tus("PATCH", loc, headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
                                   "Upload-Checksum": f"md5 {b64(hashlib.md5(c1).digest())}"}, data=c1)
    report(f"{T}/checksum: unsupported algorithm → 400", p.status_code == 400, good="400",
           bad=f"PATCH with 'Upload-Checksum: md5 …' → {p.status_code} {short(p.text)}")

    p = patch(loc, 0, c1, b64(hashlib.sha1(c1).digest()))
    report(f"{T}/checksum: same chunk with the right checksum → 204", p.status_code == 204 and p.headers.get("Upload-Offset") == str(MiB),
           good=f"Upload-Offset {MiB}", bad=f"→ {p.status_code}, Upload-Offset {p.headers.get('Upload-Offset')} {short(p.text)}")

    p = patch(loc, MiB, c2, wrong)
    report(f"{T}/checksum: completing PATCH with wrong Upload-Checksum → 460", p.status_code == 460, good="460",
           bad=f"PATCH offset {MiB} (last chunk, wrong sha1) → {p.status_code} {short(p.text)}")
    st, off = head_offset(loc)
    report(f"{T}/checksum: offset stayed at {MiB} after the last chunk's 460", st == 200 and off == str(MiB),
           good=f"Upload-Offset {off}", bad=f"HEAD → {st}, Upload-Offset {off} (want {MiB})")
    res, err = bulk_check(sha1)
    report(f"{T}/checksum: still no asset", res is not None and res.get("action") == "accept", good="accept", bad=err or short(res))

    d = tus("DELETE", loc)
    st, _ = head_offset(loc)
    report(f"{T}/checksum: terminate the upload", d.status_code == 204 and st in (404, 410), good=f"DELETE 204, then HEAD {st}",
           bad=f"DELETE → {d.status_code}, then HEAD → {st}")


def test_wrong_whole_file_checksum():
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(MiB)
    real = hashlib.sha1(data).hexdigest()
    claimed = hashlib.sha1(data + b"x").hexdigest()
    r, loc = create_upload(data, claimed, "lying metadata.png")
    if not report(f"{T}/metadata-checksum: create upload", r.status_code == 201 and loc, good=loc,
                  bad=f"POST /api/upload → {r.status_code} {short(r.text)}"):
        return
    p = patch(loc, 0, data, b64(hashlib.sha1(data).digest()))
    report(f"{T}/metadata-checksum: completing PATCH with whole-file SHA-1 ≠ metadata checksum → 460", p.status_code == 460,
           good="460", bad=f"PATCH (chunk checksum right, metadata checksum wrong) → {p.status_code} {short(p.text)}")
    ok = True
    why = []
    for h in (real, claimed):
        res, err = bulk_check(h)
        if res is None or res.get("action") != "accept":
            ok = False
            why.append(err or short(res))
    report(f"{T}/metadata-checksum: no asset created", ok, good="accept for both checksums", bad="; ".join(why))


def test_protocol_basics():
    o = requests.options(BASE + "/api/upload", timeout=30)
    ext = [x.strip() for x in (o.headers.get("Tus-Extension") or "").split(",")]
    want = ["creation", "creation-with-upload", "termination", "expiration", "checksum"]
    report(f"{T}/protocol: OPTIONS without auth advertises tus 1.0.0 + extensions",
           o.status_code in (200, 204) and o.headers.get("Tus-Version") == "1.0.0" and all(w in ext for w in want)
           and "sha1" in (o.headers.get("Tus-Checksum-Algorithm") or ""),
           good=f"Tus-Extension: {o.headers.get('Tus-Extension')}; Tus-Checksum-Algorithm: {o.headers.get('Tus-Checksum-Algorithm')}; Tus-Max-Size: {o.headers.get('Tus-Max-Size')}",
           bad=f"OPTIONS /api/upload → {o.status_code}, Tus-Version {o.headers.get('Tus-Version')}, Tus-Extension {o.headers.get('Tus-Extension')}, "
               f"Tus-Checksum-Algorithm {o.headers.get('Tus-Checksum-Algorithm')} (want {want} and sha1)")
    r = requests.post(BASE + "/api/upload", headers={"x-api-key": KEY, "Upload-Length": "10"}, timeout=30)
    report(f"{T}/protocol: POST without Tus-Resumable → 412 + Tus-Version", r.status_code == 412 and r.headers.get("Tus-Version") == "1.0.0",
           good="412", bad=f"→ {r.status_code}, Tus-Version {r.headers.get('Tus-Version')}")
    r = requests.post(BASE + "/api/upload", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"}, timeout=30)
    report(f"{T}/protocol: POST without credentials → 401", r.status_code == 401, good="401", bad=f"→ {r.status_code} {short(r.text)}")


def main():
    work = tempfile.mkdtemp(prefix="tuspy-", dir=os.environ.get("INTEROP_TMP"))
    for t in (test_protocol_basics, lambda: test_tuspy_upload(work), test_wrong_checksum, test_wrong_whole_file_checksum):
        try:
            t()
        except Exception:  # noqa: BLE001
            report(f"{T}: unexpected error", False, bad=traceback.format_exc().replace("\n", " | "))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
