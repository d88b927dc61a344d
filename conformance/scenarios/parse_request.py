"""Parsing a scenario's request: identity, body, workload token, transport and header variants."""

from __future__ import annotations

import re
from typing import Any

from conformance.scenarios.checker import Checker, ParseContext, join
from conformance.scenarios.model import (
    Body,
    Identity,
    IdPIdentity,
    KubeIdentity,
    Request,
    SpiffeIdentity,
    WorkloadToken,
)
from conformance.scenarios.vocabulary import (
    AUTH_FORMS,
    BODY_VARIANTS,
    CA_VARIANTS,
    MALFORMED_WLT,
    OPERATIONS,
    SVID_VARIANTS,
    TOKEN_VARIANTS,
    TRANSPORTS,
)
from mockserver.idp.minting import BROKEN_KINDS as IDP_BROKEN_KINDS

IDPS = ("okta", "pingone")


def _idp_identity(c: Checker, value: dict[str, Any], path: str) -> IdPIdentity | None:
    d = c.mapping(value, path, ("idp",), ("subject", "client_id", "server", "token"))
    if d is None:
        return None
    idp = c.string(d["idp"], join(path, "idp"), IDPS)
    texts = {}
    for key in ("subject", "client_id", "server"):
        if key in d:
            texts[key] = c.string(d[key], join(path, key), what="a string")
    token = c.string(
        d.get("token", "valid"),
        join(path, "token"),
        ["valid", *(f"broken:{k}" for k in IDP_BROKEN_KINDS)],
    )
    if "subject" not in d and "client_id" not in d:
        c.bad(path, "subject (a user token) or client_id (client credentials)", value)
        return None
    if idp is None or token is None or any(v is None for v in texts.values()):
        return None
    return IdPIdentity(
        idp, texts.get("subject"), texts.get("client_id"), texts.get("server"), token
    )


def _identity(c: Checker, value: Any, path: str, ctx: ParseContext) -> Identity | None:
    if isinstance(value, dict) and "idp" in value:
        return _idp_identity(c, value, path)
    if isinstance(value, dict) and "spiffe" in value:
        d = c.mapping(value, path, ("spiffe",), ("svid",))
        if d is None:
            return None
        sid = c.string(
            d["spiffe"],
            join(path, "spiffe"),
            pattern=re.compile(r"^spiffe://\S+$"),
            what="a spiffe:// ID",
        )
        svid = c.string(d.get("svid", "valid"), join(path, "svid"), SVID_VARIANTS)
        return None if sid is None or svid is None else SpiffeIdentity(sid, svid)
    d = c.mapping(value, path, ("cluster", "serviceAccount"), ("pod", "token", "signed_by"))
    if d is None:
        return None
    cluster = c.string(d["cluster"], join(path, "cluster"), what="a cluster name")
    sa = c.string(
        d["serviceAccount"],
        join(path, "serviceAccount"),
        pattern=re.compile(r"^[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*$"),
        what="<namespace>/<name>",
    )
    pod = None
    if "pod" in d:
        pod = c.string(d["pod"], join(path, "pod"), what="a pod name")
    token = d.get("token", "valid")
    kinds = [*TOKEN_VARIANTS, *(f"broken:{k}" for k in ctx.broken)]
    token = c.string(token, join(path, "token"), kinds)
    signed_by = None
    if "signed_by" in d:
        signed_by = c.string(d["signed_by"], join(path, "signed_by"), what="a cluster name")
    if (
        cluster is None
        or sa is None
        or token is None
        or ("pod" in d and pod is None)
        or ("signed_by" in d and signed_by is None)
    ):
        return None
    return KubeIdentity(cluster, sa, pod, token, signed_by)


def _body(c: Checker, value: Any, path: str) -> Body | None:
    if isinstance(value, str):
        form = c.string(value, path, BODY_VARIANTS)
        return None if form is None else Body(form)
    if isinstance(value, dict) and len(value) == 1:
        key, arg = next(iter(value.items()))
        if key == "text":
            if not isinstance(arg, str):
                c.bad(join(path, "text"), "a string", arg)
                return None
            return Body("text", text=arg)
        if key == "json":
            return Body("value", value=arg)
        if key == "oversized":
            size = c.integer(arg, join(path, "oversized"), 1, 1 << 30, "a size in bytes")
            return None if size is None else Body("oversized", size=size)
    c.bad(
        path,
        f"one of {', '.join(BODY_VARIANTS)}, or a mapping with one of text, json, oversized",
        value,
    )
    return None


def _workload_token(c: Checker, value: Any, path: str, ctx: ParseContext) -> WorkloadToken | None:
    if isinstance(value, dict) and "malformed" in value:
        d = c.mapping(value, path, ("malformed",), ())
        kind = d and c.string(d["malformed"], join(path, "malformed"), MALFORMED_WLT)
        return WorkloadToken(malformed=kind) if kind else None
    if isinstance(value, dict) and "raw" in value:
        d = c.mapping(value, path, ("raw",), ())
        raw = d and c.string(d["raw"], join(path, "raw"), what="a string")
        return WorkloadToken(raw=raw) if raw else None
    ident = _identity(c, value, path, ctx)
    if isinstance(ident, SpiffeIdentity | IdPIdentity):
        c.bad(path, "a Kubernetes identity, {malformed: …} or {raw: …}", value)
        return None
    return WorkloadToken(identity=ident) if ident else None


def parse_request(c: Checker, value: Any, path: str, ctx: ParseContext) -> Request | None:
    d = c.mapping(
        value,
        path,
        ("operation",),
        (
            "params",
            "identity",
            "transport",
            "auth",
            "ca_crt",
            "body",
            "workload_token",
            "headers",
            "query",
            "ca_member",
        ),
    )
    if d is None:
        return None
    ok = True
    op = c.string(d["operation"], join(path, "operation"), tuple(OPERATIONS))
    params = d.get("params", {})
    if op is not None:
        required, optional = OPERATIONS[op]
        p = c.mapping(params, join(path, "params"), required, optional)
        if p is None:
            ok = False
        else:
            for key in required:
                if c.string(p[key], join(join(path, "params"), key)) is None:
                    ok = False
            if op == "raw" and isinstance(p.get("path"), str) and not p["path"].startswith("/"):
                c.bad(join(path, "params.path"), "a path starting with /", p["path"])
                ok = False
            if op == "generator.revoke_of" and "body" in p and not isinstance(p["body"], dict):
                c.bad(join(path, "params.body"), "a mapping of members to send", p["body"])
                ok = False
    else:
        ok = False
    identity = None
    if "identity" in d and d["identity"] is not None:
        identity = _identity(c, d["identity"], join(path, "identity"), ctx)
        ok = ok and identity is not None
    default_transport = "mtls" if isinstance(identity, SpiffeIdentity) else "http"
    transport = c.string(d.get("transport", default_transport), join(path, "transport"), TRANSPORTS)
    auth = c.string(d.get("auth", "bearer"), join(path, "auth"), AUTH_FORMS)
    ca = d.get("ca_crt", "cluster")
    ca_ok = isinstance(ca, str) and (
        ca in CA_VARIANTS or (ca.startswith("cluster:") and len(ca) > 8)
    )
    if not ca_ok:
        c.bad(join(path, "ca_crt"), f"one of {', '.join(CA_VARIANTS)} or cluster:<name>", ca)
    body = _body(c, d.get("body", "json"), join(path, "body"))
    wlt = None
    if "workload_token" in d:
        wlt = _workload_token(c, d["workload_token"], join(path, "workload_token"), ctx)
        ok = ok and wlt is not None
    headers: dict[str, str | None] = {}
    if "headers" in d:
        if not isinstance(d["headers"], dict):
            c.bad(
                join(path, "headers"), "a mapping of header names to strings or null", d["headers"]
            )
            ok = False
        else:
            for k, v in d["headers"].items():
                if v is not None and not isinstance(v, str):
                    c.bad(join(join(path, "headers"), str(k)), "a string or null", v)
                    ok = False
            headers = dict(d["headers"])
    query = None
    if "query" in d:
        query = c.string(d["query"], join(path, "query"), what="a query string")
        ok = ok and query is not None
    ca_member = c.string(d.get("ca_member", "ca.crt"), join(path, "ca_member"), what="a name")
    ok = ok and ca_member is not None
    if transport == "mtls" and isinstance(identity, KubeIdentity | IdPIdentity):
        c.bad(join(path, "transport"), "http or https for a Kubernetes identity", transport)
        ok = False
    if not ok or op is None or transport is None or auth is None or body is None or not ca_ok:
        return None
    return Request(
        op, dict(params), identity, transport, auth, ca, body, wlt, headers, query, str(ca_member)
    )
