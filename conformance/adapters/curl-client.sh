#!/bin/sh
# curl-client.sh: a plain POSIX shell client of the Federation protocol, using curl and jq.
#
# It shows that a conforming client needs nothing exotic: the JSON body with base64 -w0 of the
# client-cluster CA on every request (DELETE too), the token from a file in a header file (never
# on the command line), Go-style path escaping, a time limit, one retry after a 401 only, exact
# decoding with jq, and no output at all when anything fails. See docs/client-adapters.md.
#
# Usage:
#   curl-client.sh store       COMMON --store S --key K --out FILE
#   curl-client.sh generator   COMMON --namespace N --kind K --name N --out-dir DIR
#   curl-client.sh revoke-self COMMON --namespace N --kind K --name N
#   curl-client.sh revoke-of   COMMON --namespace N --owner O
#   COMMON: --url URL --token-file FILE --ca-file FILE [--server-ca FILE] [--timeout SECONDS]
# Exit codes: 0 ok, 1 the request or the delivery failed (nothing written), 2 usage.

set -u
umask 077
LC_ALL=C
export LC_ALL
prog=curl-client

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { printf '%s: usage error: %s\n' "$prog" "$*" >&2; exit 2; }

[ $# -ge 1 ] || usage "give an operation: store, generator, revoke-self or revoke-of"
op=$1
shift
url='' token_file='' ca_file='' server_ca='' timeout=10
store='' key='' out='' namespace='' kind='' name='' out_dir='' owner=''
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage "$1 needs a value"
    case $1 in
        --url) url=$2 ;;
        --token-file) token_file=$2 ;;
        --ca-file) ca_file=$2 ;;
        --server-ca) server_ca=$2 ;;
        --timeout) timeout=$2 ;;
        --store) store=$2 ;;
        --key) key=$2 ;;
        --out) out=$2 ;;
        --namespace) namespace=$2 ;;
        --kind) kind=$2 ;;
        --name) name=$2 ;;
        --out-dir) out_dir=$2 ;;
        --owner) owner=$2 ;;
        *) usage "unknown option $1" ;;
    esac
    shift 2
done

need() { for _n in "$@"; do eval "[ -n \"\${$_n}\" ]" || usage "--$(echo "$_n" | tr _ -) is required"; done; }
need url token_file ca_file
case $op in
    store) need store key out ;;
    generator) need namespace kind name out_dir ;;
    revoke-self) need namespace kind name ;;
    revoke-of) need namespace owner ;;
    *) usage "unknown operation $op" ;;
esac
case $url in http://*|https://*) ;; *) usage "--url must start with http:// or https://" ;; esac
command -v curl >/dev/null 2>&1 || die "curl is not installed"
command -v jq >/dev/null 2>&1 || die "jq is not installed"

work=$(mktemp -d) || die "cannot make a temporary folder"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# Go's url.escape(path, encodePath): what the server re-encodes to, so no escape stays literal.
# jq 1.6's @uri leaves !*'() alone, jq 1.7 does not; both end up the same here.
GOESC='@uri | gsub("!";"%21") | gsub("\\*";"%2A") | gsub("'"'"'";"%27") | gsub("\\(";"%28")
  | gsub("\\)";"%29") | gsub("%24";"$") | gsub("%26";"&") | gsub("%2B";"+") | gsub("%2C";",")
  | gsub("%3A";":") | gsub("%3B";";") | gsub("%3D";"=") | gsub("%40";"@")'
segment() { jq -rn --arg s "$1" "\$s | $GOESC"; }
leaf() { jq -rn --arg s "$1" "\$s | $GOESC | gsub(\"%2F\";\"/\")"; }

for _segment in "$store" "$namespace" "$kind"; do
    case $_segment in */*) usage "'$_segment' cannot contain /" ;; esac
done
base=$url
while :; do case $base in */) base=${base%/} ;; *) break ;; esac; done

# The body: {"ca.crt": base64 -w0 of the PEM}, whose first block must be a certificate.
[ -r "$ca_file" ] || die "cannot read client-cluster CA file $ca_file"
first=$(sed -n '/^-----BEGIN /{p;q;}' "$ca_file")
[ "$first" = "-----BEGIN CERTIFICATE-----" ] ||
    die "client-cluster CA file $ca_file does not start with a PEM CERTIFICATE block"
ca_b64=$(base64 -w0 < "$ca_file") || die "cannot encode $ca_file"
case $op in
    revoke-of)
        jq -nc --arg ca "$ca_b64" --arg owner "$owner" --arg ns "$namespace" \
            '{"ca.crt": $ca, owner: $owner, namespace: $ns}' > "$work/body" ;;
    *) jq -nc --arg ca "$ca_b64" '{"ca.crt": $ca}' > "$work/body" ;;
esac || die "cannot build the request body"

case $op in
    store) method=POST path="/secretstore/$(segment "$store")/secrets/$(leaf "$key")" ;;
    generator) method=POST ;;
    revoke-self) method=DELETE ;;
    revoke-of) method=POST path="/generators/$(segment "$namespace")/revoke" ;;
esac
case $op in generator|revoke-self)
    path="/generators/$(segment "$namespace")/$(segment "$kind")/$(leaf "$name")" ;;
esac

# One request; the token is re-read each time and goes into a 0600 header file.
send() {
    token=$(cat -- "$token_file" 2>/dev/null) || die "cannot read token file $token_file"
    case $token in
        '') die "token file $token_file is empty" ;;
        *[!!-~]*) die "token file $token_file holds whitespace or control characters" ;;
    esac
    printf 'Authorization: Bearer %s\nContent-Type: application/json\nAccept: application/json\n' \
        "$token" > "$work/headers"
    set -- -q --silent --show-error --path-as-is --proto '=http,https' --max-time "$timeout" \
        --max-filesize 1048576 --request "$method" --header "@$work/headers" \
        --data-binary "@$work/body" --output "$work/answer" --write-out '%{http_code}'
    if [ -n "$server_ca" ]; then set -- "$@" --cacert "$server_ca"; fi
    status=$(curl "$@" "$base$path" 2>"$work/curl-error")
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    case $rc in
        28) why="no answer within $timeout s (timed out)" ;;
        7) why="connection refused or unreachable" ;;
        52) why="the server closed the connection without answering" ;;
        56|18) why="the connection broke before the whole answer arrived" ;;
        35|51|58|59|60|77|83|90|91) why="TLS failed: $(head -n 1 "$work/curl-error")" ;;
        63) why="the answer is larger than 1048576 bytes" ;;
        *) why="curl failed ($rc): $(head -n 1 "$work/curl-error")" ;;
    esac
    die "$method $path: $why"
}

send
if [ "$status" = 401 ]; then
    sleep 0.5 2>/dev/null || sleep 1
    send
fi

where="$method $path"
if [ "$status" != 200 ] && ! { [ "$op" = revoke-self ] && [ "$status" = 204 ]; }; then
    msg=$(jq -sc 'if length == 1 then .[0] else . end
        | if type == "object" and (.message | type) == "string" then {message} else . end' \
        < "$work/answer" 2>/dev/null) || msg=$(head -c 200 "$work/answer" | jq -Rsc .)
    case $status in
        400) hint="the server could not serve the request" ;;
        401) hint="authentication failed (token, or the client-cluster CA sent as ca.crt)" ;;
        404) case $msg in
                \"*) hint="not authorised: no Authorization grants this identity this resource" ;;
                *) hint="no such route on the server (check the server URL)" ;;
             esac ;;
        5??) hint="server error; not retried" ;;
        *) hint="unexpected status" ;;
    esac
    die "$where: the server answered $status $msg ($hint); nothing was written"
fi

one_value() { jq -se "length == 1 and (.[0] | $1)" < "$work/answer" >/dev/null 2>&1; }

case $op in
    store)
        one_value 'type == "string"' || die "$where: 200 but the body is not one JSON string"
        dir=$(dirname -- "$out")
        mkdir -p -- "$dir" || die "cannot create $dir"
        tmp=$(mktemp "$dir/.value.XXXXXX") || die "cannot write in $dir"
        if ! jq -sj '.[0]' < "$work/answer" > "$tmp"; then rm -f -- "$tmp"; die "cannot write $out"; fi
        chmod 600 "$tmp" && mv -f -- "$tmp" "$out" || { rm -f -- "$tmp"; die "cannot write $out"; }
        ;;
    generator)
        one_value 'type == "object" and ([.[]] | all(type == "string"))
            and (keys | all(test("^[A-Za-z0-9_][A-Za-z0-9_.-]*$")))' ||
            die "$where: 200 but the body is not one JSON object of strings with file-safe keys"
        mkdir -p -- "$out_dir" || die "cannot create $out_dir"
        stage=$(mktemp -d "$out_dir/.stage.XXXXXX") || die "cannot write in $out_dir"
        jq -sr '.[0] | keys[]' < "$work/answer" > "$work/keys" 2>/dev/null ||
            { rm -rf -- "$stage"; die "cannot list the keys"; }
        failed=''
        while IFS= read -r k; do
            jq -sj --arg k "$k" '.[0][$k]' < "$work/answer" > "$stage/$k" || failed=1
        done < "$work/keys"
        [ -z "$failed" ] || { rm -rf -- "$stage"; die "cannot write into $out_dir"; }
        while IFS= read -r k; do
            mv -f -- "$stage/$k" "$out_dir/$k" || failed=1
        done < "$work/keys"
        rm -rf -- "$stage"
        [ -z "$failed" ] || die "cannot move every file into $out_dir"
        ;;
    revoke-self)
        [ "$status" = 204 ] || one_value '. == null' || die "$where: 200 but the body is not null"
        ;;
    revoke-of)
        one_value 'type == "string"' || die "$where: 200 but the body is not a JSON string"
        ;;
esac
exit 0
