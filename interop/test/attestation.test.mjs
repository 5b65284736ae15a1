// Wallet and key attestation with @openid4vc/oauth2 and @openid4vc/openid4vci against `segl serve`:
// the test is the wallet provider (its P-256 key is configured as trusted in the segl config it
// writes), the library builds the wallet attestation and its PoP for the token request
// (`attest_jwt_client_auth`), a key attestation in a `jwt` proof's header and an `attestation`
// proof, and Segl issues one credential per attested key.
import assert from 'node:assert/strict'
import { webcrypto, randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  HashAlgorithm,
  clientAuthenticationAnonymous,
  clientAuthenticationClientAttestationJwt,
  createClientAttestationJwt,
} from '@openid4vc/oauth2'
import { Openid4vciClient, createKeyAttestationJwt } from '@openid4vc/openid4vci'
import { freePort, spawnSegl } from '../lib/segl.mjs'
import { holderKey, signEs256 } from '../lib/wallet.mjs'

const { subtle } = webcrypto
const CLIENT_ID = 'https://wallet.example/segl-interop-wallet'
const hashNames = { [HashAlgorithm.Sha256]: 'SHA-256', [HashAlgorithm.Sha384]: 'SHA-384' }

// Every key this test holds, by public x: the wallet provider's, the client instance key, holder keys.
const keys = new Map()
async function newKey() {
  const key = await holderKey()
  keys.set(key.publicJwk.x, key)
  return key
}
const provider = await newKey()
const instance = await newKey()

/** Library callbacks that sign with any key of `keys`. */
const callbacks = {
  hash: async (data, alg) => new Uint8Array(await subtle.digest(hashNames[alg], data)),
  generateRandom: (length) => webcrypto.getRandomValues(new Uint8Array(length)),
  fetch: (input, init) => fetch(input, init),
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk' || signer.alg !== 'ES256') throw new Error(`cannot sign for ${signer.method}/${signer.alg}`)
    const key = keys.get(signer.publicJwk.x)
    if (!key) throw new Error('signJwt asked for a key this test does not hold')
    return { jwt: await signEs256(key.privateKey, header, payload), signerJwk: key.publicJwk }
  },
}

// A segl config: the default tenant offers proof_of_age, requires wallet attestation at the token
// endpoint and key attestations (storage at least moderate) for proof_of_age, and trusts the
// provider's key.
const { x, y } = provider.publicJwk
const config = `
[[tenants]]
id = "default"
name = { en = "Segl attestation interop" }
client_attestation = "required"

[tenants.proof_of_age]
batch_size = 5

[[tenants.wallet_providers]]
name = "interop test provider"
jwk = { kty = "EC", crv = "P-256", x = "${x}", y = "${y}" }

[tenants.key_attestations_required]
key_storage = "iso_18045_moderate"

[[tenants]]
id = "strict"
name = { en = "Segl attestation interop, challenges" }
client_attestation = "required"
client_attestation_challenge = true

[tenants.proof_of_age]

[[tenants.wallet_providers]]
jwk = { kty = "EC", crv = "P-256", x = "${x}", y = "${y}" }
`
const dataDir = await mkdtemp(join(tmpdir(), 'segl-attest-'))
await writeFile(join(dataDir, 'segl.toml'), config)
const port = await freePort()
const baseUrl = `http://127.0.0.1:${port}`
const issuerId = `${baseUrl}/default`
const adminToken = randomBytes(24).toString('base64url')
const segl = await spawnSegl({
  args: ['serve', '--config', join(dataDir, 'segl.toml'), '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--public-url', baseUrl],
  extraEnv: { SEGL_ADMIN_TOKEN: adminToken },
  healthUrl: `${baseUrl}/health`,
  dataDir,
})
after(() => segl.stop())

async function createOffer(tenant = 'default') {
  const response = await fetch(`${baseUrl}/admin/v1/tenants/${tenant}/offers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ credential_configuration_ids: ['proof_of_age'], claims: { birth_date: '1990-04-12' } }),
  })
  assert.equal(response.status, 201)
  return response.json()
}

/** The wallet attestation the provider issues for the client instance key. */
async function walletAttestation() {
  return createClientAttestationJwt({
    issuer: 'https://provider.example',
    clientId: CLIENT_ID,
    confirmation: { jwk: instance.publicJwk },
    expiresAt: new Date(Date.now() + 3600_000),
    callbacks,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: provider.publicJwk },
  })
}

/** A wallet whose token requests authenticate with `clientAuthentication`; redeems a fresh offer. */
async function redeem(clientAuthentication) {
  const client = new Openid4vciClient({ callbacks: { ...callbacks, clientAuthentication } })
  const offer = await createOffer()
  const credentialOffer = await client.resolveCredentialOffer(offer.offer_uri)
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata })
  return { client, issuerMetadata, accessToken: accessTokenResponse.access_token }
}

describe('wallet attestation (attest_jwt_client_auth)', () => {
  test('the library authenticates at the token endpoint with its wallet attestation and PoP', async () => {
    const session = await redeem(clientAuthenticationClientAttestationJwt({ clientAttestationJwt: await walletAttestation(), callbacks }))
    assert.ok(session.accessToken)
    const as = session.issuerMetadata.authorizationServers[0]
    assert.deepEqual(as.token_endpoint_auth_methods_supported, ['attest_jwt_client_auth'])
    assert.equal(as.challenge_endpoint, `${issuerId}/challenge`)
  })

  test('an anonymous token request is refused with invalid_client', async () => {
    await assert.rejects(redeem(clientAuthenticationAnonymous()), (error) => {
      assert.match(JSON.stringify(error.errorResponse ?? error.message), /invalid_client/)
      return true
    })
  })

  test('the challenge endpoint answers a fresh attestation_challenge', async () => {
    const response = await fetch(`${issuerId}/challenge`, { method: 'POST' })
    assert.equal(response.status, 200)
    const { attestation_challenge: challenge } = await response.json()
    assert.match(challenge, /^[A-Za-z0-9_-]{32,}$/)
  })

  test('a tenant requiring challenges refuses the PoP without one and accepts it with the offered one', async () => {
    const strict = `${baseUrl}/strict`
    const { credential_offer: offer } = await createOffer('strict')
    const code = offer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']['pre-authorized_code']
    const attestation = await walletAttestation()
    const tokenRequest = (pop) =>
      fetch(`${strict}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'OAuth-Client-Attestation': attestation,
          'OAuth-Client-Attestation-PoP': pop,
        },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:pre-authorized_code', 'pre-authorized_code': code }),
      })
    const pop = (claims) =>
      signEs256(instance.privateKey, { typ: 'oauth-client-attestation-pop+jwt', alg: 'ES256' }, {
        aud: strict,
        jti: randomBytes(16).toString('base64url'),
        iat: Math.floor(Date.now() / 1000),
        ...claims,
      })
    const refused = await tokenRequest(await pop({}))
    assert.equal(refused.status, 400)
    assert.equal((await refused.json()).error, 'use_attestation_challenge')
    const challenge = refused.headers.get('OAuth-Client-Attestation-Challenge')
    assert.ok(challenge, 'the refusal offers a challenge')
    const accepted = await tokenRequest(await pop({ challenge }))
    assert.equal(accepted.status, 200, await accepted.clone().text())
    assert.ok((await accepted.json()).access_token)
  })
})

describe('key attestation', () => {
  const authenticate = async () => clientAuthenticationClientAttestationJwt({ clientAttestationJwt: await walletAttestation(), callbacks })

  test('metadata advertises key_attestations_required and the attestation proof type', async () => {
    const { issuerMetadata } = await redeem(await authenticate())
    const proofTypes = issuerMetadata.credentialIssuer.credential_configurations_supported.proof_of_age.proof_types_supported
    assert.deepEqual(proofTypes.jwt.key_attestations_required, { key_storage: ['iso_18045_high', 'iso_18045_moderate'] })
    assert.deepEqual(proofTypes.attestation.key_attestations_required, { key_storage: ['iso_18045_high', 'iso_18045_moderate'] })
  })

  test('a jwt proof with a key_attestation header gets one credential per attested key', async () => {
    const session = await redeem(await authenticate())
    const [first, second] = [await newKey(), await newKey()]
    const keyAttestationJwt = await createKeyAttestationJwt({
      attestedKeys: [first.publicJwk, second.publicJwk],
      keyStorage: ['iso_18045_high'],
      userAuthentication: ['iso_18045_moderate'],
      expiresAt: new Date(Date.now() + 600_000),
      use: 'proof_type.jwt',
      signer: { method: 'jwk', alg: 'ES256', publicJwk: provider.publicJwk },
      callbacks,
    })
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    const { jwt } = await session.client.createCredentialRequestJwtProof({
      issuerMetadata: session.issuerMetadata,
      credentialConfigurationId: 'proof_of_age',
      nonce,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: first.publicJwk },
      keyAttestationJwt,
    })
    const { credentialResponse } = await session.client.retrieveCredentials({
      issuerMetadata: session.issuerMetadata,
      credentialConfigurationId: 'proof_of_age',
      accessToken: session.accessToken,
      proofs: { jwt: [jwt] },
    })
    assert.equal(credentialResponse.credentials.length, 2)
  })

  test('an attestation proof over the c_nonce gets one credential per attested key', async () => {
    const session = await redeem(await authenticate())
    const attested = await Promise.all([newKey(), newKey(), newKey()])
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    const keyAttestation = await createKeyAttestationJwt({
      attestedKeys: attested.map((key) => key.publicJwk),
      keyStorage: ['iso_18045_moderate'],
      nonce,
      use: 'proof_type.attestation',
      signer: { method: 'jwk', alg: 'ES256', publicJwk: provider.publicJwk },
      callbacks,
    })
    const { credentialResponse } = await session.client.retrieveCredentials({
      issuerMetadata: session.issuerMetadata,
      credentialConfigurationId: 'proof_of_age',
      accessToken: session.accessToken,
      proofs: { attestation: [keyAttestation] },
    })
    assert.equal(credentialResponse.credentials.length, 3)
  })

  test('a key attestation below the required level is refused with invalid_proof', async () => {
    const session = await redeem(await authenticate())
    const holder = await newKey()
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    const keyAttestation = await createKeyAttestationJwt({
      attestedKeys: [holder.publicJwk],
      keyStorage: ['iso_18045_basic'],
      nonce,
      use: 'proof_type.attestation',
      signer: { method: 'jwk', alg: 'ES256', publicJwk: provider.publicJwk },
      callbacks,
    })
    const response = await fetch(`${issuerId}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
      body: JSON.stringify({ credential_configuration_id: 'proof_of_age', proofs: { attestation: [keyAttestation] } }),
    })
    assert.equal(response.status, 400)
    const error = await response.json()
    assert.equal(error.error, 'invalid_proof')
    assert.match(error.error_description, /key_storage \["iso_18045_basic"\] is below/)
  })
})
