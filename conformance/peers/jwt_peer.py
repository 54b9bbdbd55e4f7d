"""PyJWT interop peer for the auth-rs conformance harness.

Reads a JSON array of requests on stdin and writes a JSON array of answers on stdout:
  {"op": "sign", "alg": A, "claims": {...}}             -> {"token": T, "jwk": public JWK}
  {"op": "verify", "alg": A, "token": T, "jwk": {...},
   "iss": I, "aud": U}                                  -> {"claims": {...}} or {"error": E}
Keys are generated fresh for each signing request.
"""

import json
import secrets
import sys

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def sign(alg, claims):
    kid = "pyjwt-" + alg
    if alg.startswith("HS"):
        secret = secrets.token_bytes(32)
        jwk = json.loads(jwt.algorithms.HMACAlgorithm.to_jwk(secret))
        token = jwt.encode(claims, secret, algorithm=alg, headers={"kid": kid})
    else:
        if alg in ("RS256", "PS256"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            to_jwk = jwt.algorithms.RSAAlgorithm.to_jwk
        elif alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
            to_jwk = jwt.algorithms.ECAlgorithm.to_jwk
        elif alg == "EdDSA":
            key = ed25519.Ed25519PrivateKey.generate()
            to_jwk = jwt.algorithms.OKPAlgorithm.to_jwk
        else:
            raise ValueError("unsupported alg " + alg)
        jwk = json.loads(to_jwk(key.public_key()))
        token = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
    jwk["kid"] = kid
    return {"token": token, "jwk": jwk}


def verify(req):
    try:
        key = jwt.PyJWK(req["jwk"], algorithm=req["alg"]).key
        claims = jwt.decode(
            req["token"], key, algorithms=[req["alg"]], audience=req["aud"], issuer=req["iss"]
        )
        return {"claims": claims}
    except Exception as e:  # the harness reports the message
        return {"error": type(e).__name__ + ": " + str(e)}


def main():
    answers = []
    for req in json.load(sys.stdin):
        if req["op"] == "sign":
            answers.append(sign(req["alg"], req["claims"]))
        else:
            answers.append(verify(req))
    json.dump(answers, sys.stdout)


main()
