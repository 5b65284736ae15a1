// Segl's OpenID4VP verifier (`segl verifier serve`) answered by public wallet libraries: credentials
// issued by a real `segl serve` are presented by @openid4vc/openid4vp's wallet side (signed request
// by reference, both response modes, SD-JWT VC and mdoc), and by presentations built directly with
// @sd-jwt/sd-jwt-vc and @animo-id/mdoc and posted as plain forms, including a few that must fail.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { startSegl } from '../lib/segl.mjs'
import { fetchRequestObject, postForm, startVerifier } from '../lib/verifier.mjs'
import {
  createPresentationWallet,
  issueCredential,
  openid4vpSessionTranscript,
  presentMdoc,
  presentSdJwtVc,
} from '../lib/openid4vp-wallet.mjs'

// PID data by the rulebook's data identifiers, as the issuer's admin API takes them.
const PID = {
  family_name: 'Nielsen',
  given_name: 'Freja',
  birth_date: '1990-04-12',
  birth_place: { locality: 'Aarhus', country: 'DK' },
  nationality: ['DK'],
  resident_city: 'Aarhus C',
  resident_country: 'DK',
  issuing_authority: 'Segl test',
  issuing_country: 'DK',
}
const PID_DOCTYPE = 'eu.europa.ec.eudi.pid.1'
const AGE_DOCTYPE = 'eu.europa.ec.av.1'

// Started at the top level, not in a before() hook: a server that does not come up then fails the
// file as a failed test.
const segl = await startSegl()
after(() => segl.stop())
const verifier = await startVerifier({ trustAnchors: [segl.caPath] })
after(() => verifier.stop())

const credentials = {
  pidSdJwt: await issueCredential(segl, 'eu.europa.ec.eudi.pid_vc_sd_jwt', PID),
  pidMdoc: await issueCredential(segl, 'eu.europa.ec.eudi.pid_mso_mdoc', PID),
  ageSdJwt: await issueCredential(segl, 'proof_of_age_vc_sd_jwt', PID),
  ageMdoc: await issueCredential(segl, 'proof_of_age', PID),
}

/** A wallet holding `held`, trusting the verifier's development access certificate. */
const walletWith = (held, options = {}) =>
  createPresentationWallet({ held, trustedCertificates: verifier.accessCertificates, ...options })

/** Answers a fresh transaction with `wallet`; returns the wallet's view and the final status. */
async function presentTo(wallet, transaction) {
  const created = await verifier.createTransaction(transaction)
  assert.match(created.authorization_request, /^openid4vp:\/\/\?/)
  const url = new URL(created.authorization_request)
  assert.equal(url.searchParams.get('client_id'), 'x509_san_dns:localhost')
  assert.equal(url.searchParams.get('request_uri'), created.request_uri)
  assert.equal((await verifier.status(created.status_url)).status, 'pending')
  let answered
  try {
    answered = await wallet.answer(created.authorization_request)
  } catch (error) {
    error.message += `\nHTTP exchanges:\n  ${wallet.log.join('\n  ')}\nverifier output:\n${verifier.output()}`
    throw error
  }
  const status = await verifier.status(created.status_url)
  return { created, answered, status }
}

/** Fails with the verifier's reasons unless the transaction verified. */
function assertVerified({ answered, status }) {
  assert.equal(answered.response.status, 200, `response endpoint: ${JSON.stringify(answered.response.body)}; status ${JSON.stringify(status)}`)
  assert.equal(status.status, 'verified', JSON.stringify(status))
}

/** The one disclosed claim object for `queryId` in a status body. */
function claimsOf(status, queryId) {
  const presented = status.claims?.[queryId]
  assert.ok(Array.isArray(presented) && presented.length === 1, `claims for ${queryId}: ${JSON.stringify(status.claims)}`)
  return presented[0]
}

describe('@openid4vc/openid4vp answers signed requests by reference', () => {
  for (const responseMode of ['direct_post', 'direct_post.jwt']) {
    test(`PID as SD-JWT VC, ${responseMode}`, async () => {
      const wallet = walletWith([credentials.pidSdJwt])
      const result = await presentTo(wallet, { preset: 'pid_core', response_mode: responseMode })
      const { resolved, request } = result.answered
      // What the library made of the request: a JAR by reference, signed with x5c, OpenID4VP 1.0.
      assert.equal(resolved.jar?.sendBy, 'reference')
      assert.equal(resolved.jar?.signer.method, 'x5c')
      assert.equal(resolved.client.prefix, 'x509_san_dns')
      assert.equal(resolved.client.identifier, 'localhost')
      assert.equal(resolved.version, 100, 'the library reads the request as OpenID4VP 1.0 final')
      assert.equal(request.response_mode, responseMode)
      assert.ok(request.nonce.length >= 22, 'a nonce of at least 128 bits')
      assert.deepEqual(Object.keys(result.answered.vpToken), ['pid_sd_jwt'])
      assertVerified(result)
      const claims = claimsOf(result.status, 'pid_sd_jwt')
      assert.equal(claims.family_name, 'Nielsen')
      assert.equal(claims.given_name, 'Freja')
      assert.equal(claims.birthdate, '1990-04-12')
      assert.deepEqual(claims.nationalities, ['DK'])
      assert.equal(claims.place_of_birth, undefined, 'only what was asked for is disclosed')
    })

    test(`PID as mdoc, ${responseMode}`, async () => {
      const wallet = walletWith([credentials.pidMdoc])
      const result = await presentTo(wallet, { preset: 'pid_core', response_mode: responseMode })
      assert.deepEqual(Object.keys(result.answered.vpToken), ['pid_mdoc'])
      if (responseMode === 'direct_post.jwt') assert.match(result.answered.jwe, /^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/)
      assertVerified(result)
      const claims = claimsOf(result.status, 'pid_mdoc')
      const elements = claims[PID_DOCTYPE] ?? claims
      assert.equal(elements.family_name, 'Nielsen')
      assert.equal(elements.given_name, 'Freja')
      assert.equal(String(elements.birth_date), '1990-04-12')
      assert.deepEqual(elements.nationality, ['DK'])
      assert.equal(elements.resident_city, undefined, 'only what was asked for is disclosed')
    })
  }

  test('age_over_18 in either format: the wallet answers with the first option it holds', async () => {
    for (const [held, queryId] of [
      [credentials.ageMdoc, 'age_mdoc'],
      [credentials.ageSdJwt, 'age_sd_jwt'],
    ]) {
      const result = await presentTo(walletWith([held]), { preset: 'age_over_18' })
      assert.deepEqual(Object.keys(result.answered.vpToken), [queryId])
      assertVerified(result)
      const claims = JSON.stringify(claimsOf(result.status, queryId))
      for (const personal of ['Nielsen', 'Freja', '1990']) assert.ok(!claims.includes(personal), claims)
    }
  })

  test('A256GCM when the wallet prefers it (direct_post.jwt)', async () => {
    const wallet = walletWith([credentials.ageMdoc], { encValues: ['A256GCM', 'A128GCM'] })
    const result = await presentTo(wallet, { preset: 'age_over_18', response_mode: 'direct_post.jwt' })
    const header = JSON.parse(Buffer.from(result.answered.jwe.split('.')[0], 'base64url').toString('utf8'))
    assert.equal(header.alg, 'ECDH-ES')
    assert.equal(header.enc, 'A256GCM')
    assertVerified(result)
  })

  test('request_uri_method=post: the library POSTs to request_uri and accepts the answer', async () => {
    const result = await presentTo(walletWith([credentials.pidSdJwt]), {
      preset: 'pid_core',
      response_mode: 'direct_post',
      request_uri_method: 'post',
    })
    assert.equal(new URL(result.created.authorization_request).searchParams.get('request_uri_method'), 'post')
    assert.ok(result.answered.resolved.jar, 'resolved through the JAR path')
    assertVerified(result)
  })

  test('rejects_untrusted_request_signer: the library refuses a request signed by a certificate it does not trust', async () => {
    const wallet = createPresentationWallet({ held: [credentials.pidSdJwt], trustedCertificates: [segl.caPem] })
    const created = await verifier.createTransaction({ preset: 'pid_core' })
    await assert.rejects(wallet.answer(created.authorization_request), (error) => {
      // The library wraps what the verifyJwt callback threw.
      assert.match(`${error.message} / ${error.cause?.message}`, /not trusted/)
      return true
    })
    assert.equal((await verifier.status(created.status_url)).status, 'pending')
  })
})

/** A transaction whose request object is fetched with a plain GET (no wallet library). */
async function rawTransaction(transaction) {
  const created = await verifier.createTransaction({ response_mode: 'direct_post', ...transaction })
  const object = await fetchRequestObject(created.request_uri)
  assert.equal(object.header.typ, 'oauth-authz-req+jwt')
  assert.equal(object.contentType?.split(';')[0], 'application/oauth-authz-req+jwt')
  const { client_id: clientId, nonce, response_uri: responseUri, state } = object.payload
  assert.equal(object.payload.response_mode, 'direct_post')
  return { created, clientId, nonce, responseUri, state }
}

/** An SD-JWT VC PID presentation for `tx`; `overrides` change the KB-JWT. */
const sdJwtPid = (tx, overrides = {}) =>
  presentSdJwtVc(credentials.pidSdJwt, {
    paths: [['family_name'], ['given_name'], ['birthdate'], ['nationalities']],
    audience: tx.clientId,
    nonce: tx.nonce,
    ...overrides,
  })

/** An mdoc PID DeviceResponse for `tx` (no encryption: null thumbprint); `overrides` change the transcript. */
async function mdocPid(tx, overrides = {}) {
  const sessionTranscriptBytes = await openid4vpSessionTranscript({
    clientId: tx.clientId,
    nonce: tx.nonce,
    jwkThumbprint: null,
    responseUri: tx.responseUri,
    ...overrides,
  })
  return presentMdoc(credentials.pidMdoc, {
    elements: ['family_name', 'given_name', 'birth_date', 'nationality'].map((name) => [PID_DOCTYPE, name]),
    sessionTranscriptBytes,
  })
}

/** The transaction's final status after a `rejected` answer, with the reason codes it gave. */
async function rejection(tx, answer) {
  assert.equal(answer.status, 400, JSON.stringify(answer.body))
  assert.equal(answer.body?.error, 'invalid_request')
  const status = await verifier.status(tx.created.status_url)
  assert.equal(status.status, 'rejected', JSON.stringify(status))
  return status.reasons.map((reason) => reason.code)
}

describe('presentations built with @sd-jwt/sd-jwt-vc and @animo-id/mdoc, posted as plain forms', () => {
  test('SD-JWT VC + KB-JWT', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    const answer = await postForm(tx.responseUri, { vp_token: { pid_sd_jwt: [await sdJwtPid(tx)] }, state: tx.state })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    const status = await verifier.status(tx.created.status_url)
    assert.equal(status.status, 'verified', JSON.stringify(status))
    assert.equal(claimsOf(status, 'pid_sd_jwt').family_name, 'Nielsen')
  })

  test('mdoc DeviceResponse over the OpenID4VP 1.0 handover', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    const answer = await postForm(tx.responseUri, { vp_token: { pid_mdoc: [await mdocPid(tx)] }, state: tx.state })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    const status = await verifier.status(tx.created.status_url)
    assert.equal(status.status, 'verified', JSON.stringify(status))
    const claims = claimsOf(status, 'pid_mdoc')
    assert.equal((claims[PID_DOCTYPE] ?? claims).family_name, 'Nielsen')
  })

  test('a DCQL query of its own: one mdoc element', async () => {
    const dcql = {
      credentials: [
        { id: 'age', format: 'mso_mdoc', meta: { doctype_value: AGE_DOCTYPE }, claims: [{ path: [AGE_DOCTYPE, 'age_over_18'] }] },
      ],
    }
    const tx = await rawTransaction({ dcql_query: dcql })
    // The query goes to the wallet as given (defaults such as `multiple` may be spelled out).
    const [sent] = (await fetchRequestObject(tx.created.request_uri)).payload.dcql_query.credentials
    assert.equal(sent.id, 'age')
    assert.equal(sent.format, 'mso_mdoc')
    assert.deepEqual(sent.meta, { doctype_value: AGE_DOCTYPE })
    assert.deepEqual(sent.claims.map((claim) => claim.path), [[AGE_DOCTYPE, 'age_over_18']])
    const sessionTranscriptBytes = await openid4vpSessionTranscript({ ...tx, jwkThumbprint: null })
    const presentation = await presentMdoc(credentials.ageMdoc, { elements: [[AGE_DOCTYPE, 'age_over_18']], sessionTranscriptBytes })
    const answer = await postForm(tx.responseUri, { vp_token: { age: [presentation] }, state: tx.state })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal((await verifier.status(tx.created.status_url)).status, 'verified')
  })

  test('request_uri_method=post: wallet_metadata and wallet_nonce in, wallet_nonce echoed in the signed object', async () => {
    // OpenID4VP 1.0 §5.10. @openid4vc/openid4vp 0.4.6 does not send these two parameters (it
    // form-encodes the wallet metadata's members at the top level and drops wallet_nonce), so
    // this is posted by hand.
    const created = await verifier.createTransaction({ preset: 'pid_core', request_uri_method: 'post' })
    const walletNonce = 'wallet-nonce-7f3c9a1e2b'
    const walletMetadata = {
      vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
      client_id_prefixes_supported: ['x509_san_dns'],
      request_object_signing_alg_values_supported: ['ES256'],
    }
    const response = await fetch(created.request_uri, {
      method: 'POST',
      headers: { accept: 'application/oauth-authz-req+jwt', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ wallet_metadata: JSON.stringify(walletMetadata), wallet_nonce: walletNonce }),
      redirect: 'manual',
    })
    const jwt = await response.text()
    assert.equal(response.status, 200, jwt)
    assert.equal(response.headers.get('content-type')?.split(';')[0], 'application/oauth-authz-req+jwt')
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'))
    assert.equal(payload.wallet_nonce, walletNonce)
    assert.equal(payload.client_id, 'x509_san_dns:localhost')
  })

  test('rejects_wrong_nonce (SD-JWT VC KB-JWT)', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    const presentation = await sdJwtPid(tx, { nonce: 'not-the-request-nonce-0123456789' })
    const codes = await rejection(tx, await postForm(tx.responseUri, { vp_token: { pid_sd_jwt: [presentation] }, state: tx.state }))
    assert.ok(codes.includes('nonce_mismatch'), codes.join(', '))
  })

  test('rejects_wrong_audience (SD-JWT VC KB-JWT)', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    const presentation = await sdJwtPid(tx, { audience: 'x509_san_dns:elsewhere.example' })
    const codes = await rejection(tx, await postForm(tx.responseUri, { vp_token: { pid_sd_jwt: [presentation] }, state: tx.state }))
    assert.ok(codes.includes('audience_mismatch'), codes.join(', '))
  })

  test('rejects_wrong_nonce (mdoc session transcript)', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    const presentation = await mdocPid(tx, { nonce: 'not-the-request-nonce-0123456789' })
    const codes = await rejection(tx, await postForm(tx.responseUri, { vp_token: { pid_mdoc: [presentation] }, state: tx.state }))
    assert.ok(codes.includes('wrong_session_transcript'), codes.join(', '))
  })

  test('rejects_replay: a second answer to a finished transaction, and the same presentation in another one', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    const vpToken = { pid_sd_jwt: [await sdJwtPid(tx)] }
    assert.equal((await postForm(tx.responseUri, { vp_token: vpToken, state: tx.state })).status, 200)
    // The same response again: refused, and the outcome stays as it was.
    const again = await postForm(tx.responseUri, { vp_token: vpToken, state: tx.state })
    assert.equal(again.status, 400, JSON.stringify(again.body))
    assert.equal(again.body?.error, 'invalid_request')
    assert.equal((await verifier.status(tx.created.status_url)).status, 'verified')
    // Posted to a fresh transaction: its nonce is not the one the KB-JWT signed.
    const other = await rawTransaction({ preset: 'pid_core' })
    const codes = await rejection(other, await postForm(other.responseUri, { vp_token: vpToken, state: other.state }))
    assert.ok(codes.includes('nonce_mismatch'), codes.join(', '))
  })

  test('rejects_wrong_state: the response must carry the request state', async () => {
    const tx = await rawTransaction({ preset: 'pid_core' })
    if (tx.state === undefined) return assert.fail('the request object has no state (OpenID4VP 1.0 §5.3 RECOMMENDED; Segl always sets one)')
    const answer = await postForm(tx.responseUri, { vp_token: { pid_sd_jwt: [await sdJwtPid(tx)] }, state: 'other-state' })
    const codes = await rejection(tx, answer)
    assert.ok(codes.includes('state_mismatch'), codes.join(', '))
  })

  test('rejects_clear_response_to_encrypted_request: direct_post.jwt was asked for, a clear vp_token is refused', async () => {
    const created = await verifier.createTransaction({ preset: 'pid_core', response_mode: 'direct_post.jwt' })
    const { payload } = await fetchRequestObject(created.request_uri)
    assert.equal(payload.response_mode, 'direct_post.jwt')
    assert.equal(payload.client_metadata?.jwks?.keys?.[0]?.kty, 'EC')
    const tx = { created, clientId: payload.client_id, nonce: payload.nonce, responseUri: payload.response_uri, state: payload.state }
    const answer = await postForm(tx.responseUri, { vp_token: { pid_sd_jwt: [await sdJwtPid(tx)] }, state: tx.state })
    const codes = await rejection(tx, answer)
    assert.ok(codes.includes('encryption_required'), codes.join(', '))
  })
})
