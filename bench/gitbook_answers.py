"""The GitBook API answers the benchmarks' stand-ins send, in the shapes
of GitBook's pinned OpenAPI spec (`bench/sync.py --check-shapes` validates
them against `.cache/gitbook-api/openapi.subset.json`). The tests use
Prism on that spec; these are only for timing.
"""

from __future__ import annotations

import datetime

# A page's `layout` (`RevisionPageLayoutOptions`): every key is required.
LAYOUT = {"width": "default", "cover": False, "coverSize": "hero", "coverMask": "none", "title": True,
          "description": True, "tableOfContents": True, "outline": True, "pagination": True, "metadata": True,
          "tags": True, "actions": True, "anchors": True}

NO_CHANGE_REQUESTS = {"items": [], "count": 0}


def rfc3339(at: float) -> str:
    moment = datetime.datetime.fromtimestamp(at, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def revision(space: str, oid: str, files: list[tuple[str, str]]) -> dict:
    """`Revision` (`RevisionTypeUpdate`): the space's live revision, from
    commit `oid`, with one page per (file, title) of its directory."""
    app = f"https://app.gitbook.com/o/org/s/{space}"
    page = lambda file, title: {  # noqa: E731
        "id": f"p-{file[:-3]}", "title": title, "kind": "sheet", "type": "document", "path": file[:-3],
        "slug": file[:-3], "pages": [], "layout": LAYOUT, "tags": [], "urls": {"app": f"{app}/{file[:-3]}"},
        "git": {"oid": "0" * 40, "path": file},
        "documentId": f"doc-{file[:-3]}", "document": {"object": "document", "data": {}, "nodes": []},
    }
    return {
        "object": "revision", "id": f"rev-{space}-{oid[:7]}", "type": "update", "parents": [f"rev-{space}-0"],
        "pages": [page(file, title) for file, title in files],
        "files": [], "reusableContents": [], "tags": [],
        "createdAt": "2026-11-22T10:00:00.000Z",
        "git": {"oid": oid, "message": "docs", "createdByGitBook": False},
        "urls": {"app": app},
    }


def git_sync_state(operation: dict, repo_name: str, url: str) -> dict:
    """`GitSyncState` with its latest `operation`."""
    return {
        "installationId": "inst-bench", "installationProvider": "gitlab", "installationStatus": "active",
        "repoName": repo_name, "url": url, "operation": operation,
    }
