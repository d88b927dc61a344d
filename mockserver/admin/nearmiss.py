"""Near misses for requests that match no route: the closest route and what differed.

Authorization denials get their near miss from the federation layer (`outcome["near_miss"]`);
this module explains the other kind of miss, a path or method the server has no route for.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from mockserver.federation.routing import ROUTES


@dataclass(frozen=True)
class RouteTemplate:
    method: str
    segments: tuple[str, ...]  # "{name}" marks a parameter; the last one takes the rest

    @property
    def text(self) -> str:
        return f"{self.method} /{'/'.join(self.segments)}"


def _templates() -> list[RouteTemplate]:
    found = []
    for route in ROUTES:
        segments = re.sub(r"\([^)]*\)", "{}", route.pattern.pattern).strip("/").split("/")
        names = iter(route.params)
        segments = ["{" + next(names) + "}" if s == "{}" else s for s in segments]
        for method in sorted(route.methods):
            found.append(RouteTemplate(method, tuple(segments)))
    return found


TEMPLATES = _templates()


def _path_differences(template: RouteTemplate, segments: list[str]) -> list[str]:
    problems = []
    wanted = template.segments
    rest_param = wanted[-1].startswith("{")
    if len(segments) < len(wanted) or (len(segments) > len(wanted) and not rest_param):
        problems.append(f"the path has {len(segments)} segments, the route {len(wanted)}")
    for position, (want, got) in enumerate(zip(wanted, segments, strict=False), start=1):
        if not want.startswith("{") and want != got:
            problems.append(f"segment {position} is {got!r} where the route has {want!r}")
    return problems


def _similarity(template: RouteTemplate, segments: list[str]) -> float:
    text = "/".join(s for s in template.segments if not s.startswith("{"))
    given = "/".join(segments[: len(template.segments)])
    return difflib.SequenceMatcher(None, text, given).ratio()


def explain_route_miss(method: str, raw_path: str) -> str:
    """Name the closest route pattern and the field (method or path segment) that differed."""
    segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
    ranked = sorted(
        TEMPLATES,
        key=lambda t: (
            len(_path_differences(t, segments)),
            t.method != method,
            -_similarity(t, segments),
        ),
    )
    best = ranked[0]
    problems = _path_differences(best, segments)
    if not problems and best.method != method:
        allowed = sorted(
            {t.method for t in TEMPLATES if not _path_differences(t, segments)} | {"OPTIONS"}
        )
        return (
            f"no route for {method} {raw_path}; closest route is {best.text}: method {method} "
            f"differs (allowed: {', '.join(allowed)})"
        )
    detail = "; ".join(problems) if problems else "it differs"
    if best.method != method:
        detail += f"; and the method is {method}, not {best.method}"
    return f"no route for {method} {raw_path}; closest route is {best.text}: {detail}"
