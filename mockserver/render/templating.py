"""ESO's template engine v2 applied to a Secret (`ApplyTemplate`, `templating.Parser`,
`template/v2.Execute`) and `rewrite.transform` (`esutils.RewriteTransform`), with ESO's error
wrapping kept word for word: a failure reads `could not execute template: ... unable to execute
template at key K: unable to execute template at key K: template: K:1:2: executing ...`.

Data templates run with `missingkey=error` over `map[string]string` of the fetched values; a
transform runs with Go's default (`<no value>`) over `{"value": key}`. Maps ESO ranges over
(template data, KeysAndValues output) are processed in sorted key order, so the first error is
deterministic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import yaml

from .gotemplate import Func, StrMap, Template, TemplateError
from .gotemplate.esofuncs import ESO_FUNCS
from .gotemplate.sprig import SPRIG
from .gotemplate.sprig_more import MORE
from .model import ExternalSecret, Rewrite
from .model import Template as TemplateSpec

FUNCS: dict[str, Func] = {**ESO_FUNCS, **SPRIG, **MORE}
"""The enterprise fork's `tplFuncs`: its own functions, then sprig's map copied over them."""

ERR_EXECUTE = "unable to execute template at key {}: {}"
ERR_PARSE = "unable to parse template at key {}: {}"
ERR_EXEC_TPL = "could not execute template: {}"
ERR_FETCH_TPL_FROM = "error fetching templateFrom data: {}"


class TemplateFailure(Exception):
    """A template step failed; `str()` is ESO's wrapped error text."""


@dataclass
class SecretDraft:
    """The Secret being mutated (`mutationFunc`): data, labels, annotations and type."""

    data: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    type: str = ""


class TemplateSources(Protocol):
    """Where `templateFrom` reads: ConfigMap data and Secret data in the ExternalSecret's
    namespace; a missing object raises `LookupError` with the API server's text."""

    def config_map_data(self, namespace: str, name: str) -> dict[str, str]: ...

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes]: ...


def execute(key: str, text: str, data: dict[str, bytes]) -> bytes:
    """`template/v2.execute`: parse as template `key` with `missingkey=error`, run over the
    values as strings."""
    values = StrMap({k: v.decode("utf-8", "surrogateescape") for k, v in data.items()})
    try:
        template = Template(key, text, FUNCS, missing_key="error")
    except TemplateError as exc:
        raise TemplateFailure(ERR_PARSE.format(key, exc)) from None
    try:
        return template.execute(values).encode("utf-8", "surrogateescape")
    except TemplateError as exc:
        raise TemplateFailure(ERR_EXECUTE.format(key, exc)) from None


def _apply_to_target(key: str, value: bytes, target: str, draft: SecretDraft) -> None:
    if target == "Annotations":
        draft.annotations[key] = value.decode("utf-8", "surrogateescape")
    elif target == "Labels":
        draft.labels[key] = value.decode("utf-8", "surrogateescape")
    else:
        draft.data[key] = value


def _value_scope(
    templates: dict[str, bytes], data: dict[str, bytes], target: str, draft: SecretDraft
) -> None:
    for key in sorted(templates):
        try:
            value = execute(key, templates[key].decode("utf-8", "surrogateescape"), data)
        except TemplateFailure as exc:
            raise TemplateFailure(ERR_EXECUTE.format(key, exc)) from None
        _apply_to_target(key, value, target, draft)


def _map_scope(text: str, data: dict[str, bytes], target: str, draft: SecretDraft) -> None:
    try:
        rendered = execute(text, text, data)
    except TemplateFailure as exc:
        raise TemplateFailure(ERR_EXECUTE.format(text, exc)) from None
    try:
        parsed = yaml.safe_load(rendered.decode("utf-8", "surrogateescape"))
    except yaml.YAMLError as exc:
        raise TemplateFailure(
            f"could not unmarshal template to 'map[string][]byte': error converting YAML to "
            f"JSON: yaml: {exc}"
        ) from None
    if parsed is None:
        parsed = {}
    if not isinstance(parsed, dict):
        raise TemplateFailure(
            "could not unmarshal template to 'map[string][]byte': error unmarshaling JSON: "
            "while decoding JSON: json: cannot unmarshal "
            f"{'array' if isinstance(parsed, list) else 'string'} into Go value of type "
            "map[string]string"
        )
    for key in sorted(parsed, key=str):
        value = parsed[key]
        if value is not None and not isinstance(value, str):
            kind = "bool" if isinstance(value, bool) else "number"
            if isinstance(value, dict | list):
                kind = "object" if isinstance(value, dict) else "array"
            raise TemplateFailure(
                "could not unmarshal template to 'map[string][]byte': error unmarshaling JSON: "
                f"while decoding JSON: json: cannot unmarshal {kind} into Go value of type string"
            )
        _apply_to_target(str(key), (value or "").encode("utf-8", "surrogateescape"), target, draft)


def _template_from(
    spec: TemplateSpec,
    namespace: str,
    data: dict[str, bytes],
    draft: SecretDraft,
    sources: TemplateSources,
) -> None:
    for source in spec.template_from:
        if source.config_map is not None:
            cm = sources.config_map_data(namespace, source.config_map)
            for item in source.config_map_items:
                if item.key not in cm:
                    raise TemplateFailure(
                        f"error in configmap {source.config_map}: missing key {item.key}"
                    )
                text = cm[item.key]
                _run_scope(item.template_as, item.key, text.encode(), data, source.target, draft)
        if source.secret is not None:
            secret = sources.secret_data(namespace, source.secret)
            for item in source.secret_items:
                if item.key not in secret:
                    raise TemplateFailure(
                        f"error in secret {source.secret}: missing key {item.key}"
                    )
                _run_scope(item.template_as, item.key, secret[item.key], data, source.target, draft)
        if source.literal is not None:
            _map_scope(source.literal, data, source.target, draft)


def _run_scope(
    scope: str, key: str, text: bytes, data: dict[str, bytes], target: str, draft: SecretDraft
) -> None:
    if scope == "KeysAndValues":
        _map_scope(text.decode("utf-8", "surrogateescape"), data, target, draft)
    else:
        _value_scope({key: text}, data, target, draft)


def _merge_map(
    templates: dict[str, str], data: dict[str, bytes], target: str, draft: SecretDraft
) -> None:
    try:
        _value_scope({k: v.encode() for k, v in templates.items()}, data, target, draft)
    except TemplateFailure as exc:
        raise TemplateFailure(ERR_EXEC_TPL.format(exc)) from None


def apply_template(
    es: ExternalSecret,
    draft: SecretDraft,
    data: dict[str, bytes],
    sources: TemplateSources,
) -> None:
    """`Reconciler.ApplyTemplate` on `draft`; raises TemplateFailure with ESO's text."""
    spec = es.target.template
    if spec is None:
        draft.labels.update(es.labels)
        draft.annotations.update(es.annotations)
    else:
        draft.labels.update(spec.labels)
        draft.annotations.update(spec.annotations)
    if es.target.creation_policy != "Merge":
        draft.data = {}
    if spec is None:
        draft.data.update(data)
        return
    if spec.type:
        draft.type = spec.type
    if spec.merge_policy == "Merge" or (not spec.data and not spec.template_from):
        draft.data.update(data)
    try:
        _template_from(spec, es.namespace, data, draft, sources)
    except LookupError as exc:
        raise TemplateFailure(ERR_FETCH_TPL_FROM.format(exc.args[0])) from None
    except TemplateFailure as exc:
        raise TemplateFailure(ERR_FETCH_TPL_FROM.format(exc)) from None
    for templates, target in (
        (spec.data, "Data"),
        (spec.labels, "Labels"),
        (spec.annotations, "Annotations"),
    ):
        try:
            _merge_map(templates, data, target, draft)
        except TemplateFailure as exc:
            raise TemplateFailure(ERR_EXEC_TPL.format(exc)) from None


def transform_keys(index: int, step: Rewrite, values: dict[str, bytes]) -> dict[str, bytes]:
    """`esutils.RewriteTransform`: each key rendered through the template as `.value`."""
    prefix = f"failed rewrite operation[{index}]: transform failed with "
    try:
        template = Template("transform", step.template, FUNCS)
    except TemplateError as exc:
        raise TemplateFailure(f"{prefix}failed to parse template: {exc}") from None
    out: dict[str, bytes] = {}
    for key in sorted(values):
        try:
            new = template.execute(StrMap(value=key))
        except TemplateError as exc:
            raise TemplateFailure(
                f'{prefix}failed to execute template for key "{key}": {exc}'
            ) from None
        out[new] = values[key]
    return out
