"""Tests of taiyi.sources.download against a loopback HTTP server serving the real files of ../shared/datasets.

The server lays files out like the data root (the ``--mirror`` layout) and can corrupt a file, drop a connection
half-way through a file, refuse Range requests or answer 404, so every failure path runs offline with the real
pinned sha256 of the packaged pins.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from typer.testing import CliRunner

from taiyi.files import sha256_file
from taiyi.sources import download as dl
from taiyi.sources.catalog import get_entry, load_catalog

NCBI_TRAIN = "NCBI-disease/original_pubtator/NCBItrainset_corpus.txt"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's name)
        srv = self.server
        rel = unquote(urlparse(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        srv.log.append((rel, rng))
        f = srv.root / rel
        if not f.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = f.read_bytes()
        if rel in srv.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        start = int(rng.split("=")[1].split("-")[0]) if rng and srv.ranges else 0
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.drops.get(rel, 0) > 0:  # send half the body, then close the connection
            srv.drops[rel] -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(shared_datasets):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.root, srv.log, srv.corrupt, srv.drops, srv.ranges = shared_datasets, [], set(), {}, True
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def _requests(srv, rel: str) -> list:
    return [r for p, r in srv.log if p == rel]


def test_every_pin_reproduces_the_reference_copy(shared_datasets):
    """Each pinned file's sha256 is that of the real file; every pin belongs to a catalog data folder."""
    paths = {e.path: e for e in load_catalog().entries()}
    n = 0
    for f in sorted(dl.PINS_DIR.rglob("*.yaml")):
        folder = f.relative_to(dl.PINS_DIR).as_posix()[: -len(".yaml")]
        assert folder in paths, f
        pin = dl.load_pin(paths[folder])
        if pin.access == "credentialed":
            assert pin.how and not pin.sources
            continue
        for job in dl.jobs(pin):
            for rel, sha in [(rel, sha) for _, rel, sha in job.members] or [(job.rel, job.sha256)]:
                assert sha256_file(shared_datasets / folder / rel) == sha, (folder, rel)
                n += 1
    assert n > 30_000


def test_origin_urls_are_pinned_to_the_commit():
    urls = {j.rel: j.url for j in dl.jobs(dl.load_pin(get_entry("ncbi_disease")))}
    assert urls["original_pubtator/NCBItrainset_corpus.txt"] == (
        "https://raw.githubusercontent.com/spyysalo/ncbi-disease/5a266c6fc76fb2b5184cfa397ff0a5ecdb133aec/"
        "original-data/train/NCBItrainset_corpus.txt")
    assert urls["iob/train.tsv"].endswith("/cambridgeltl/MTL-Bioinformatics-2016/"
                                          "df0df02fae6dbb87d88ffcf323b9096528f06f84/data/NCBI-disease-IOB/train.tsv")
    url = dl.jobs(dl.load_pin(get_entry("Chinese-medical-dialogue-data")))[-1].url
    assert url.endswith("/26724a4357fcd142f0cab81188cacf1a2dd8a827/%E6%A0%B7%E4%BE%8B_%E5%86%85%E7%A7%915000-6000.csv")


def test_download_then_cache_hit_then_convert(server, tmp_path, shared_datasets):
    entry = get_entry("ncbi_disease")
    res = dl.download(entry, tmp_path, mirror=server.url)
    assert (res.fetched, res.cached, res.failed) == (7, 0, ())
    assert res.bytes == sum(f.stat().st_size for f in (shared_datasets / "NCBI-disease").rglob("*")
                            if f.is_file() and f.name != "SOURCE.md")
    assert not (tmp_path / "datasets" / ".partial").exists()  # no partials, no empty folders left
    n = len(server.log)
    res = dl.download(entry, tmp_path, mirror=server.url)
    assert (res.fetched, res.cached, res.bytes) == (0, 7, 0) and len(server.log) == n  # no second transfer
    from taiyi.sources.convert import convert_dataset

    counts = convert_dataset("ncbi_disease", res.folder, tmp_path / "corpus", progress=False)
    assert counts == {"train": 592, "dev": 100, "test": 100}


def test_corrupted_file_is_an_error_and_leaves_nothing(server, tmp_path):
    server.corrupt.add(NCBI_TRAIN)
    res = dl.download(get_entry("ncbi_disease"), tmp_path, mirror=server.url)
    assert res.fetched == 6 and len(res.failed) == 1
    assert "sha256 mismatch (pinned f311381b28a6…" in res.failed[0] and "\n" not in res.failed[0]
    assert not (res.folder / "original_pubtator" / "NCBItrainset_corpus.txt").exists()
    assert not list((tmp_path / "datasets" / ".partial").rglob("*.part"))


def test_dropped_connection_resumes_with_range(server, tmp_path, shared_datasets):
    server.drops[NCBI_TRAIN] = 2
    res = dl.download(get_entry("ncbi_disease"), tmp_path, mirror=server.url)
    assert res.failed == () and res.fetched == 7
    ranges = _requests(server, NCBI_TRAIN)
    size = (shared_datasets / NCBI_TRAIN).stat().st_size
    starts = [int(r.split("=")[1].rstrip("-")) for r in ranges[1:]]  # resumed where the received bytes end
    assert ranges[0] is None and len(starts) == 2 and 0 < starts[0] <= size // 2 < starts[1] < size
    assert sha256_file(res.folder / "original_pubtator" / "NCBItrainset_corpus.txt") == sha256_file(
        shared_datasets / NCBI_TRAIN)


def test_dropped_connection_without_range_support_is_a_clear_error(server, tmp_path):
    server.ranges, server.drops[NCBI_TRAIN] = False, 10
    res = dl.download(get_entry("ncbi_disease"), tmp_path, mirror=server.url)
    assert len(res.failed) == 1 and "transfer failed after 4 attempt(s) (RemoteProtocolError" in res.failed[0]
    assert len(_requests(server, NCBI_TRAIN)) == 4
    assert not (res.folder / "original_pubtator" / "NCBItrainset_corpus.txt").exists()
    assert not [p for p in res.folder.rglob("*") if p.name.endswith(".part")]  # partials stay outside the folder


def test_dead_link_404(server, tmp_path):
    import httpx

    job = dl.Job(f"{server.url}/NCBI-disease/no_such_file.txt", "no_such_file.txt", "0" * 64)
    dest, partial = tmp_path / "d" / "no_such_file.txt", tmp_path / "p" / "no_such_file.txt.part"
    with httpx.Client() as client, pytest.raises(dl.DownloadError, match=r"no_such_file.txt: HTTP 404 Not Found "
                                                                         r"\(dead link\?\); no_such_file.txt not written"):
        dl.fetch(client, job, dest, partial)
    assert not dest.exists() and not partial.exists()


def test_cli_download_credentialed_and_unpinned(server, tmp_path):
    from taiyi.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["datasets", "download", "biosses", "mqp", "--mirror", server.url,
                              "--cache-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "downloaded 5 file(s)" in res.output and (tmp_path / "datasets" / "mqp" / "mqp.csv").is_file()
    res = runner.invoke(app, ["datasets", "download", "n2c2_2018_track2", "--cache-dir", str(tmp_path)])
    assert res.exit_code == 0 and "n2c2_2018_track2 needs credentials" in res.output
    assert "portal.dbmi.hms.harvard.edu" in res.output and "n2c2_2018_track2/" in res.output
    res = runner.invoke(app, ["datasets", "download", "medal", "--cache-dir", str(tmp_path)])
    assert res.exit_code == 1 and "medal: no pinned download" in res.output
    res = runner.invoke(app, ["datasets", "download", "--cache-dir", str(tmp_path)])
    assert res.exit_code == 2


def test_the_docs_pin_examples_validate():
    """docs/extending.md's download pins are valid pins (and the renamed file maps to its origin path)."""
    import re

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "extending.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Let `taiyi datasets download` fetch it"):]
    public, credentialed = (dl.Pin.model_validate(yaml.safe_load(b))
                            for b in re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[:2])
    urls = {j.rel: j.url for j in dl.jobs(public)}
    assert urls["test.PubTator"].endswith("/example-org/my-corpus/0123456789abcdef0123456789abcdef01234567/"
                                          "release/test_final.PubTator")
    assert urls["train.PubTator"].endswith("/data/train.PubTator") and credentialed.access == "credentialed"


def _paramed_archive(shared_datasets, dest: Path, pin, corrupt: str = "") -> str:
    """A .tar.gz of the real ParaMed documents under the pinned member names; returns its sha256."""
    import io
    import tarfile

    arc = pin.sources[0].archives[0]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w:gz") as t:
        for member in arc.members:
            data = (shared_datasets / "ParaMed-zh-en" / arc.into / member).read_bytes()
            data = data + b"x" if member == corrupt else data
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return sha256_file(dest)


def test_archive_members_are_extracted_and_checked(server, tmp_path, shared_datasets):
    """ParaMed's documents exist at the origin only inside data/manual_align_input.tar.gz: fetched, then each
    pinned member extracted and checked; a changed member is an error and is not written."""
    entry = get_entry("paramed")
    pin = dl.load_pin(entry)
    assert len(dl.jobs(pin, mirror=server.url)) == 25  # a mirror serves the extracted files
    src = pin.sources[0]
    server.root = tmp_path / "origin"
    (server.root / src.repo / src.commit / "data").mkdir(parents=True)
    (server.root / src.repo / src.commit / "data" / "align.txt").write_bytes(
        (shared_datasets / "ParaMed-zh-en" / "align.txt").read_bytes())
    archive = server.root / src.repo / src.commit / src.archives[0].from_
    sha = _paramed_archive(shared_datasets, archive, pin)
    local = pin.model_copy(update={"sources": [src.model_copy(update={
        "url": server.url + "/{repo}/{commit}/{path}",
        "archives": [src.archives[0].model_copy(update={"sha256": sha})]})]})
    res = dl.download(entry, tmp_path / "cache", pin=local)
    assert (res.fetched, res.failed) == (25, ())
    for rel in ("align.txt", "manual_align_input/doc1.zh", "manual_align_input/doc12.en"):
        assert sha256_file(res.folder / rel) == sha256_file(shared_datasets / "ParaMed-zh-en" / rel)
    assert dl.download(entry, tmp_path / "cache", pin=local).cached == 25
    from taiyi.sources.convert import convert_dataset

    assert convert_dataset("paramed", res.folder, tmp_path / "corpus", progress=False) == {"train": 998}

    sha = _paramed_archive(shared_datasets, archive, pin, corrupt="doc3.en")
    bad = local.model_copy(update={"sources": [local.sources[0].model_copy(update={
        "archives": [src.archives[0].model_copy(update={"sha256": sha})]})]})
    res = dl.download(entry, tmp_path / "cache2", pin=bad)
    assert len(res.failed) == 1 and "member manual_align_input/doc3.en sha256 mismatch" in res.failed[0]
    assert not (res.folder / "manual_align_input" / "doc3.en").exists()
    assert (res.folder / "manual_align_input" / "doc3.zh").is_file()  # the members that match are written


def test_cli_download_all_and_show(server, tmp_path, monkeypatch):
    """--all fetches every pinned folder once and prints how to obtain the credentialed ones."""
    import shutil

    from taiyi.cli import app

    pins = tmp_path / "pins"
    pins.mkdir()
    for name in ("mqp", "biosses", "n2c2_2018_track2"):
        shutil.copy(dl.PINS_DIR / f"{name}.yaml", pins)
    monkeypatch.setattr(dl, "PINS_DIR", pins)
    res = CliRunner().invoke(app, ["datasets", "download", "--all", "--mirror", server.url,
                                   "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    assert "downloaded 5 file(s)" in res.output and "for 2 dataset(s)" in res.output
    assert "n2c2_2018_track2 needs credentials" in res.output
    res = CliRunner().invoke(app, ["datasets", "show", "mqp"])
    assert "2 file(s) pinned from" in res.output and "dataset@6c7f7fd7" in res.output  # the table wraps


def test_a_user_catalog_brings_its_own_pin(server, tmp_path, monkeypatch):
    """<user catalog>/downloads/<path>.yaml is used for its entries, without touching the package."""
    import shutil

    import yaml

    cat = tmp_path / "cat"
    (cat / "downloads").mkdir(parents=True)
    entry = dict(get_entry("mqp").data, name="my_mqp")
    (cat / "my_mqp.yaml").write_text(yaml.safe_dump(entry))
    shutil.copy(dl.PINS_DIR / "mqp.yaml", cat / "downloads" / "mqp.yaml")
    pin = yaml.safe_load((cat / "downloads" / "mqp.yaml").read_text())
    del pin["sources"][0]["files"]["README.md"]
    (cat / "downloads" / "mqp.yaml").write_text(yaml.safe_dump(pin))
    monkeypatch.setenv("TAIYI_CATALOG", str(cat))
    assert dl.pin_file("mqp") == cat / "downloads" / "mqp.yaml"
    res = dl.download(get_entry("my_mqp"), tmp_path / "cache", mirror=server.url)
    assert (res.fetched, res.failed) == (1, ()) and (res.folder / "mqp.csv").is_file()


def test_an_interrupted_run_is_resumed_by_the_next(server, tmp_path, shared_datasets):
    """A run that gives up keeps the partial outside the data folder; the next run asks only for the rest."""
    entry = get_entry("ncbi_disease")
    server.drops[NCBI_TRAIN] = 10
    res = dl.download(entry, tmp_path, mirror=server.url)
    assert len(res.failed) == 1 and "the partial is kept" in res.failed[0]
    partial = tmp_path / "datasets" / ".partial" / "NCBI-disease" / "original_pubtator" / "NCBItrainset_corpus.txt.part"
    have = partial.stat().st_size
    assert 0 < have < (shared_datasets / NCBI_TRAIN).stat().st_size
    server.drops.clear()
    res = dl.download(entry, tmp_path, mirror=server.url)
    assert (res.fetched, res.cached, res.failed) == (1, 6, ())
    assert _requests(server, NCBI_TRAIN)[-1] == f"bytes={have}-" and not partial.exists()
    assert sha256_file(res.folder / "original_pubtator" / "NCBItrainset_corpus.txt") == sha256_file(
        shared_datasets / NCBI_TRAIN)


def test_unreachable_origin_gives_up_early(tmp_path):
    """Offline (nothing listens on the port): a few files fail, the rest are not tried, and the CLI prints a
    handful of lines rather than one per file."""
    import socket

    from taiyi.cli import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    res = dl.download(get_entry("an_em"), tmp_path, mirror=f"http://127.0.0.1:{port}", workers=1)
    assert len(res.failed) == dl.GIVE_UP_AFTER + 1 and res.fetched == 0
    assert "ConnectError" in res.failed[0] and "999 more file(s) not tried after 8 failures" in res.failed[-1]
    assert not (tmp_path / "datasets" / "an_em").exists()
    out = CliRunner().invoke(app, ["datasets", "download", "an_em", "--mirror", f"http://127.0.0.1:{port}",
                                   "--cache-dir", str(tmp_path), "--workers", "1"])
    assert out.exit_code == 1 and len([ln for ln in out.output.splitlines() if ln.startswith("error:")]) == 4
    assert "an_em: … and 6 more failure(s)" in out.output
