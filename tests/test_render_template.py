"""The template engine against Go's documented `text/template` semantics (pkg.go.dev/text/template:
"Text and spaces", "Actions", "Arguments", "Pipelines", "Variables", "Functions"; Option
"missingkey") and ESO's function map (runtime/template/v2 at external-secrets cc5bfbc)."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mockserver.render.gotemplate import StrMap, Template, TemplateError
from mockserver.render.gotemplate.esofuncs import pem_decode
from mockserver.render.templating import FUNCS

DATA = StrMap(
    user="admin",
    password='p@ss"w0rd',
    n="3",
    json='{"a":{"b":[1,2]},"port":5432,"big":1234567}',
)


def run(text: str, data: object = DATA, missing: str = "error") -> str:
    return Template("k", text, FUNCS, missing_key=missing).execute(data)


def fail(text: str, data: object = DATA, missing: str = "error") -> str:
    with pytest.raises(TemplateError) as caught:
        run(text, data, missing)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "{{- " trims the preceding white space, " -}}" the following (newlines included).
        ("a  \n {{- .user -}} \n  b", "aadminb"),
        ("a {{- 3 }}", "a3"),
        ("{{ 3 -}} \n b", "3b"),
        # A comment produces nothing; trim markers work around it.
        ("x {{- /* note */ -}} y", "xy"),
        # Pipelines: the result of each command is the last argument of the next.
        ('{{ .user | printf "%s-%s" "x" }}', "x-admin"),
        ('{{ "a" | printf "%s%s" "b" | printf "%q" }}', '"ba"'),
        # Variables: declared with :=, assigned with =; `range $i, $e :=`.
        ('{{ $x := "a" }}{{ $x = "b" }}{{ $x }}', "b"),
        ('{{ range $i, $e := list "a" "b" }}{{ $i }}={{ $e }};{{ end }}', "0=a;1=b;"),
        # Ranging over a map visits keys in sorted order; one variable is the element.
        ('{{ range $v := dict "b" "2" "a" "1" }}{{ $v }}{{ end }}', "12"),
        ("{{ range $k, $v := . }}{{ $k }},{{ end }}", "json,n,password,user,"),
        ("{{ range list }}x{{ else }}empty{{ end }}", "empty"),
        (
            "{{ range $i, $e := until 5 }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $e }}{{ end }}",
            "012",
        ),
        ("{{ range until 4 }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "023"),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        # if / else if / with: empty values are false; with sets dot.
        ('{{ if eq .n "1" }}one{{ else if eq .n "3" }}three{{ else }}other{{ end }}', "three"),
        ("{{ with .user }}[{{ . }}]{{ end }}", "[admin]"),
        ('{{ with "" }}x{{ else }}empty{{ end }}', "empty"),
        # and/or return an operand; not negates the truth of its argument.
        ('{{ and .user "" "x" }}|{{ or "" 0 "z" }}|{{ not "" }}', "|z|true"),
        # Constants: integers, floats (%v: shortest, e-notation from 1e+06), chars are ints.
        ("{{ 1e6 }} {{ 123456.0 }} {{ 1.5 }} {{ 0x10 }} {{ 'a' }}", "1e+06 123456 1.5 16 97"),
        # print adds a space between operands when neither is a string; println always.
        ('{{ print 1 2 "a" 3 }}|{{ println 1 "a" }}', "1 2a3|1 a\n"),
        (
            '{{ printf "%5.1f|%-5s|%x|%d|%v" 3.14159 "ab" "hi" 42 (list 1 "x") }}',
            "  3.1|ab   |6869|42|[1 x]",
        ),
        (
            '{{ printf "%d" "x" }}|{{ printf "%s %s" "a" }}|{{ printf "%s" "a" "b" }}',
            "%!d(string=x)|a %!s(MISSING)|a%!(EXTRA string=b)",
        ),
        # len counts bytes; index of a missing map[string]string key is "".
        ('{{ len "é" }} {{ len .user }}', "2 5"),
        ('{{ index . "user" }}[{{ index . "nope" }}]', "admin[]"),
        ("{{ slice (list 1 2 3) 1 }}", "[2 3]"),
        (
            '{{ html "<a href=\'x\'>" }}|{{ js "a\'b<" }}|{{ urlquery "a b&c" }}',
            "&lt;a href=&#39;x&#39;&gt;|a\\'b\\u003C|a+b%26c",
        ),
        # define / template
        ('{{ define "T" }}<{{ . }}>{{ end }}{{ template "T" .user }}', "<admin>"),
    ],
)
def test_go_text_template_semantics(text: str, expected: str) -> None:
    assert run(text) == expected


def test_missing_keys_follow_the_missingkey_option() -> None:
    # Default: "<no value>" when printed; ESO's data templates use missingkey=error.
    assert run("{{ .nope }}", missing="default") == "<no value>"
    assert fail("{{ .nope }}") == (
        'template: k:1:3: executing "k" at <.nope>: map has no entry for key "nope"'
    )
    assert fail("ab\n {{ .x.y }}") == (
        'template: k:2:4: executing "k" at <.x.y>: map has no entry for key "x"'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ nope }}", 'template: k:1: function "nope" not defined'),
        # A key with a dash is not a field name: Go refuses the dash, `index` reads the key.
        ("{{ .foo-bar }}", 'template: k:1: unexpected "-" in operand'),
        ("{{ if }}", "template: k:1: missing value for if"),
        ("{{ .user", "template: k:1: unclosed action"),
        ("{{ end }}", "template: k:1: unexpected {{end}}"),
        ("{{ if .user }}x", "template: k:1: unexpected EOF"),
        ("{{ $y }}", 'template: k:1: undefined variable "$y"'),
        ("{{ break }}", "template: k:1: {{break}} outside {{range}}"),
        ("{{ 3 | 4 }}", "template: k:1: non executable command in pipeline stage 2"),
        (
            "{{ .user.foo }}",
            'template: k:1:3: executing "k" at <.user.foo>: can\'t evaluate field foo in type string',
        ),
        (
            "{{ .user | b64enc 1 }}",
            'template: k:1:11: executing "k" at <b64enc>: wrong number of args for b64enc: want 1 got 2',
        ),
        ('{{ fail "boom" }}', 'template: k:1:3: executing "k" at <fail>: error calling fail: boom'),
        (
            "{{ lt 1 2.5 }}",
            'template: k:1:3: executing "k" at <lt>: error calling lt: incompatible types for comparison',
        ),
        (
            '{{ eq 1 "a" }}',
            'template: k:1:3: executing "k" at <eq>: error calling eq: incompatible types for comparison',
        ),
        (
            "{{ b64enc 3 }}",
            'template: k:1:10: executing "k" at <3>: wrong type for value; expected string; got int',
        ),
        ("{{ nil }}", 'template: k:1:3: executing "k" at <nil>: nil is not a command'),
        # sprig's slice replaces the built-in one: a string is refused.
        (
            '{{ slice "abc" 1 }}',
            'template: k:1:3: executing "k" at <slice>: error calling slice: list should be type of slice or array but string',
        ),
        (
            '{{ template "x" }}',
            'template: k:1:12: executing "k" at <{{template "x"}}>: template "x" not defined',
        ),
        (
            "{{ range .user }}{{ . }}{{ end }}",
            'template: k:1:9: executing "k" at <{{range .user}}{{.}}{{end}}>: range can\'t iterate over admin',
        ),
    ],
)
def test_errors_read_as_go_writes_them(text: str, expected: str) -> None:
    assert fail(text) == expected


def test_invalid_value_to_a_typed_parameter() -> None:
    assert fail("{{ b64enc .nope }}", missing="default") == (
        'template: k:1:10: executing "k" at <.nope>: invalid value; expected string'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{{ .user | upper }} {{ .user | b64enc }} {{ "YWRtaW4=" | b64dec }}',
            "ADMIN YWRtaW4= admin",
        ),
        # sprig's b64dec returns the decoder's error text as its value.
        ('{{ "!!" | b64dec }}', "illegal base64 data at input byte 0"),
        (
            "{{ .password | toJson }} {{ .password | quote }} {{ .user | squote }}",
            '"p@ss\\"w0rd" "p@ss\\"w0rd" \'admin\'',
        ),
        ('{{ "<&>" | toJson }} {{ "<&>" | toRawJson }}', '"\\u003c\\u0026\\u003e" "<&>"'),
        # fromJson numbers are float64: printed with %v, so 1234567 prints in e-notation.
        (
            "{{ (.json | fromJson).port }} {{ (.json | fromJson).big }} {{ (.json | fromJson).a.b }}",
            "5432 1.234567e+06 [1 2]",
        ),
        ("{{ .json | fromJson | toJson }}", '{"a":{"b":[1,2]},"big":1234567,"port":5432}'),
        ('{{ "not json" | fromJson | toJson }}', "{}"),
        (
            '{{ default "d" "" }}|{{ .user | default "d" }}|{{ coalesce "" 0 "z" }}|{{ ternary "y" "n" false }}',
            "d|admin|z|n",
        ),
        (
            '{{ .user | replace "a" "A" | trunc 3 }}|{{ "hello world" | title }}|{{ "  x " | trim }}',
            "Adm|Hello World|x",
        ),
        (
            '{{ "a,b,c" | splitList "," | join "-" }}|{{ list "b" "a" | sortAlpha }}|{{ keys (dict "b" 1 "a" 2) }}',
            "a-b-c|[a b]|[a b]",
        ),
        ('{{ indent 2 "a\\nb" }}|{{ nindent 2 "a" }}', "  a\n  b|\n  a"),
        (
            "{{ .n | int | add 2 }} {{ div 7 2 }} {{ div -7 2 }} {{ mod -7 2 }} {{ mul 2 3 4 }}",
            "5 3 -3 -1 24",
        ),
        (
            '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}|{{ regexFind "[0-9]+" "abc123" }}|{{ regexMatch "^ad" .user }}',
            "-W-xxW-|123|true",
        ),
        (
            "{{ .user | sha256sum }}",
            "8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918",
        ),
        (
            '{{ dig "a" "b" "none" (.json | fromJson) | toJson }}|{{ dig "x" "none" (.json | fromJson) }}',
            "[1,2]|none",
        ),
        ('{{ dict "b" 1 "a" (list "x") | toYaml }}', "a:\n- x\nb: 1"),
        (
            '{{ "x: 1" | fromYaml | toJson }}|{{ "- a" | fromYaml | toJson }}',
            '{"x":1}|{"Error":"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"}',
        ),
        (
            "{{ kindOf (list) }} {{ typeOf 1.5 }} {{ kindOf (dict) }} {{ typeOf . }}",
            "slice float64 map map[string]string",
        ),
        (
            "{{ seq 3 }}|{{ seq 2 -1 0 }}|{{ addf 1.5 2 }}|{{ divf 1 4 }}|{{ round 2.345 2 }}",
            "1 2 3|2 1 0|3.5|0.25|2.35",
        ),
        (
            '{{ plural "one" "many" 2 }} {{ abbrev 5 "hello world" }} {{ any 0 "" 1 }} {{ chunk 2 (list 1 2 3) }}',
            "many he... true [[1 2] [3]]",
        ),
        ('{{ (urlParse "https://u:p@h.example:8443/p?q=1").hostname }}', "h.example"),
        # The enterprise fork's isJson: a JSON object only.
        ('{{ isJson .json }} {{ isJson "[1]" }} {{ isJson .user }}', "true false false"),
    ],
)
def test_eso_function_map(text: str, expected: str) -> None:
    assert run(text) == expected


def _cert_and_key() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("app.example"),
                    x509.IPAddress(__import__("ipaddress").ip_address("10.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem


def test_pem_functions() -> None:
    cert, key = _cert_and_key()
    bundle = StrMap(bundle="junk before\n" + key + cert)
    assert run('{{ .bundle | filterPEM "CERTIFICATE" }}', bundle) == cert
    assert run('{{ .bundle | filterPEM "private key" }}', bundle) == key
    # No block of the type and something left over: ESO's junk error.
    assert fail('{{ "garbage" | filterPEM "CERTIFICATE" }}') == (
        'template: k:1:15: executing "k" at <filterPEM>: error calling filterPEM: error '
        "filtering pem: found junk"
    )
    block, rest = pem_decode(cert + "tail")
    assert block is not None and block[0] == "CERTIFICATE" and rest == "tail"


def test_jwk_functions() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.private_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    public = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.public_numbers.x),
        "y": b64(numbers.public_numbers.y),
    }
    private = {**public, "d": b64(numbers.private_value)}
    data = StrMap(pub=json.dumps(public), priv=json.dumps(private))
    spki = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert run("{{ .pub | jwkPublicKeyPem }}", data) == spki.decode()
    assert run("{{ .priv | jwkPrivateKeyPem }}", data) == pkcs8.decode()
    assert fail("{{ .pub | jwkPrivateKeyPem }}", data).endswith(
        "error calling jwkPrivateKeyPem: x509: unknown key type while marshaling PKCS#8: "
        "*ecdsa.PublicKey"
    )


def test_pkcs12_key() -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    cert_pem, key_pem = _cert_and_key()
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    blob = pkcs12.serialize_key_and_certificates(
        b"app", key, cert, None, serialization.BestAvailableEncryption(b"pw")
    )
    data = StrMap(p12=blob.decode("utf-8", "surrogateescape"))
    assert run('{{ .p12 | pkcs12keyPass "pw" }}', data) == key_pem
    assert run('{{ .p12 | pkcs12certPass "pw" }}', data) == cert_pem
    assert "unable to decode pkcs12 with password" in fail('{{ .p12 | pkcs12keyPass "no" }}', data)


def test_filter_cert_chain() -> None:
    import trustme

    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("app.example")
    pems = [b.bytes().decode() for b in leaf.cert_chain_pems]
    leaf_pem, inter_pem = pems[0], pems[1]
    root_pem = root.cert_pem.bytes().decode()
    # Any order in, ESO orders leaf → root.
    data = StrMap(chain=root_pem + leaf_pem + inter_pem)
    assert run('{{ .chain | filterCertChain "leaf" }}', data) == leaf_pem
    assert run('{{ .chain | filterCertChain "intermediate" }}', data) == inter_pem
    assert run('{{ .chain | filterCertChain "root" }}', data) == root_pem
    assert run('{{ .chain | filterCertChain "other" }}', data) == ""
    two_leaves = StrMap(
        chain=leaf_pem + root.issue_cert("b.example").cert_chain_pems[0].bytes().decode()
    )
    assert fail('{{ .chain | filterCertChain "leaf" }}', two_leaves).endswith(
        "error calling filterCertChain: found multiple leaf or disjunct certificates"
    )
