"""The Python tutorial's client code (requests, requests-oauthlib, PyJWT), run against
`auth serve` by tests/it/python.rs. Exits non-zero on the first failed expectation."""

import json
import os
import time

import jwt
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

base = os.environ["AUTH_URL"]
api_key = os.environ["AUTH_API_KEY"]
client_id = os.environ["AUTH_CLIENT_ID"]
client_secret = api_key  # `auth serve`: the client secret is the API key itself

# 1. API keys, as the tutorial does.
headers = {"Authorization": f"Bearer {api_key}"}
response = requests.get(f"{base}/api/whoami", headers=headers)
assert response.status_code == 200, response.text
assert response.json() == {"subject": "alice", "scopes": ["read"], "kind": "api_key"}, response.text
assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers

anonymous = requests.get(f"{base}/api/whoami")
assert anonymous.status_code == 401
assert anonymous.headers["WWW-Authenticate"].startswith("Bearer realm=")

# 2. OAuth 2.0 client credentials, through the published metadata.
meta = requests.get(f"{base}/.well-known/oauth-authorization-server").json()
oauth = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
token = oauth.fetch_token(
    token_url=meta["token_endpoint"], client_id=client_id, client_secret=client_secret
)
assert token["token_type"] == "Bearer", token
whoami = oauth.get(f"{base}/api/whoami")
assert whoami.status_code == 200, whoami.text
assert whoami.json()["kind"] == "jwt", whoami.text

# 3. JWTs: PyJWT checks the access token against the published JWKS.
signing_key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token["access_token"])
claims = jwt.decode(
    token["access_token"],
    signing_key.key,
    algorithms=["ES256"],
    audience=meta["issuer"],
    issuer=meta["issuer"],
)
assert claims["sub"] == "alice" and claims["client_id"] == client_id, claims
assert jwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"

# 4. Rate limiting: a 429 with Retry-After, honoured.
waited = None
for _ in range(20):
    r = requests.get(f"{base}/api/whoami", headers=headers)
    if r.status_code == 429:
        waited = int(r.headers["Retry-After"])
        assert 0 < waited <= 5, r.headers
        time.sleep(waited)
        after = requests.get(f"{base}/api/whoami", headers=headers)
        assert after.status_code == 200, after.status_code
        break
    assert r.status_code == 200, r.status_code
assert waited is not None, "never rate limited"

print(json.dumps({"ok": True, "retry_after": waited, "scope": token.get("scope")}))
