"""``taiyi datasets download``: each public dataset's files from its origin, pinned to a commit, sha256-checked.

Why: the corpus must be rebuildable from the origins, byte for byte. Pins live beside the catalog, one file per
data folder (``downloads/<catalog path>.yaml``, written from real files by ``bench/pin_downloads.py``; a user
catalog folder may hold its own ``downloads/``), so adding pins never touches a catalog entry. Files land in ``<cache>/datasets/<catalog path>/`` (the data-root layout that
``taiyi convert --all --input-root`` reads). A file already there with the pinned sha256 is not fetched again.
Transfers resume with HTTP Range from a partial kept under ``<cache>/datasets/.partial/`` (never inside a dataset
folder); a file is renamed into place only after its sha256 matched, so a dead link, a dropped connection or a
checksum mismatch leaves no half-written file. httpx (a project dependency) does the transfers: pooch, the
usual choice, neither resumes a transfer nor is installed here.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Optional, Union
from urllib.parse import quote

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from taiyi.files import DataError, sha256_file, validation_message
from taiyi.sources.catalog import Entry

PINS_DIR = Path(__file__).with_name("downloads")
ENV_CACHE = "TAIYI_CACHE"
ENV_MIRROR = "TAIYI_DOWNLOAD_MIRROR"
GIVE_UP_AFTER = 8  # failed files, with none fetched, before a dataset's remaining files are not tried
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DownloadError(DataError):
    """A file could not be fetched as pinned (dead link, dropped connection, checksum mismatch)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


SHA256 = r"^[0-9a-f]{64}$"


def _safe(paths: dict[str, object]) -> dict[str, object]:
    """Local paths stay inside the data folder: relative, without '..'."""
    bad = [p for p in paths if p.startswith("/") or ".." in p.split("/")]
    if bad:
        raise ValueError(f"paths must be relative and stay inside the folder, got {bad}")
    return paths


class FilePin(_Strict):
    sha256: str = Field(pattern=SHA256)
    from_: str = Field(alias="from", description="path in the origin repository, when not given by `paths`")


class ArchivePin(_Strict):
    """Files that the origin ships only inside a .tar.gz/.tgz/.zip: the archive and each listed member, pinned."""

    from_: str = Field(alias="from", description="the archive's path in the origin repository")
    sha256: str = Field(pattern=SHA256)
    into: str = ""  # local folder prefix the members are written under
    members: dict[str, str]  # member name in the archive -> its sha256

    @field_validator("members")
    @classmethod
    def _inside(cls, v: dict) -> dict:
        return _safe(v)


class Source(_Strict):
    """Files of one origin repository at one commit."""

    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    url: str = RAW_URL  # {repo}, {commit} and {path} (the origin path, URL-quoted) are filled in
    paths: dict[str, str] = {}  # local path prefix -> origin path prefix (the longest matching prefix wins)
    files: dict[str, Union[str, FilePin]] = {}  # local path (under the data folder) -> sha256, or {sha256, from}
    archives: list[ArchivePin] = []

    @field_validator("files")
    @classmethod
    def _inside(cls, v: dict) -> dict:
        return _safe(v)

    def origin_path(self, local: str) -> str:
        pin = self.files[local]
        if isinstance(pin, FilePin):
            return pin.from_
        prefix = max((p for p in self.paths if local.startswith(p)), key=len, default=None)
        return local if prefix is None else self.paths[prefix] + local[len(prefix):]


class Pin(_Strict):
    """How to obtain one data folder: public files pinned per origin, or instructions for credentialed data."""

    path: str
    access: Literal["public", "credentialed"] = "public"
    how: Optional[str] = None  # credentialed: how to obtain the files
    license: Optional[str] = None
    sources: list[Source] = []
    not_pinned: dict[str, str] = {}  # local files no pinned origin file reproduces, and why


@dataclass(frozen=True)
class Job:
    url: str
    rel: str  # path under the data folder (an archive: its name under <cache>/datasets/.archives/<path>/)
    sha256: str
    members: tuple[tuple[str, str, str], ...] = ()  # an archive's (member, local path, sha256)


def pin_file(path: str) -> Path:
    """The pin of a data folder: from the last user catalog folder that has ``downloads/<path>.yaml``, else the
    package's (which may not exist)."""
    from taiyi.sources.catalog import catalog_dirs

    for d in reversed(catalog_dirs()[1:]):
        f = d / "downloads" / f"{path}.yaml"
        if f.is_file():
            return f
    return PINS_DIR / f"{path}.yaml"


def load_pin(entry: Entry) -> Pin | None:
    """The pin of the entry's data folder (None when there is none); a broken pin file is a one-line DataError."""
    f = pin_file(entry.path)
    if not f.is_file():
        return None
    if Path(entry.path).is_absolute() or ".." in Path(entry.path).parts:
        raise DataError(f"{entry.file}: path {entry.path!r} leaves the data root")
    try:
        pin = Pin.model_validate(yaml.load(f.read_text(encoding="utf-8"), Loader=_LOADER))
    except yaml.YAMLError as exc:
        raise DataError(f"{f}: malformed YAML ({' '.join(str(exc).split())})") from None
    except ValidationError as exc:
        raise DataError("; ".join(validation_message(exc, str(f)).splitlines())) from None
    if pin.path != entry.path:
        raise DataError(f"{f}: path {pin.path!r} differs from the file's place ({entry.path!r})")
    return pin


def jobs(pin: Pin, mirror: str | None = None) -> list[Job]:
    """One job per pinned file. ``mirror``: a server laid out like the data root (``<mirror>/<path>/<file>``)."""
    out = []
    for src in pin.sources:
        for rel, p in src.files.items():
            sha = p.sha256 if isinstance(p, FilePin) else p
            if mirror:
                url = f"{mirror.rstrip('/')}/{quote(pin.path)}/{quote(rel)}"
            else:
                url = src.url.format(repo=src.repo, commit=src.commit, path=quote(src.origin_path(rel)))
            out.append(Job(url, rel, sha))
        for arc in src.archives:
            members = tuple((m, arc.into + m, sha) for m, sha in arc.members.items())
            if mirror:  # a mirror holds the extracted files
                out += [Job(f"{mirror.rstrip('/')}/{quote(pin.path)}/{quote(rel)}", rel, sha) for _, rel, sha in members]
                continue
            url = src.url.format(repo=src.repo, commit=src.commit, path=quote(arc.from_))
            out.append(Job(url, arc.from_.rsplit("/", 1)[-1], arc.sha256, members))
    return out


def extract(job: Job, archive: Path, folder: Path) -> None:
    """Write the job's members from the verified ``archive`` into ``folder``, each checked before its rename."""
    import tarfile
    import zipfile

    def members():
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                for m, rel, sha in job.members:
                    yield z.read(m), rel, sha
        else:
            with tarfile.open(archive) as t:
                for m, rel, sha in job.members:
                    fh = t.extractfile(m)
                    if fh is None:
                        raise DownloadError(f"{job.url}: archive member {m!r} is not a file")
                    yield fh.read(), rel, sha

    bad = []
    try:
        for data, rel, sha in members():
            got = hashlib.sha256(data).hexdigest()
            if got != sha:
                bad.append(f"member {rel} sha256 mismatch (pinned {sha[:12]}…, got {got[:12]}…)")
                continue
            dest = folder / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.taiyi-extract")
            tmp.write_bytes(data)
            os.replace(tmp, dest)
    except (KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise DownloadError(f"{job.url}: cannot extract ({type(exc).__name__}: {exc})") from None
    if bad:
        raise DownloadError(f"{job.url}: {'; '.join(bad)}; not written")


def default_cache() -> Path:
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "taiyi")


def fetch(client, job: Job, dest: Path, partial: Path, *, retries: int = 3,
          on_bytes: Callable[[int], None] = lambda n: None) -> bool:
    """Fetch ``job`` into ``dest``; False when ``dest`` already has the pinned sha256 (nothing transferred).

    The bytes go to ``partial`` (resumed with a Range request after a dropped connection, up to ``retries``
    times) and are renamed to ``dest`` only once their sha256 matches.
    """
    import httpx

    if dest.is_file() and sha256_file(dest) == job.sha256:
        return False
    partial.parent.mkdir(parents=True, exist_ok=True)
    last = ""
    for _ in range(retries + 1):
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Accept-Encoding": "identity"}  # byte ranges of the file itself, not of a compressed stream
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with client.stream("GET", job.url, headers=headers) as resp:
                if resp.status_code == 416 and have:  # nothing left to send: the partial is complete
                    break
                if resp.status_code >= 400:
                    partial.unlink(missing_ok=True)
                    raise DownloadError(f"{job.url}: HTTP {resp.status_code} {resp.reason_phrase} (dead link?); "
                                        f"{job.rel} not written")
                mode = "ab" if resp.status_code == 206 and have else "wb"  # a 200 answer restarts from byte 0
                with open(partial, mode) as fh:
                    for chunk in resp.iter_bytes():  # as it arrives: a drop loses nothing already received
                        fh.write(chunk)
                        on_bytes(len(chunk))
            break
        except httpx.TransportError as exc:  # dropped connection, timeout, refused: resume from what arrived
            last = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    else:
        raise DownloadError(f"{job.url}: transfer failed after {retries + 1} attempt(s) ({last}); {job.rel} not "
                            f"written (the partial is kept under {partial.parent} to resume)")
    got = sha256_file(partial)
    if got != job.sha256:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{job.url}: sha256 mismatch (pinned {job.sha256[:12]}…, got {got[:12]}…); "
                            f"{job.rel} not written")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, dest)
    return True


@dataclass
class Result:
    name: str
    folder: Path
    fetched: int = 0
    cached: int = 0
    bytes: int = 0
    failed: tuple[str, ...] = ()


def download(entry: Entry, cache: Path, *, mirror: str | None = None, client=None, workers: int = 4,
             progress: Callable[[str, int, int], None] | None = None, pin: Pin | None = None) -> Result:
    """Fetch every pinned file of ``entry`` into ``<cache>/datasets/<entry.path>``.

    Errors of single files are collected (``Result.failed``, one line each) so one dead link does not stop the
    others; ``progress(name, files_done, bytes)`` is called as files complete.
    """
    import threading

    import httpx

    pin = pin or load_pin(entry)
    if pin is None:
        raise DataError(f"{entry.name}: no pinned download (no downloads/{entry.path}.yaml); its homepage: "
                        f"{entry.data.get('homepage') or 'none listed'}")
    if pin.access == "credentialed":
        raise CredentialedError(entry, pin, cache)
    root = cache / "datasets"
    res = Result(entry.name, root / entry.path)
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=httpx.Timeout(60.0, connect=20.0))
    lock, give_up = threading.Lock(), threading.Event()
    failed: list[str] = []
    not_tried = [0]

    def count(n: int) -> None:
        with lock:
            res.bytes += n

    def one(job: Job) -> None:
        if give_up.is_set():
            with lock:
                not_tried[0] += 1
            return
        partial = root / ".partial" / entry.path / (job.rel + ".part")
        dest = res.folder / job.rel
        n = len(job.members) or 1
        try:
            if job.members:
                if all((res.folder / rel).is_file() and sha256_file(res.folder / rel) == sha
                       for _, rel, sha in job.members):
                    got = False
                else:
                    dest = root / ".archives" / entry.path / job.rel
                    fetch(client, job, dest, partial, on_bytes=count)
                    extract(job, dest, res.folder)
                    got = True
            else:
                got = fetch(client, job, dest, partial, on_bytes=count)
        except DownloadError as exc:
            with lock:
                failed.append(str(exc))
                if len(failed) >= GIVE_UP_AFTER and not (res.fetched or res.cached):
                    give_up.set()  # offline, or the origin is gone: do not try thousands of files one by one
            return
        with lock:
            res.fetched += n if got else 0
            res.cached += 0 if got else n
            if progress:
                progress(entry.name, res.fetched + res.cached + len(failed), res.bytes)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, jobs(pin, mirror)))
    finally:
        if own:
            client.close()
        _prune(root / ".partial" / entry.path, root)
    res.failed = tuple(sorted(failed))
    if not_tried[0]:
        res.failed += (f"{entry.name}: {not_tried[0]} more file(s) not tried after {len(failed)} failures and no "
                       f"success (offline, or the origin moved?)",)
    return res


def _prune(folder: Path, stop: Path) -> None:
    """Remove the empty folders left under ``folder`` (and its empty parents up to ``stop``)."""
    if not folder.is_dir():
        return
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


class CredentialedError(DataError):
    """The dataset needs credentials (a data use agreement): the message says how to obtain it, where to put it."""

    def __init__(self, entry: Entry, pin: Pin, cache: Path):
        self.entry, self.pin = entry, pin
        super().__init__(f"{entry.name} needs credentials and cannot be downloaded for you: {pin.how} "
                         f"Then put its files under <data root>/{entry.path}/ (for example "
                         f"{cache / 'datasets' / entry.path}/) and run taiyi convert.")
