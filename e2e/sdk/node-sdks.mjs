// Sends the same user journey through a real server-side SDK to pqlbot.
// Usage: PQLBOT_URL=http://127.0.0.1:PORT WRITE_KEY=... node node-sdks.mjs rudder|segment PREFIX
// Exits non-zero if the SDK reports any delivery error.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const [sdk, prefix] = process.argv.slice(2)
const url = process.env.PQLBOT_URL
const writeKey = process.env.WRITE_KEY
if (!sdk || !prefix || !url || !writeKey) {
  console.error('usage: PQLBOT_URL=... WRITE_KEY=... node node-sdks.mjs rudder|segment PREFIX')
  process.exit(2)
}

const ids = {
  anon: `${prefix}-anon`,
  user: `${prefix}-user`,
  old: `${prefix}-old`,
  account: `${prefix}-acct`,
}
let failures = 0

// journey is what a product sends for one new user: anonymous pricing
// visit, signup (identify carries both ids), the account, activity, and an
// alias from an id the user had before.
async function journey(client, flush) {
  const call = (fn, msg) => client[fn](msg)
  call('page', { anonymousId: ids.anon, name: 'Pricing', properties: { path: '/pricing' } })
  call('identify', { userId: ids.user, anonymousId: ids.anon, traits: { email: `${prefix}@acme.test`, name: 'Ada' } })
  call('group', { userId: ids.user, groupId: ids.account, traits: { name: `${prefix} Inc`, domain: `${prefix}.test`, employees: 120, plan: 'trial' } })
  for (let i = 0; i < 3; i++) {
    call('track', { userId: ids.user, event: 'Workflow Completed', properties: { records: 5 } })
  }
  call('page', { userId: ids.user, name: 'Pricing' })
  call('screen', { userId: ids.user, name: 'Dashboard' })
  // An id the user had before (another device): its event waits for the
  // alias that merges it.
  call('track', { userId: ids.old, event: 'Teammate Invited' })
  await flush()
  call('alias', { previousId: ids.old, userId: ids.user })
  await flush()
}

if (sdk === 'rudder') {
  const Analytics = require('@rudderstack/rudder-sdk-node')
  // Default options (gzip on), as a team would run it; small flushAt so
  // the journey spans several gzip batches.
  const client = new Analytics(writeKey, {
    dataPlaneUrl: url,
    flushAt: 4,
    flushInterval: 200,
    errorHandler: (err) => { failures++; console.error('rudder error:', err.message) },
  })
  await journey(client, () => client.flush())
} else if (sdk === 'segment') {
  const { Analytics } = require('@segment/analytics-node')
  const client = new Analytics({ writeKey, host: url, flushAt: 4, flushInterval: 200 })
  client.on('error', (err) => { failures++; console.error('segment error:', err.code, err.reason?.message ?? err) })
  client.on('http_request', (req) => {
    if (process.env.DEBUG) console.error('segment http', req.method, req.url)
  })
  await journey(client, async () => { await new Promise((r) => setTimeout(r, 400)) })
  await client.closeAndFlush({ timeout: 15000 })
} else {
  console.error(`unknown sdk ${sdk}`)
  process.exit(2)
}
if (failures > 0) {
  console.error(`${sdk}: ${failures} delivery error(s)`)
  process.exit(1)
}
console.log(`${sdk}: journey delivered`)
