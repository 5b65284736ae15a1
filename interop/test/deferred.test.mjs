// Deferred issuance (OpenID4VCI 1.0 §9) with a real wallet library: an offer names a person of the
// tenant's authentic source whose data is not there yet; @openid4vc/openid4vci's credential request
// gets 202 with a transaction_id, its deferred request 202 again; the data is imported with
// `segl authentic-source import` (the CLI, on the running deployment's database); the library's
// deferred request then receives the credential, which an independent verifier accepts, and a
// second pickup is refused with invalid_transaction_id.
//
// The 200 pickup goes through the library's resourceRequest (its fetch and auth helper) rather than
// retrieveDeferredCredentials: 0.4.6's deferred response schema inverts a check and refuses any
// answer carrying both `credentials` and `notification_id`, which OpenID4VCI 1.0 §9.2 allows and Segl
// sends (its own error text: "'notification_id' MUST NOT be defined when 'credentials' is not defined").
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { resourceRequest } from '@openid4vc/oauth2'
import { Openid4vciRetrieveCredentialsError } from '@openid4vc/openid4vci'
import { seglBin, startSegl } from '../lib/segl.mjs'
import { explain, redeemOffer, requestCredentials, signProofs } from '../lib/flow.mjs'
import { verifySdJwtVc } from '../lib/verify.mjs'

const run = promisify(execFile)
const segl = await startSegl()
after(() => segl.stop())

const PID_SD_JWT = 'eu.europa.ec.eudi.pid_vc_sd_jwt'

/** `segl authentic-source import` on the running deployment (no SEGL_* variable from our shell). */
async function importCsv(csv) {
  const file = join(segl.dataDir, 'persons.csv')
  await writeFile(file, csv)
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SEGL_')))
  const { stdout } = await run(seglBin(), ['authentic-source', 'import', '--csv', file, '--data-dir', segl.dataDir], { env })
  return JSON.parse(stdout)
}

test('a wallet library gets 202, then the credential once the authentic source has the data', async () => {
  const created = await segl.createOffer({
    credential_configuration_ids: [PID_SD_JWT],
    authentic_source: { identifier: 'case-2026-0042' },
  })
  const session = await redeemOffer({ offerUri: created.offer_uri })
  assert.equal(
    session.issuerMetadata.credentialIssuer.deferred_credential_endpoint,
    `${segl.issuerId}/deferred_credential`,
  )
  try {
    const key = await session.wallet.newKey()
    const { c_nonce: nonce } = await session.client.requestNonce({ issuerMetadata: session.issuerMetadata })
    const pending = await requestCredentials(session, await signProofs(session, [key], nonce))
    assert.equal(typeof pending.transaction_id, 'string')
    assert.equal(pending.interval, 60)
    assert.equal(pending.credentials, undefined)

    const deferred = (options = {}) =>
      session.client.retrieveDeferredCredentials({
        issuerMetadata: session.issuerMetadata,
        accessToken: session.accessTokenResponse.access_token,
        transactionId: pending.transaction_id,
        ...options,
      })
    const still = await deferred()
    assert.equal(still.response.status, 202)
    assert.equal(still.deferredCredentialResponse.transaction_id, pending.transaction_id)

    // A bad row rejects the whole file; nothing is written, so the wallet still waits.
    await assert.rejects(
      importCsv('identifier,family_name,given_name,birth_date,birth_place.country,nationality\ncase-2026-0042,Nielsen,Freja,1990-02-30,DK,DK\n'),
      (error) => error.stderr.includes('line 2, column `birth_date`'),
    )
    assert.equal((await deferred()).response.status, 202)

    const imported = await importCsv(
      'identifier,protected,family_name,given_name,birth_date,birth_place.country,nationality,resident_city\n' +
        'case-2026-0042,false,Nielsen,Freja,1990-04-12,DK,DK,Aarhus C\n',
    )
    assert.deepEqual(imported, { imported: 1 })
    const issued = await resourceRequest({
      url: session.issuerMetadata.credentialIssuer.deferred_credential_endpoint,
      accessToken: session.accessTokenResponse.access_token,
      callbacks: session.client.options.callbacks,
      requestOptions: {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transaction_id: pending.transaction_id }),
      },
    })
    assert.equal(issued.response.status, 200)
    const body = await issued.response.json()
    const [credential] = body.credentials.map((c) => c.credential)
    assert.equal(typeof body.notification_id, 'string')
    const verified = await verifySdJwtVc(credential, segl.caPem)
    assert.equal(verified.payload.family_name, 'Nielsen')
    assert.equal(verified.payload.address.locality, 'Aarhus C')
    assert.deepEqual(verified.payload.cnf.jwk, key.publicJwk)

    await assert.rejects(deferred(), (error) => {
      assert.ok(error instanceof Openid4vciRetrieveCredentialsError)
      assert.equal(error.response.response.status, 400)
      assert.equal(error.response.deferredCredentialErrorResponseResult.data.error, 'invalid_transaction_id')
      return true
    })
  } catch (error) {
    throw explain(error, session.wallet)
  }
})
