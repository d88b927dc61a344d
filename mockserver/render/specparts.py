"""Validation of the larger optional parts of client-side specs: `spec.target.template` of an
ExternalSecret and `spec.conditions` of a ClusterSecretStore (kept out of `kinds` so each module
stays readable). Problems are recorded on the Checker, as everywhere in the manifests."""

from __future__ import annotations

from typing import Any

from mockserver.manifests.checks import Checker, describe
from mockserver.manifests.paths import child

from .model import StoreCondition, Template, TemplateFrom, TemplateItem

ENGINE_VERSIONS = ("v2",)
MERGE_POLICIES = ("Replace", "Merge")
TEMPLATE_SCOPES = ("Values", "KeysAndValues")
SECRET_TARGETS = ("Data", "Annotations", "Labels")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _template_from(c: Checker, item: dict[str, Any], here: str) -> TemplateFrom | None:
    c.fields(item, here, ("configMap", "secret", "target", "literal"))
    target = c.choice(item, "target", here, SECRET_TARGETS)
    if target is None and "target" in item:
        return None
    literal = c.string(item, "literal", here)
    sources: list[tuple[str, str, tuple[TemplateItem, ...]]] = []
    for kind in ("configMap", "secret"):
        ref = c.mapping(item, kind, here, required=False)
        if ref is None:
            continue
        ref_path = child(here, kind)
        c.fields(ref, ref_path, ("name", "items"))
        name = c.string(ref, "name", ref_path, required=True, non_empty=True)
        items: list[TemplateItem] = []
        for i, entry in enumerate(c.listing(ref, "items", ref_path, required=True) or []):
            entry_path = child(child(ref_path, "items"), i)
            if not isinstance(entry, dict):
                c.fail(entry_path, f"expected a mapping, got {describe(entry)}")
                continue
            c.fields(entry, entry_path, ("key", "templateAs"))
            key = c.string(entry, "key", entry_path, required=True, non_empty=True)
            scope = c.choice(entry, "templateAs", entry_path, TEMPLATE_SCOPES) or "Values"
            if key is not None:
                items.append(TemplateItem(key, scope))
        if name is not None:
            sources.append((kind, name, tuple(items)))
    by_kind = {kind: (name, items) for kind, name, items in sources}
    cm = by_kind.get("configMap")
    secret = by_kind.get("secret")
    return TemplateFrom(
        target=target or "Data",
        config_map=cm[0] if cm else None,
        config_map_items=cm[1] if cm else (),
        secret=secret[0] if secret else None,
        secret_items=secret[1] if secret else (),
        literal=literal,
    )


def parse_template(c: Checker, template: dict[str, Any], here: str) -> Template:
    """`spec.target.template` with the enterprise CRD's enums (`templateFrom[].target` is the
    enum Data, Annotations, Labels, matched exactly)."""
    c.fields(
        template,
        here,
        ("type", "metadata", "engineVersion", "mergePolicy", "data", "templateFrom"),
    )
    meta = c.mapping(template, "metadata", here, required=False) or {}
    meta_path = child(here, "metadata")
    c.fields(meta, meta_path, ("labels", "annotations", "finalizers"))
    labels = c.string_map(meta, "labels", meta_path) or {}
    annotations = c.string_map(meta, "annotations", meta_path) or {}
    kind = c.string(template, "type", here) or ""
    engine = c.choice(template, "engineVersion", here, ENGINE_VERSIONS) or "v2"
    merge = c.choice(template, "mergePolicy", here, MERGE_POLICIES) or "Replace"
    data = c.string_map(template, "data", here) or {}
    froms: list[TemplateFrom] = []
    for i, item in enumerate(c.listing(template, "templateFrom", here) or []):
        item_path = child(child(here, "templateFrom"), i)
        if not isinstance(item, dict):
            c.fail(item_path, f"expected a mapping, got {describe(item)}")
            continue
        parsed = _template_from(c, item, item_path)
        if parsed is not None:
            froms.append(parsed)
    return Template(kind, engine, merge, labels, annotations, data, tuple(froms))


def _selector(
    c: Checker, selector: dict[str, Any], here: str
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, tuple[str, ...]], ...]]:
    c.fields(selector, here, ("matchLabels", "matchExpressions"))
    labels = c.string_map(selector, "matchLabels", here) or {}
    expressions: list[tuple[str, str, tuple[str, ...]]] = []
    for i, expr in enumerate(c.listing(selector, "matchExpressions", here) or []):
        expr_path = child(child(here, "matchExpressions"), i)
        if not isinstance(expr, dict):
            c.fail(expr_path, f"expected a mapping, got {describe(expr)}")
            continue
        c.fields(expr, expr_path, ("key", "operator", "values"))
        key = c.string(expr, "key", expr_path, required=True, non_empty=True)
        operator = c.choice(expr, "operator", expr_path, SELECTOR_OPERATORS)
        values = c.string_list(expr, "values", expr_path) or []
        if key is not None and operator is not None:
            expressions.append((key, operator, tuple(values)))
    return tuple(sorted(labels.items())), tuple(expressions)


def parse_conditions(c: Checker, spec: dict[str, Any]) -> tuple[StoreCondition, ...]:
    """`spec.conditions[]`: namespaceSelector, namespaces, namespaceRegexes (Go RE2 syntax)."""
    out: list[StoreCondition] = []
    for i, cond in enumerate(c.listing(spec, "conditions", "spec") or []):
        here = child("spec.conditions", i)
        if not isinstance(cond, dict):
            c.fail(here, f"expected a mapping, got {describe(cond)}")
            continue
        c.fields(cond, here, ("namespaceSelector", "namespaces", "namespaceRegexes"))
        selector = c.mapping(cond, "namespaceSelector", here, required=False)
        labels: tuple[tuple[str, str], ...] = ()
        expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
        if selector is not None:
            labels, expressions = _selector(c, selector, child(here, "namespaceSelector"))
        namespaces = c.string_list(cond, "namespaces", here) or []
        regexes = c.string_list(cond, "namespaceRegexes", here) or []
        out.append(
            StoreCondition(
                labels, expressions, selector is not None, tuple(namespaces), tuple(regexes)
            )
        )
    return tuple(out)
