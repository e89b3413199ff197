"""Write download pins (``src/taiyi/sources/downloads/<folder>.yaml``) for dataset folders laid out like
``../shared/datasets``, by matching each local file to a file of its origin repository at the pinned commit.

Why: a pin must name the exact origin file and its sha256. Matching on git blob ids (the file's content) against
local clones of the origin repositories finds the origin path of every unchanged file, however it was renamed
or moved; a file with no match (extracted from an archive, edited) is listed under ``not_pinned``.

Usage (a maintainer's tool; needs a clone of each origin repository):
    python bench/pin_downloads.py --data-root ../shared/datasets --clones DIR [FOLDER ...]
where DIR holds one git directory per repository as ``DIR/<owner>+<name>/repo`` (bare or not). The repository and
commit of each folder are read from its SOURCE.md (``owner/name @ <40-hex commit>``).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import yaml

PINS = Path(__file__).resolve().parents[1] / "src" / "taiyi" / "sources" / "downloads"
ORIGIN = re.compile(r"`?([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)`? @ `?([0-9a-f]{40})`?")


def git_dir(clones: Path, repo: str) -> Path:
    base = clones / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def blob_index(gdir: Path, commit: str) -> dict[str, list[str]]:
    out = subprocess.run(["git", "--git-dir", str(gdir), "ls-tree", "-r", "-z", commit], capture_output=True,
                         check=True).stdout.decode()
    index = defaultdict(list)
    for item in filter(None, out.split("\0")):
        meta, path = item.split("\t", 1)
        _, kind, sha = meta.split()
        if kind == "blob":
            index[sha].append(path)
    return index


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def best(local: str, candidates: list[str]) -> str:
    """The origin path sharing the longest path suffix with the local one."""
    def shared(c: str) -> int:
        a, b = local.split("/")[::-1], c.split("/")[::-1]
        return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))

    return max(candidates, key=lambda c: (shared(c), -len(c)))


def prefixes(local: str, origin: str) -> tuple[str, str] | None:
    """(local prefix, origin prefix) when the two paths end alike from the file name on; else None."""
    a, b = local.split("/"), origin.split("/")
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    if n == 0:
        return None
    lp, op = "/".join(a[:-n]), "/".join(b[:-n])
    return (lp + "/" if lp else ""), (op + "/" if op else "")


ARCHIVES = (".tar.gz", ".tgz", ".zip")


def archive_members(gdir: Path, blob: str, name: str) -> dict[str, str]:
    """sha256 -> member name of every file in an archive blob ({} when it is not a readable archive)."""
    import io
    import tarfile
    import zipfile

    got = subprocess.run(["git", "--git-dir", str(gdir), "cat-file", "blob", blob], capture_output=True)
    if got.returncode:  # not in the clone (a snapshot may leave out its largest files)
        return {}
    data, out = got.stdout, {}
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for m in z.namelist():
                    if not m.endswith("/"):
                        out.setdefault(hashlib.sha256(z.read(m)).hexdigest(), m)
        else:
            with tarfile.open(fileobj=io.BytesIO(data)) as t:
                for m in t.getmembers():
                    if m.isfile():
                        out.setdefault(hashlib.sha256(t.extractfile(m).read()).hexdigest(), m.name)
    except (tarfile.TarError, zipfile.BadZipFile, OSError):
        return {}
    return out


def pin_archives(root: Path, folder: str, clones: Path, indexes, not_pinned: dict[str, str]) -> dict:
    """Archive pins ({(repo, commit): [archive pin]}) for local files found inside an origin archive."""
    found = defaultdict(list)
    for repo, commit, idx in indexes:
        gdir = git_dir(clones, repo)
        for blob, paths in idx.items():
            for path in (p for p in paths if p.endswith(ARCHIVES)):
                members = archive_members(gdir, blob, path)
                groups = defaultdict(dict)
                for rel in list(not_pinned):
                    sha = hashlib.sha256((root / folder / rel).read_bytes()).hexdigest()
                    m = members.get(sha)
                    if m and rel.endswith(m):
                        groups[rel[: len(rel) - len(m)]][m] = sha
                        del not_pinned[rel]
                for into, ms in groups.items():
                    data = subprocess.run(["git", "--git-dir", str(gdir), "cat-file", "blob", blob],
                                          capture_output=True, check=True).stdout
                    arc = {"from": path, "sha256": hashlib.sha256(data).hexdigest()}
                    if into:
                        arc["into"] = into
                    arc["members"] = dict(sorted(ms.items()))
                    found[repo, commit].append(arc)
    return found


def pin_folder(root: Path, folder: str, clones: Path) -> dict:
    origins = dict.fromkeys(ORIGIN.findall((root / folder / "SOURCE.md").read_text(encoding="utf-8")))
    indexes = [(repo, commit, blob_index(git_dir(clones, repo), commit)) for repo, commit in origins]
    matched: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    sha256: dict[str, str] = {}
    not_pinned = {}
    for f in sorted(p for p in (root / folder).rglob("*") if p.is_file() and p.name != "SOURCE.md"):
        rel, data = f.relative_to(root / folder).as_posix(), f.read_bytes()
        blob = git_blob_id(data)
        hits = [(repo, commit, idx[blob]) for repo, commit, idx in indexes if blob in idx]
        if not hits:
            not_pinned[rel] = "no file with this content in the origin commit (extracted from an archive or changed)"
            continue
        repo, commit, paths = hits[0]
        matched[repo, commit][rel] = best(rel, paths)
        sha256[rel] = hashlib.sha256(data).hexdigest()
    archives = pin_archives(root, folder, clones, indexes, not_pinned) if not_pinned else {}
    for key in archives:
        matched.setdefault(key, {})
    sources = []
    for (repo, commit), files in matched.items():
        pairs = {rel: prefixes(rel, origin) for rel, origin in files.items()}
        votes = defaultdict(Counter)
        for rel, pair in pairs.items():
            if pair:
                votes[pair[0]][pair[1]] += 1
        paths = {lp: c.most_common(1)[0][0] for lp, c in votes.items()}
        entry_files = {}
        for rel, origin in files.items():
            pair = pairs[rel]
            if pair and paths.get(pair[0]) == pair[1]:
                entry_files[rel] = sha256[rel]
            else:
                entry_files[rel] = {"sha256": sha256[rel], "from": origin}
        paths = {lp: op for lp, op in paths.items() if lp != op}
        src = {"repo": repo, "commit": commit}
        if paths:
            src["paths"] = dict(sorted(paths.items()))
        if entry_files:
            src["files"] = entry_files
        if archives.get((repo, commit)):
            src["archives"] = archives[repo, commit]
        sources.append(src)
    pin = {"path": folder, "sources": sources}
    if not_pinned:
        pin["not_pinned"] = not_pinned
    return pin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--clones", type=Path, required=True)
    ap.add_argument("folders", nargs="*", help="folders under the data root (default: each with a SOURCE.md "
                    "naming an origin; CBLUE's sub-folders one by one)")
    args = ap.parse_args()
    folders = args.folders or sorted(
        p.parent.relative_to(args.data_root).as_posix() for p in args.data_root.rglob("SOURCE.md")
        if ORIGIN.search(p.read_text(encoding="utf-8")))
    for folder in folders:
        pin = pin_folder(args.data_root, folder, args.clones)
        out = PINS / f"{folder}.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        head = f"# Download pins of {folder}: written by bench/pin_downloads.py from the files of ../shared/datasets\n"
        out.write_text(head + yaml.safe_dump(pin, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
        n = sum(len(s.get("files", {})) + sum(len(a["members"]) for a in s.get("archives", []))
                for s in pin["sources"])
        print(f"{folder}: {n} file(s) pinned from {len(pin['sources'])} origin(s), "
              f"{len(pin.get('not_pinned', {}))} not pinned")


if __name__ == "__main__":
    main()
