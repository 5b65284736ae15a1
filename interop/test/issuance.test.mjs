// A real wallet library (@openid4vc/openid4vci) gets every credential configuration of the default tenant from
// a running `segl serve` through the pre-authorized code flow, and independent verifier libraries
// (@sd-jwt/sd-jwt-vc, @animo-id/mdoc) accept what it issued, chained to the tenant's dev CA.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { Oauth2ClientErrorResponseError } from '@openid4vc/oauth2'
import { Openid4vciRetrieveCredentialsError, Openid4vciVersion } from '@openid4vc/openid4vci'
import { startSegl } from '../lib/segl.mjs'
import { createWallet } from '../lib/wallet.mjs'
import { explain, obtainCredentials, redeemOffer, requestCredentials, signProofs } from '../lib/flow.mjs'
import { verifyMdoc, verifySdJwtVc } from '../lib/verify.mjs'

// PID data by the rulebook's data identifiers, as the admin API takes them.
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

// The digital power of attorney (digital fuldmagt) the default tenant defines purely in configuration.
const FULDMAGT = {
  principal: { name: 'Jens Hansen' },
  representative: { name: 'Freja Nielsen' },
  scope: ['skat', 'bank'],
  valid_from: '2026-12-01',
  source: 'Digital Fuldmagt',
}

// Started at the top level, not in a before() hook: a server that does not come up then fails the
// file, which the runner counts as a failed test (a failed hook left `# fail 0`).
const segl = await startSegl()
after(() => segl.stop())

/** Creates an offer with a tx_code through the admin API and checks its shape. */
async function offer(configurationId, claims = PID) {
  const created = await segl.createOffer({ credential_configuration_ids: [configurationId], claims, tx_code: true })
  assert.match(created.offer_uri, /^openid-credential-offer:\/\/\?credential_offer_uri=/)
  assert.match(created.tx_code, /^\d{6}$/)
  return created
}

/** Runs the whole flow for one configuration and checks what the wallet library saw on the way. */
async function issue(configurationId, batch, claims = PID) {
  const created = await offer(configurationId, claims)
  const result = await obtainCredentials({ offerUri: created.offer_uri, txCode: created.tx_code, batch })
  assert.equal(result.credentialOffer.credential_issuer, segl.issuerId)
  assert.deepEqual(result.credentialOffer.credential_configuration_ids, [configurationId])
  const grant = result.credentialOffer.grants['urn:ietf:params:oauth:grant-type:pre-authorized_code']
  assert.equal(grant.tx_code.length, 6)
  assert.equal(result.issuerMetadata.credentialIssuer.credential_issuer, segl.issuerId)
  // The library reads the metadata as OpenID4VCI 1.0 (and so sends 1.0 credential requests:
  // credential_configuration_id and `proofs`), not as one of the drafts it also speaks.
  assert.equal(result.issuerMetadata.originalDraftVersion, Openid4vciVersion.V1)
  assert.equal(result.accessTokenResponse.token_type, 'Bearer')
  assert.ok(result.accessTokenResponse.access_token)
  assert.equal(result.credentialResponse.credentials.length, batch, 'one credential per proof')
  // Segl advertises a notification endpoint and hands out an id; the library's notification call
  // with it gets 204 (OpenID4VCI 1.0 §11.2).
  assert.ok(result.issuerMetadata.credentialIssuer.notification_endpoint)
  assert.equal(typeof result.credentialResponse.notification_id, 'string')
  const sent = await result.client.sendNotification({
    issuerMetadata: result.issuerMetadata,
    accessToken: result.accessTokenResponse.access_token,
    notification: { notificationId: result.credentialResponse.notification_id, event: 'credential_accepted' },
  })
  assert.equal(sent.response.status, 204)
  const configuration = result.issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
  return { ...result, configuration, credentials: result.credentialResponse.credentials.map((c) => c.credential) }
}

/** The issuer-signed JWT payload before any disclosure is applied. */
function signedPayload(compact) {
  return JSON.parse(Buffer.from(compact.split('~')[0].split('.')[1], 'base64url').toString('utf8'))
}

describe('SD-JWT VC through @openid4vc/openid4vci, verified with @sd-jwt/sd-jwt-vc', () => {
  test('eu.europa.ec.eudi.pid_vc_sd_jwt', async () => {
    const { credentials, keys, configuration } = await issue('eu.europa.ec.eudi.pid_vc_sd_jwt', 1)
    assert.equal(configuration.format, 'dc+sd-jwt')
    const { payload } = await verifySdJwtVc(credentials[0], segl.caPem)
    assert.equal(payload.vct, configuration.vct)
    assert.equal(payload.vct, 'urn:eudi:pid:1')
    assert.equal(payload.iss, segl.issuerId)
    assert.deepEqual(payload.cnf, { jwk: keys[0].publicJwk })
    assert.equal(payload.family_name, 'Nielsen')
    assert.equal(payload.given_name, 'Freja')
    assert.equal(payload.birthdate, '1990-04-12')
    assert.deepEqual(payload.place_of_birth, { locality: 'Aarhus', country: 'DK' })
    assert.deepEqual(payload.nationalities, ['DK'])
    assert.deepEqual(payload.address, { locality: 'Aarhus C', country: 'DK' })
    assert.equal(payload.issuing_country, 'DK')
    assert.ok(payload.exp > payload.iat)
    // The personal data arrives only through disclosures; the SD-JWT VC claims never do.
    const signed = signedPayload(credentials[0])
    for (const name of ['family_name', 'given_name', 'birthdate', 'place_of_birth', 'nationalities']) {
      assert.equal(signed[name], undefined, `${name} is in the clear`)
    }
    assert.ok(Array.isArray(signed._sd) && signed._sd.length > 0)
    for (const name of ['iss', 'vct', 'cnf', 'exp']) assert.deepEqual(signed[name], payload[name], name)
  })

  test('proof_of_age_vc_sd_jwt', async () => {
    const { credentials, keys, configuration } = await issue('proof_of_age_vc_sd_jwt', 1)
    assert.equal(configuration.format, 'dc+sd-jwt')
    const { payload } = await verifySdJwtVc(credentials[0], segl.caPem)
    assert.equal(payload.vct, configuration.vct)
    assert.deepEqual(payload.cnf, { jwk: keys[0].publicJwk })
    assert.equal(payload.age_equal_or_over?.['18'], true)
    for (const name of ['birthdate', 'family_name', 'given_name', 'place_of_birth']) {
      assert.equal(payload[name], undefined, `${name} must not be in an age proof`)
    }
  })

  test('the verifier is not a rubber stamp: forged disclosures and payloads do not pass', async () => {
    const { credentials } = await issue('eu.europa.ec.eudi.pid_vc_sd_jwt', 1)
    const [jwt, ...disclosures] = credentials[0].split('~')
    const index = disclosures.findIndex((d) => d && JSON.parse(Buffer.from(d, 'base64url').toString('utf8'))[1] === 'family_name')
    assert.ok(index >= 0, 'family_name is a disclosure')
    const disclosure = JSON.parse(Buffer.from(disclosures[index], 'base64url').toString('utf8'))
    disclosure[2] = 'Forged'
    disclosures[index] = Buffer.from(JSON.stringify(disclosure)).toString('base64url')
    // RFC 9901 §7.1 says to reject an SD-JWT with a disclosure no digest refers to;
    // @sd-jwt/sd-jwt-vc 0.19 instead drops that disclosure. Either way its value must not appear.
    const forged = await verifySdJwtVc([jwt, ...disclosures].join('~'), segl.caPem).then(
      ({ payload }) => payload,
      () => undefined,
    )
    assert.notEqual(forged?.family_name, 'Forged')

    const [header, payload, signature] = jwt.split('.')
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    claims.vct = 'urn:eudi:pid:forged'
    const tampered = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.')
    await assert.rejects(verifySdJwtVc([tampered, ...credentials[0].split('~').slice(1)].join('~'), segl.caPem), /Signature/i)
  })
})

describe('an attestation type defined purely in configuration (digital fuldmagt), both formats', () => {
  test('dk.fuldmagt_vc_sd_jwt', async () => {
    const { credentials, keys, configuration } = await issue('dk.fuldmagt_vc_sd_jwt', 1, FULDMAGT)
    assert.equal(configuration.format, 'dc+sd-jwt')
    assert.equal(configuration.vct, 'urn:dk:attestation:fuldmagt:1')
    const { payload } = await verifySdJwtVc(credentials[0], segl.caPem)
    assert.equal(payload.vct, configuration.vct)
    assert.deepEqual(payload.cnf, { jwk: keys[0].publicJwk })
    assert.deepEqual(payload.representative, { name: 'Freja Nielsen' })
    assert.deepEqual(payload.scope, ['skat', 'bank'])
    // `source` is configured as not selectively disclosable: it is in the signed payload itself.
    assert.equal(signedPayload(credentials[0]).source, 'Digital Fuldmagt')
    assert.equal(signedPayload(credentials[0]).principal, undefined)
  })

  test('dk.fuldmagt_mso_mdoc', async () => {
    const { credentials, keys, configuration } = await issue('dk.fuldmagt_mso_mdoc', 1, FULDMAGT)
    assert.equal(configuration.format, 'mso_mdoc')
    assert.equal(configuration.doctype, 'dk.fuldmagt.1')
    const mdoc = await verifyMdoc(credentials[0], segl.caPem, 'dk.fuldmagt.1')
    assert.deepEqual(mdoc.deviceKey, keys[0].publicJwk)
    const elements = mdoc.elements['dk.fuldmagt.1']
    assert.deepEqual(elements.scope, ['skat', 'bank'])
    assert.equal(String(elements.valid_from), '2026-12-01')
  })
})

describe('mdoc through @openid4vc/openid4vci, verified with @animo-id/mdoc', () => {
  test('eu.europa.ec.eudi.pid_mso_mdoc', async () => {
    const { credentials, keys, configuration } = await issue('eu.europa.ec.eudi.pid_mso_mdoc', 1)
    assert.equal(configuration.format, 'mso_mdoc')
    const docType = configuration.doctype
    assert.equal(docType, 'eu.europa.ec.eudi.pid.1')
    const mdoc = await verifyMdoc(credentials[0], segl.caPem, docType)
    assert.equal(mdoc.docType, docType)
    assert.equal(mdoc.msoDocType, docType)
    assert.equal(mdoc.mso.digestAlgorithm, 'SHA-256')
    assert.ok(mdoc.checks.some((c) => c.check === 'Issuer signature must be valid' && c.status === 'PASSED'))
    assert.ok(mdoc.checks.some((c) => c.check === 'Issuer certificate must be valid' && c.status === 'PASSED'))
    assert.deepEqual(mdoc.deviceKey, keys[0].publicJwk)
    const elements = mdoc.elements[docType]
    assert.equal(elements.family_name, 'Nielsen')
    assert.equal(elements.given_name, 'Freja')
    assert.equal(String(elements.birth_date), '1990-04-12')
    assert.deepEqual(elements.nationality, ['DK'])
    assert.equal(elements.resident_city, 'Aarhus C')
    assert.equal(elements.issuing_country, 'DK')
    const digests = mdoc.mso.valueDigests.get(docType)
    assert.equal(digests.size, Object.keys(elements).length, 'one digest per element')

    // The verifier checks digests: one changed letter in an element value is caught.
    const bytes = Buffer.from(credentials[0], 'base64url')
    const at = bytes.indexOf('Nielsen')
    assert.ok(at > 0)
    bytes[at + 6] = 'm'.charCodeAt(0)
    await assert.rejects(verifyMdoc(bytes.toString('base64url'), segl.caPem, docType), /family_name attribute must match/)
  })

  test('proof_of_age: a batch of 3, one per holder key, only age_over_* elements', async () => {
    const { credentials, keys, configuration } = await issue('proof_of_age', 3)
    assert.equal(configuration.format, 'mso_mdoc')
    assert.equal(configuration.doctype, 'eu.europa.ec.av.1')
    const deviceKeys = []
    for (const credential of credentials) {
      const mdoc = await verifyMdoc(credential, segl.caPem, 'eu.europa.ec.av.1')
      assert.equal(mdoc.docType, 'eu.europa.ec.av.1')
      assert.deepEqual(Object.keys(mdoc.elements), ['eu.europa.ec.av.1'])
      const elements = mdoc.elements['eu.europa.ec.av.1']
      assert.equal(elements.age_over_18, true)
      for (const [name, value] of Object.entries(elements)) {
        assert.match(name, /^age_over_\d\d$/)
        assert.equal(typeof value, 'boolean', name)
      }
      deviceKeys.push(mdoc.deviceKey)
    }
    assert.deepEqual(deviceKeys, keys.map((key) => key.publicJwk), 'credential i is bound to proof i')
  })
})

describe('key proof errors the wallet library can act on', () => {
  /** Runs the request and returns the issuer's error body, failing if it succeeds. */
  async function credentialError(session, proofs) {
    try {
      await requestCredentials(session, proofs)
    } catch (error) {
      if (!(error instanceof Openid4vciRetrieveCredentialsError)) throw explain(error, session.wallet)
      assert.equal(error.response.response.status, 400)
      return error.response.credentialErrorResponseResult?.data
    }
    assert.fail('the issuer accepted the request')
  }

  test('a proof with the wrong aud gets invalid_proof', async () => {
    const created = await offer('eu.europa.ec.eudi.pid_vc_sd_jwt')
    const session = await redeemOffer({ offerUri: created.offer_uri, txCode: created.tx_code })
    const key = await session.wallet.newKey()
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    // The library takes the audience from the metadata's credential_issuer.
    const elsewhere = {
      ...session.issuerMetadata,
      credentialIssuer: { ...session.issuerMetadata.credentialIssuer, credential_issuer: 'https://elsewhere.example/default' },
    }
    const [proof] = await signProofs(session, [key], nonce, elsewhere)
    const body = await credentialError(session, [proof])
    assert.equal(body?.error, 'invalid_proof', JSON.stringify(body))
  })

  test('a reused c_nonce gets invalid_nonce, and a fresh one then succeeds', async () => {
    const first = await issue('eu.europa.ec.eudi.pid_vc_sd_jwt', 1)
    const created = await offer('eu.europa.ec.eudi.pid_vc_sd_jwt')
    const session = await redeemOffer({ offerUri: created.offer_uri, txCode: created.tx_code })
    const key = await session.wallet.newKey()
    const body = await credentialError(session, await signProofs(session, [key], first.nonce))
    assert.equal(body?.error, 'invalid_nonce', JSON.stringify(body))
    // OpenID4VCI 1.0 §8.3.1.2: on invalid_nonce the wallet fetches a new c_nonce and retries.
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    const response = await requestCredentials(session, await signProofs(session, [key], nonce))
    assert.equal(response.credentials.length, 1)
  })
})

describe('token errors the wallet library can act on', () => {
  test('a wrong tx_code gets invalid_grant; the right one then works, once', async () => {
    const created = await offer('proof_of_age')
    const { client } = createWallet()
    const credentialOffer = await client.resolveCredentialOffer(created.offer_uri)
    const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
    /** The token endpoint's error body for `txCode`, failing if it issues a token. */
    const tokenError = async (txCode) => {
      try {
        await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer, issuerMetadata, txCode })
      } catch (error) {
        if (!(error instanceof Oauth2ClientErrorResponseError)) throw error
        return error.errorResponse
      }
      assert.fail('the token endpoint issued a token')
    }
    const wrong = created.tx_code === '000000' ? '111111' : '000000'
    // OpenID4VCI 1.0 §6.3: invalid_grant when the Transaction Code is wrong.
    assert.equal((await tokenError(wrong))?.error, 'invalid_grant')
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode: created.tx_code,
    })
    assert.ok(accessTokenResponse.access_token)
    // The pre-authorized code is single use.
    assert.equal((await tokenError(created.tx_code))?.error, 'invalid_grant')
  })
})
