#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from conformance/vectors/** and a few
hand-made inputs. Each file is named by the SHA-1 of its bytes, as libFuzzer names its own.
Run from anywhere: python3 fuzz/scripts/seed_corpora.py (idempotent)."""
import hashlib, json, os, re, struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "conformance" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"
JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")

def walk(v):
    yield v
    if isinstance(v, dict):
        for x in v.values(): yield from walk(x)
    elif isinstance(v, list):
        for x in v: yield from walk(x)

def docs():
    for p in sorted(VECTORS.rglob("*.json")):
        yield p.name, json.loads(p.read_text())

seeds = {}
def add(target, data):
    if isinstance(data, str): data = data.encode()
    seeds.setdefault(target, set()).add(data)

def edit(op, pos, byte): return bytes([op]) + struct.pack(">H", pos) + bytes([byte])

strings = [s for _, d in docs() for s in walk(d) if isinstance(s, str)]
objects = [o for _, d in docs() for o in walk(d) if isinstance(o, dict)]

# jws_verify: mode 0 arbitrary tokens, 1/2 edits of the valid HS256/ES256 tokens
for s in sorted(set(s for s in strings if JWS.match(s) and len(s) < 4000))[:40]:
    add("jws_verify", b"\0" + s.encode())
for mode in (1, 2):
    add("jws_verify", bytes([mode]))
    add("jws_verify", bytes([mode]) + edit(0, 10, ord("A")))
    add("jws_verify", bytes([mode]) + edit(2, 500, 0))
    add("jws_verify", bytes([mode]) + edit(1, 0xffff, ord("=")))

# jwk: every object with a kty, every object with keys
for o in objects:
    if "kty" in o or "keys" in o:
        add("jwk", json.dumps(o, separators=(",", ":")))
add("jwk", '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}')

# authorization_header
for s in strings:
    if re.match(r"^(Basic|Bearer|DPoP) \S+$", s) and len(s) < 2000:
        add("authorization_header", s)
for s in ["Bearer abc.def-ghi~", "bearer   x==", "Bearer", "Bearer a b", "Bearerabc",
          "Bearer realm=\"x\"", "DPoP eyJ", "Bearer\tabc", "Basic dXNlcjpwYXNz"]:
    add("authorization_header", s)

# www_authenticate
for s in strings:
    if re.match(r"^(Bearer|Basic|DPoP)( |$)", s) and "=" in s and len(s) < 2000:
        add("www_authenticate", s)
for s in ['Bearer realm="example", error="invalid_token", error_description="The access token expired"',
          'Basic realm="a\\"b", charset="UTF-8", Bearer', 'DPoP algs="ES256 PS256", Bearer realm=x',
          'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
          'Bearer abc==', 'Bearer resource_metadata="https://rs.example/.well-known/oauth-protected-resource"',
          ', , Bearer ,', '']:
    add("www_authenticate", s)

# api_key: mode 0 as given (tst_ prefix: the checksum does not cover the prefix), 1 built
for s in strings:
    m = re.match(r"^[A-Za-z][A-Za-z0-9_]*?_([0-9A-Za-z]{36})$", s)
    if m: add("api_key", b"\0tst_" + m.group(1).encode())
for o in objects:
    if "body" in o and isinstance(o["body"], str):
        add("api_key", b"\0tst_" + o["body"].encode())
add("api_key", b"\1" + b"7TQUoGbwsFRKCzRYOs4MQvIqsaWL38")
add("api_key", b"\1" + b"7TQUoGbwsFRKCzRYOs4MQvIqsaWL38" + edit(0, 39, ord("V")))
add("api_key", b"\1" + b"7TQUoGbwsFRKCzRYOs4MQvIqsaWL38" + edit(2, 0, 0))

# token_response: status 200 (0) with every token/introspection/error response object
for o in objects:
    if "access_token" in o or "error" in o or "active" in o:
        body = json.dumps(o.get("body", o) if isinstance(o.get("body"), dict) else o)
        add("token_response", b"\0" + body.encode())
        add("token_response", b"\1" + body.encode())
for body in ['{"access_token":"AT","token_type":"Bearer","expires_in":3600}',
             '{"access_token":"AT","token_type":"bearer","scope":"a b","refresh_token":"RT"}',
             '{"access_token":"","token_type":"Bearer"}', '{"access_token":"AT","token_type":"mac"}',
             '{"error":"invalid_grant","error_description":"x"}', 'not json']:
    add("token_response", b"\0" + body.encode())

# ratelimit_fields: 0 policy, 1 ratelimit, 2 retry-after
rl = json.loads((VECTORS / "http_ratelimit_retryafter_vectors.json").read_text())
for mode, key in enumerate(["ratelimit_policy_field", "ratelimit_field", "retry_after"]):
    for item in rl[key]:
        add("ratelimit_fields", bytes([mode]) + item["field_value"].encode())
add("ratelimit_fields", b"\0\"a\";q=1\n\"b\";q=2;w=3;qu=\"requests\"")
add("ratelimit_fields", b"\2Sunday, 06-Nov-94 08:49:37 GMT")
add("ratelimit_fields", b"\2Sun Nov  6 08:49:37 1994")

# forwarded_walk: structured (mode 0: kind, peer, (choice, form)*) and raw (mode 1)
add("forwarded_walk", bytes([0, 0, 0, 2, 2, 0, 1, 0, 0, 1]))
add("forwarded_walk", bytes([0, 1, 1, 4, 3, 0, 5, 1, 4, 10]))
add("forwarded_walk", bytes([0, 0, 0, 200, 0, 3, 0, 1, 0]))
add("forwarded_walk", bytes([0, 0, 7, 2, 0, 7, 1]))
add("forwarded_walk", b"\1" + b"1.1.1.1, 203.0.113.9, 10.0.0.2")
add("forwarded_walk", b"\1" + b'for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https\nfor=unknown')

# dpop_proof: mode 0 arbitrary, 1 edits of the RFC 9449 proof
for o in objects:
    if isinstance(o.get("proof"), str):
        add("dpop_proof", b"\0" + o["proof"].encode())
add("dpop_proof", b"\1")
add("dpop_proof", b"\1" + edit(0, 300, ord("x")))
add("dpop_proof", b"\1" + edit(2, 0xffff, 0))
for s in sorted(set(s for s in strings if JWS.match(s) and len(s) < 4000))[:10]:
    add("dpop_proof", b"\0" + s.encode())

# strict_json: every JSON object and array of the vectors, compact and spaced, and the edges
# the strict reader and serde_json must agree on
for o in objects[:400]:
    add("strict_json", json.dumps(o, separators=(",", ":")))
    add("strict_json", json.dumps(o, indent=1))
for t in ['{"a":1,"a":2}', '{"a":{"b":[{"c":1,"c":2}]},"a":0}', '{"\\u0061":1,"a":2}',
          '{"":{"x":1,"x":1}}', '[{"x":1},{"x":2,"x":3}]', '"\\ud800"', '"\\ud83d\\ude00"',
          '"\\udc00\\ud800"', '1e400', '-0', '-0.0e-0', '18446744073709551616', '0.1e', '01',
          '{"a":1} x', ' {"a":1}\n', '\ufeff{}', '{"a":"\x01"}', 'true', 'nul', '[1,]', '{,}',
          '[' * 128 + ']' * 128, '[' * 129 + ']' * 129, '{"a":' * 127 + '0' + '}' * 127]:
    add("strict_json", t)

# introspection: status byte (0: 200, 3: 401, 7: 503) and a response
for o in objects:
    if "active" in o:
        add("introspection", b"\0" + json.dumps(o).encode())
base = {"active": True, "sub": "alice", "iss": "https://as.example", "aud": "api",
        "exp": 1700000600, "scope": "read write"}
def variant(**kw):
    d = dict(base); d.update(kw)
    return json.dumps({k: v for k, v in d.items() if v is not None})
for body in [variant(), variant(aud=["x", "api"]), variant(exp=1699999999), variant(exp=1700000000.5),
             variant(exp="1800000000"), variant(nbf=1700000001), variant(sub=None, client_id="c"),
             variant(sub=7, client_id="c"), variant(sub=""), variant(active="true"),
             variant(iss="https://as.example/"), variant(cnf={"jkt": "J"}),
             variant(cnf={"x5t#S256": "T", "jwk": {}}), variant(cnf={"jkt": 1}), variant(cnf="J"),
             '{"active":false}', '[]', 'not json', '{"active":true} {}']:
    add("introspection", b"\0" + body.encode())
add("introspection", b"\3" + variant().encode())
add("introspection", b"\7" + variant().encode())

# discovery: issuer byte (0 https://as.example, 1 with a slash, 2 AS, 3 http loopback) and a document
for o in objects:
    if "issuer" in o:
        add("discovery", b"\0" + json.dumps(o).encode())
meta = {"issuer": "https://as.example", "token_endpoint": "https://as.example/token",
        "authorization_endpoint": "https://as.example/authorize",
        "revocation_endpoint": "https://as.example/revoke",
        "device_authorization_endpoint": "https://as.example/device",
        "pushed_authorization_request_endpoint": "https://as.example/par",
        "jwks_uri": "https://as.example/jwks", "code_challenge_methods_supported": ["plain", "S256"],
        "authorization_response_iss_parameter_supported": True,
        "require_pushed_authorization_requests": False}
add("discovery", b"\0" + json.dumps(meta).encode())
for i in range(4):
    add("discovery", bytes([i]) + json.dumps(meta).encode())
for k, v in [("token_endpoint", "http://as.example/token"), ("token_endpoint", "http://127.0.0.1:9/t"),
             ("token_endpoint", "https://as.example/t#frag"), ("pushed_authorization_request_endpoint", "http://as.example/par"),
             ("revocation_endpoint", "ftp://as.example/r"), ("token_endpoint", 7),
             ("code_challenge_methods_supported", "S256"), ("issuer", "https://as.example/")]:
    d = dict(meta); d[k] = v
    add("discovery", b"\0" + json.dumps(d).encode())
add("discovery", bytes([3]) + json.dumps(dict(meta, issuer="http://127.0.0.1:8080", token_endpoint="http://[::1]:8080/t")).encode())
add("discovery", b"\0" + b'{"issuer":"https://as.example"} trailing')

# serve_config: the README's config examples, each setting alone, and a few refusals
readme = (ROOT / "crates" / "auth-cli" / "README.md").read_text()
for block in re.findall(r"```json\n(.*?)```", readme, re.S):
    add("serve_config", block)
for k, v in [("issuer", "https://auth.example"), ("audience", "api"), ("upstream", "http://127.0.0.1:9000"),
             ("upstream_token", True), ("upstream_timeout_secs", 30), ("max_connections", 10000),
             ("header_timeout_secs", 10), ("dpop_nonce_secs", 300), ("admin_scope", "admin"),
             ("token_ttl_secs", 300), ("rate_limit", {"requests": 3, "period_secs": 60, "burst": 5}),
             ("failure_rate_limit", {"requests": 5, "period_secs": 1}),
             ("trusted_proxies", ["10.0.0.0/8", "::1", "2001:db8::/32"]), ("forwarded_header", "forwarded"),
             ("ipv6_prefix", 56), ("token_ttl_secs", 0), ("token_ttl_secs", 1e2), ("admin_scope", "two words"),
             ("trusted_proxies", ["10.0.0.0/33"]), ("routes", []),
             ("routes", [{"prefix": "/", "credentials": [{"jwt": {"issuer_url": "https://a", "audience": "x",
                                                                   "algorithms": ["ES256"], "leeway": 5}}]}]),
             ("routes", [{"prefix": "/a", "public": True}, {"prefix": "/a/b", "methods": ["GET", "POST"],
                                                             "scopes": ["read"], "max_body_bytes": 0}])]:
    add("serve_config", json.dumps({k: v}))
add("serve_config", '{"token_ttl_secs": 60, "token_ttl_secs": 86400}')
add("serve_config", '{"routes": [{"prefix": "/a", "credentials": ["token"], "credentials": ["api_key"]}]}')
add("serve_config", '{"colour": "red"}')
add("serve_config", '[]')

for target, items in sorted(seeds.items()):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    for data in items:
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{target}: {len(items)} seeds")
