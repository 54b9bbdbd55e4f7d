// `jose` (npm) interop peer for the auth-rs conformance harness. Run as
// `node --input-type=module --eval <this file>` with the peers' node/ folder as the working
// directory, so that `jose` resolves from its node_modules.
//
// Reads a JSON array of requests on stdin and writes a JSON array of answers on stdout:
//   {"op": "sign", "alg": A, "claims": {...}}            -> {"token": T, "jwk": public JWK}
//   {"op": "verify", "alg": A, "token": T, "jwk": {...},
//    "iss": I, "aud": U}                                 -> {"claims": {...}} or {"error": E}
import * as jose from 'jose';

async function sign(alg, claims) {
  const kid = `jose-${alg}`;
  let privateKey;
  let jwk;
  if (alg.startsWith('HS')) {
    privateKey = await jose.generateSecret(alg, { extractable: true });
    jwk = await jose.exportJWK(privateKey);
  } else {
    const pair = await jose.generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    privateKey = pair.privateKey;
    jwk = await jose.exportJWK(pair.publicKey);
  }
  jwk.kid = kid;
  const token = await new jose.SignJWT(claims).setProtectedHeader({ alg, kid }).sign(privateKey);
  return { token, jwk };
}

async function verify(req) {
  try {
    const key = await jose.importJWK(req.jwk, req.alg);
    const { payload } = await jose.jwtVerify(req.token, key, {
      algorithms: [req.alg], issuer: req.iss, audience: req.aud,
    });
    return { claims: payload };
  } catch (e) {
    return { error: `${e.code ?? e.name}: ${e.message}` };
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const answers = [];
for (const req of JSON.parse(input)) {
  answers.push(req.op === 'sign' ? await sign(req.alg, req.claims) : await verify(req));
}
process.stdout.write(JSON.stringify(answers));
