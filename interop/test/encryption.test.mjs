// Encrypted credential requests and responses (OpenID4VCI 1.0 §8.2, §8.3, §10) and signed issuer
// metadata (§12.2.3) against a running `segl serve`, with the wallet side done by the `jose`
// library: it encrypts the credential request to the key Segl publishes in
// `credential_request_encryption.jwks`, decrypts Segl's encrypted credential response, and
// verifies the signed metadata with the `x5c` leaf (chained to the tenant's CA by node's X509).
// @openid4vc/openid4vci 0.4.6 has no JWE support (no request or response encryption), so it is
// not used here.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { CompactEncrypt, SignJWT, compactDecrypt, exportJWK, generateKeyPair, importJWK, importX509, jwtVerify } from 'jose'
import { startSegl } from '../lib/segl.mjs'
import { checkChain, verifySdJwtVc } from '../lib/verify.mjs'

const PID_SD_JWT = 'eu.europa.ec.eudi.pid_vc_sd_jwt'
const PID = {
  family_name: 'Nielsen',
  given_name: 'Freja',
  birth_date: '1990-04-12',
  birth_place: { locality: 'Aarhus', country: 'DK' },
  nationality: ['DK'],
}

const segl = await startSegl({
  configToml: `
[[tenants]]
id = "default"
name = { en = "Segl encryption interop" }
issuing_country = "DK"
issuing_authority = "Segl interop"
[tenants.pid_vc_sd_jwt]
[tenants.encryption]
request = "required"
response = "required"
enc = ["A128GCM", "A256GCM"]
`,
})
after(() => segl.stop())

const metadataUrl = `${segl.baseUrl}/.well-known/openid-credential-issuer/default`

/** The metadata as JSON. */
async function metadata() {
  const response = await fetch(metadataUrl, { headers: { accept: 'application/json' } })
  assert.equal(response.status, 200)
  return response.json()
}

/** Offer → token → nonce → one jose-signed key proof; returns what the credential request needs. */
async function prepare() {
  const created = await segl.createOffer({ credential_configuration_ids: [PID_SD_JWT], claims: PID })
  const grant = created.credential_offer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']
  const tokenResponse = await fetch(`${segl.issuerId}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:pre-authorized_code',
      'pre-authorized_code': grant['pre-authorized_code'],
    }),
  })
  assert.equal(tokenResponse.status, 200)
  const { access_token: accessToken } = await tokenResponse.json()
  const { c_nonce: nonce } = await (await fetch(`${segl.issuerId}/nonce`, { method: 'POST' })).json()
  const holder = await generateKeyPair('ES256', { extractable: true })
  const proof = await new SignJWT({ aud: segl.issuerId, nonce })
    .setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(holder.publicKey) })
    .setIssuedAt()
    .sign(holder.privateKey)
  return { accessToken, proof }
}

/** POSTs `body` to the credential endpoint as `contentType`. */
function postCredential(accessToken, contentType, body) {
  return fetch(`${segl.issuerId}/credential`, {
    method: 'POST',
    headers: { 'content-type': contentType, authorization: `Bearer ${accessToken}` },
    body,
  })
}

describe('encrypted credential request and response (jose as the wallet)', () => {
  for (const enc of ['A128GCM', 'A256GCM']) {
    test(`round trip with ${enc}`, async () => {
      const issuerMetadata = await metadata()
      const requestEncryption = issuerMetadata.credential_request_encryption
      assert.equal(requestEncryption.encryption_required, true)
      assert.deepEqual(requestEncryption.enc_values_supported, ['A128GCM', 'A256GCM'])
      assert.deepEqual(issuerMetadata.credential_response_encryption.alg_values_supported, ['ECDH-ES'])
      const issuerJwk = requestEncryption.jwks.keys[0]
      assert.equal(issuerJwk.alg, 'ECDH-ES')

      const { accessToken, proof } = await prepare()
      const wallet = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
      const walletJwk = { ...(await exportJWK(wallet.publicKey)), alg: 'ECDH-ES', use: 'enc', kid: 'wallet-enc-1' }
      const request = {
        credential_configuration_id: PID_SD_JWT,
        proofs: { jwt: [proof] },
        credential_response_encryption: { jwk: walletJwk, enc },
      }
      // §10: the JWE alg equals the JWK's alg, and its kid goes into the header.
      const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(request)))
        .setProtectedHeader({ alg: issuerJwk.alg, enc, kid: issuerJwk.kid })
        .encrypt(await importJWK(issuerJwk, 'ECDH-ES'))
      const response = await postCredential(accessToken, 'application/jwt', jwe)
      const text = await response.text()
      assert.equal(response.status, 200, text)
      assert.equal(response.headers.get('content-type'), 'application/jwt')
      const { plaintext, protectedHeader } = await compactDecrypt(text, wallet.privateKey)
      assert.deepEqual([protectedHeader.alg, protectedHeader.enc, protectedHeader.kid], ['ECDH-ES', enc, 'wallet-enc-1'])
      const body = JSON.parse(new TextDecoder().decode(plaintext))
      assert.equal(body.credentials.length, 1)
      assert.equal(typeof body.notification_id, 'string')
      const { payload } = await verifySdJwtVc(body.credentials[0].credential, segl.caPem)
      assert.equal(payload.family_name, 'Nielsen')
    })
  }

  test('a plaintext request is refused when encryption is required, and spends no nonce', async () => {
    const { accessToken, proof } = await prepare()
    const plain = { credential_configuration_id: PID_SD_JWT, proofs: { jwt: [proof] } }
    const refused = await postCredential(accessToken, 'application/json', JSON.stringify(plain))
    assert.equal(refused.status, 400)
    const error = await refused.json()
    assert.equal(error.error, 'invalid_encryption_parameters')
    assert.match(error.error_description, /requires encrypted credential requests/)

    const issuerJwk = (await metadata()).credential_request_encryption.jwks.keys[0]
    const wallet = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
    const walletJwk = { ...(await exportJWK(wallet.publicKey)), alg: 'ECDH-ES' }
    const request = { ...plain, credential_response_encryption: { jwk: walletJwk, enc: 'A256GCM' } }
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(request)))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: issuerJwk.kid })
      .encrypt(await importJWK(issuerJwk, 'ECDH-ES'))
    const accepted = await postCredential(accessToken, 'application/jwt', jwe)
    assert.equal(accepted.status, 200, await accepted.clone().text())
    // Without a kid in the wallet's JWK, the response header carries none.
    const { protectedHeader } = await compactDecrypt(await accepted.text(), wallet.privateKey)
    assert.equal(protectedHeader.kid, undefined)
  })
})

describe('signed issuer metadata', () => {
  test('verifies with jose against the x5c leaf, which chains to the tenant CA', async () => {
    const response = await fetch(metadataUrl, { headers: { accept: 'application/jwt' } })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'application/jwt')
    const jwt = await response.text()
    const header = JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'))
    const leaf = checkChain(header.x5c.map((cert) => Buffer.from(cert, 'base64')), new X509Certificate(segl.caPem))
    const { payload, protectedHeader } = await jwtVerify(jwt, await importX509(leaf.toString(), 'ES256'), {
      typ: 'openidvci-issuer-metadata+jwt',
      subject: segl.issuerId,
      issuer: segl.issuerId,
      algorithms: ['ES256'],
    })
    assert.equal(protectedHeader.alg, 'ES256')
    assert.equal(typeof payload.iat, 'number')
    const { sub, iss, iat, ...members } = payload
    assert.deepEqual(members, await metadata(), 'every metadata parameter is a top-level claim')
  })
})
