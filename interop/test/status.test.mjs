// @sd-jwt/jwt-status-list (an independent Token Status List implementation) reads the status list
// token a running `segl serve` publishes for the credentials it issued, and sees the same statuses
// the admin API set: valid, then suspended and revoked. The token's signature is checked with the
// `x5c` leaf chained to the tenant CA (the library itself decodes without verifying).
import assert from 'node:assert/strict'
import { X509Certificate, webcrypto } from 'node:crypto'
import { after, test } from 'node:test'
import { getListFromStatusListJWT, getStatusListFromJWT } from '@sd-jwt/jwt-status-list'
import { startSegl } from '../lib/segl.mjs'
import { obtainCredentials } from '../lib/flow.mjs'
import { checkChain, verifySdJwtVc } from '../lib/verify.mjs'

const PID = {
  family_name: 'Nielsen',
  given_name: 'Freja',
  birth_date: '1990-04-12',
  birth_place: { locality: 'Aarhus', country: 'DK' },
  nationality: ['DK'],
  issuing_authority: 'Segl test',
  issuing_country: 'DK',
}

const segl = await startSegl()
after(() => segl.stop())

/** GETs the status list token at `uri` (JWT form), checks the HTTP answer and the signature. */
async function fetchStatusList(uri) {
  const response = await fetch(uri, { headers: { accept: 'application/statuslist+jwt' } })
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-type'), 'application/statuslist+jwt')
  assert.match(response.headers.get('cache-control'), /max-age=\d+/)
  assert.ok(response.headers.get('etag'))
  const jwt = await response.text()
  const [headerPart, payloadPart, signaturePart] = jwt.split('.')
  const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'))
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'))
  assert.equal(header.typ, 'statuslist+jwt')
  assert.equal(header.alg, 'ES256')
  const leaf = checkChain(header.x5c.map((c) => Buffer.from(c, 'base64')), new X509Certificate(segl.caPem))
  const key = await webcrypto.subtle.importKey(
    'jwk',
    leaf.publicKey.export({ format: 'jwk' }),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  )
  const signed = await webcrypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    Buffer.from(signaturePart, 'base64url'),
    Buffer.from(`${headerPart}.${payloadPart}`),
  )
  assert.ok(signed, 'the status list token signature verifies with the x5c leaf')
  assert.equal(payload.sub, uri)
  assert.ok(payload.ttl > 0 && payload.exp > payload.iat)
  return getListFromStatusListJWT(jwt)
}

test('@sd-jwt/jwt-status-list reads the statuses the admin API set', async () => {
  const created = await segl.createOffer({
    credential_configuration_ids: ['eu.europa.ec.eudi.pid_vc_sd_jwt'],
    claims: PID,
    subject: 'interop-person',
  })
  const result = await obtainCredentials({ offerUri: created.offer_uri, batch: 3 })
  const credentials = result.credentialResponse.credentials.map((c) => c.credential)
  assert.equal(credentials.length, 3)
  for (const credential of credentials) await verifySdJwtVc(credential, segl.caPem)

  // The library's reader of a referenced token's `status.status_list`.
  const references = credentials.map((credential) => getStatusListFromJWT(credential.split('~')[0]))
  const uri = `${segl.issuerId}/status-lists/1`
  for (const reference of references) assert.equal(reference.uri, uri)
  assert.equal(new Set(references.map((r) => r.idx)).size, 3, 'each credential has its own index')

  let list = await fetchStatusList(uri)
  assert.equal(list.getBitsPerStatus(), 2)
  for (const reference of references) assert.equal(list.getStatus(reference.idx), 0)

  // The authority's view: credential ids by index.
  const listing = await segl.admin('GET', `/admin/v1/offers/${created.offer_id}/credentials`)
  assert.equal(listing.status, 200)
  const idOf = (idx) => listing.body.credentials.find((c) => c.status_list.idx === idx).credential_id
  const [revoked, suspended, untouched] = references.map((r) => idOf(r.idx))
  assert.ok(untouched)
  let change = await segl.admin('POST', `/admin/v1/credentials/${revoked}/status`, {
    status: 'invalid',
    reason: 'interop test',
  })
  assert.equal(change.status, 200)
  change = await segl.admin('POST', `/admin/v1/credentials/${suspended}/status`, {
    status: 'suspended',
    reason: 'interop test',
  })
  assert.equal(change.status, 200)

  list = await fetchStatusList(uri)
  assert.deepEqual(
    references.map((r) => list.getStatus(r.idx)),
    [1, 2, 0],
    'INVALID, SUSPENDED, VALID as set',
  )
  const after = await segl.admin('GET', `/admin/v1/offers/${created.offer_id}/credentials`)
  const byIdx = Object.fromEntries(after.body.credentials.map((c) => [c.status_list.idx, c.status]))
  const names = ['valid', 'invalid', 'suspended']
  for (const reference of references) assert.equal(names[list.getStatus(reference.idx)], byIdx[reference.idx])

  // Revocation is final: refused, and the published list does not change.
  change = await segl.admin('POST', `/admin/v1/credentials/${revoked}/status`, { status: 'valid', reason: 'undo' })
  assert.equal(change.status, 400)
  assert.equal(change.body.error, 'invalid_request')
  list = await fetchStatusList(uri)
  assert.equal(list.getStatus(references[0].idx), 1)
})
