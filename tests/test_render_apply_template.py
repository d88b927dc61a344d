"""`ApplyTemplate` as ESO's controller runs it (pkg/controllers/externalsecret/
externalsecret_controller_template.go and pkg/controllers/templating/parser.go at external-secrets
cc5bfbc): precedence, merge policy, templateFrom sources and targets, metadata templates, and the
error texts a user sees in the Warning event."""

from __future__ import annotations

import pytest

from mockserver.manifests import Secret
from mockserver.render.externalsecret import SyncError, SyncResult, rewrite
from mockserver.render.model import (
    ExternalSecret,
    Rewrite,
    StoreRef,
    Target,
    Template,
    TemplateFrom,
    TemplateItem,
)
from mockserver.render.secret import outcome_manifests
from mockserver.render.templating import SecretDraft, TemplateFailure, apply_template

DATA = {"user": b"admin", "password": b"s3cret"}


class Sources:
    def __init__(self) -> None:
        self.config_maps = {
            "tpl": {
                "url": "db://{{ .user }}@host",
                "kv": "a: {{ .user | quote }}\nb: '{{ .password }}'\n",
                "bad": "n: 5\n",
            }
        }
        self.secrets = {"stpl": {"pw": b"{{ .password | upper }}"}}

    def config_map_data(self, namespace: str, name: str) -> dict[str, str]:
        if name not in self.config_maps:
            raise LookupError(f'configmaps "{name}" not found')
        return self.config_maps[name]

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes]:
        if name not in self.secrets:
            raise LookupError(f'secrets "{name}" not found')
        return self.secrets[name]


def _es(template: Template | None, creation: str = "Owner", labels=None) -> ExternalSecret:
    return ExternalSecret(
        "team-a",
        "app",
        StoreRef("s"),
        Target("app", creation, template=template),
        labels=labels or {"from": "es"},
    )


def _apply(es: ExternalSecret, draft: SecretDraft | None = None) -> SecretDraft:
    draft = draft or SecretDraft()
    apply_template(es, draft, dict(DATA), Sources())
    return draft


def test_without_template_data_and_metadata_are_copied() -> None:
    draft = _apply(_es(None))
    assert draft.data == DATA and draft.labels == {"from": "es"}


def test_template_without_data_keeps_the_values_and_not_the_es_labels() -> None:
    draft = _apply(_es(Template(type="kubernetes.io/basic-auth", labels={"l": "{{ .user }}"})))
    assert draft.data == DATA
    assert draft.type == "kubernetes.io/basic-auth"
    assert draft.labels == {"l": "admin"}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("Replace", {"dsn": b"admin:s3cret"}),
        ("Merge", {**DATA, "dsn": b"admin:s3cret"}),
    ],
)
def test_merge_policy(policy: str, expected: dict[str, bytes]) -> None:
    template = Template(merge_policy=policy, data={"dsn": "{{ .user }}:{{ .password }}"})
    assert _apply(_es(template)).data == expected


def test_template_data_wins_over_template_from() -> None:
    template = Template(
        data={"url": "from data"},
        template_from=(
            TemplateFrom(config_map="tpl", config_map_items=(TemplateItem("url"),)),
            TemplateFrom(
                config_map="tpl",
                config_map_items=(TemplateItem("kv", "KeysAndValues"),),
                target="Annotations",
            ),
            TemplateFrom(secret="stpl", secret_items=(TemplateItem("pw"),), target="Labels"),
        ),
    )
    draft = _apply(_es(template))
    assert draft.data == {"url": b"from data"}
    assert draft.annotations == {"a": "admin", "b": "s3cret"}
    assert draft.labels == {"pw": "S3CRET"}


def test_merge_creation_policy_keeps_existing_keys() -> None:
    draft = SecretDraft({"old": b"1"}, {"keep": "x"}, {}, "Opaque")
    _apply(_es(Template(data={"new": "{{ .user }}"}), creation="Merge"), draft)
    assert draft.data == {"old": b"1", "new": b"admin"}
    assert draft.labels == {"keep": "x"}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            Template(
                template_from=(
                    TemplateFrom(config_map="nope", config_map_items=(TemplateItem("x"),)),
                )
            ),
            'error fetching templateFrom data: configmaps "nope" not found',
        ),
        (
            Template(
                template_from=(
                    TemplateFrom(config_map="tpl", config_map_items=(TemplateItem("x"),)),
                )
            ),
            "error fetching templateFrom data: error in configmap tpl: missing key x",
        ),
        (
            Template(
                template_from=(
                    TemplateFrom(
                        config_map="tpl", config_map_items=(TemplateItem("bad", "KeysAndValues"),)
                    ),
                )
            ),
            "error fetching templateFrom data: could not unmarshal template to 'map[string][]byte': "
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go "
            "value of type string",
        ),
        (
            Template(data={"password": "{{ .nope }}"}),
            "could not execute template: could not execute template: unable to execute template "
            "at key password: unable to execute template at key password: template: password:1:3: "
            'executing "password" at <.nope>: map has no entry for key "nope"',
        ),
        (
            Template(data={"k": "{{ nope }}"}),
            "could not execute template: could not execute template: unable to execute template "
            'at key k: unable to parse template at key k: template: k:1: function "nope" not defined',
        ),
    ],
)
def test_template_errors_keep_eso_wrapping(template: Template, message: str) -> None:
    with pytest.raises(TemplateFailure) as caught:
        _apply(_es(template))
    assert str(caught.value) == message


def test_a_template_error_fails_the_sync_as_could_not_update_secret() -> None:
    es = _es(Template(data={"password": "{{ .nope }}"}))
    printed, error = outcome_manifests(es, SyncResult(dict(DATA)), None, Sources())
    status, event = printed
    assert status["status"]["conditions"][0]["message"] == "could not update secret"
    assert event["message"] == error
    assert error is not None and error.startswith("could not apply template: could not execute")


def test_merge_into_an_existing_secret_keeps_its_type() -> None:
    es = _es(None, creation="Merge")
    existing = Secret("team-a", "app", {"old": b"1"}, "kubernetes.io/basic-auth")
    (secret,), error = outcome_manifests(es, SyncResult(dict(DATA)), existing, Sources())
    assert error is None and secret["type"] == "kubernetes.io/basic-auth"
    assert sorted(secret["data"]) == ["old", "password", "user"]


def test_rewrite_transform() -> None:
    values = {"db-user": b"a", "db-pass": b"b"}
    step = Rewrite("transform", template='{{ .value | upper | replace "-" "_" }}')
    assert rewrite((step,), values) == {"DB_USER": b"a", "DB_PASS": b"b"}
    # The transform runs with Go's default missingkey: a missing key prints "<no value>".
    assert rewrite((Rewrite("transform", template="{{ .nope }}"),), {"k": b"v"}) == {
        "<no value>": b"v"
    }
    with pytest.raises(SyncError) as caught:
        rewrite((Rewrite("transform", template="{{ nope }}"),), values)
    assert str(caught.value) == (
        "error applying rewrite to keys: failed rewrite operation[0]: transform failed with "
        'failed to parse template: template: transform:1: function "nope" not defined'
    )
