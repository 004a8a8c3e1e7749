// One tus-js-client 4.3.1 upload run, as an app would do it: look for a previous upload of the same
// file in a FileUrlStorage, resume it if found (HEAD, then PATCH from Upload-Offset), else create one.
// Usage: node tus-upload.mjs FILE ENDPOINT URL_STORAGE_JSON SHA1_HEX
// Env: SHOEBOX_KEY (sent as x-api-key), INTEROP_NODE_DIR (where npm ci put tus-js-client).
// Prints one JSON object per line on stdout: previous / head / patch-start / progress / patch / success / error.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const [, , file, endpoint, storagePath, sha1hex] = process.argv
const require = createRequire(path.join(process.env.INTEROP_NODE_DIR, 'package.json'))
const tus = require('tus-js-client')

const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const total = fs.statSync(file).size
let lastPct = -1
let assetId = null
let assetStatus = null

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: 8 * 1024 * 1024,
  retryDelays: [0, 500, 1000, 2000, 3000],
  headers: { 'x-api-key': process.env.SHOEBOX_KEY },
  metadata: { filename: path.basename(file), filetype: 'video/mp4', checksum: sha1hex },
  urlStorage: new tus.FileUrlStorage(storagePath),
  onBeforeRequest(req) {
    if (req.getMethod() === 'PATCH') emit({ ev: 'patch-start', offset: Number(req.getHeader('Upload-Offset')) })
  },
  onAfterResponse(req, res) {
    const m = req.getMethod()
    if (m === 'HEAD') {
      emit({ ev: 'head', status: res.getStatus(), offset: Number(res.getHeader('Upload-Offset')) })
    } else if (m === 'PATCH' || m === 'POST') {
      const id = res.getHeader('Shoebox-Asset-Id')
      if (id) {
        assetId = id
        assetStatus = res.getHeader('Shoebox-Asset-Status')
      }
      const e = { ev: m.toLowerCase(), status: res.getStatus(), offset: Number(res.getHeader('Upload-Offset')), assetId: id || null }
      if (res.getStatus() >= 300) e.body = String(res.getBody() ?? '').slice(0, 300)
      emit(e)
    }
  },
  onProgress(sent, bytesTotal) {
    const pct = Math.floor((sent / bytesTotal) * 100)
    if (pct !== lastPct) {
      lastPct = pct
      emit({ ev: 'progress', sent, total: bytesTotal })
    }
  },
  onSuccess() {
    emit({ ev: 'success', url: upload.url, assetId, assetStatus, total })
    process.exit(0)
  },
  onError(err) {
    emit({ ev: 'error', message: String(err && err.message ? err.message : err) })
    process.exit(1)
  },
})

const previous = await upload.findPreviousUploads()
emit({ ev: 'previous', count: previous.length, urls: previous.map((p) => p.uploadUrl) })
if (previous.length) upload.resumeFromPreviousUpload(previous[0])
upload.start()
