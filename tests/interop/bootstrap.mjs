// First-run setup of a fresh server: admin sign-up, login, API key. Prints the key's secret on stdout.
// Usage: node bootstrap.mjs http://IP:PORT
const base = process.argv[2]
const admin = { email: 'admin@interop.test', password: 'interop-Secret-1', name: 'Interop Admin' }

async function call(method, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: res.status, json, text }
}

function die(step, r) {
  console.error(`bootstrap: ${step} → ${r.status} ${r.text.slice(0, 500)}`)
  process.exit(1)
}

let r = await call('POST', '/api/auth/admin-sign-up', admin)
if (r.status !== 201) die('POST /api/auth/admin-sign-up (want 201)', r)
r = await call('POST', '/api/auth/login', { email: admin.email, password: admin.password })
if (r.status !== 201 || !r.json?.accessToken) die('POST /api/auth/login (want 201 + accessToken)', r)
const token = r.json.accessToken
r = await call('POST', '/api/api-keys', { name: 'cli', permissions: ['all'] }, { authorization: `Bearer ${token}` })
if (r.status !== 201 || !r.json?.secret) die('POST /api/api-keys (want 201 + secret)', r)
console.log(r.json.secret)
