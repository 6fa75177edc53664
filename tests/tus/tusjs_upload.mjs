// Uploads one file with tus-js-client (the tus project's JavaScript client) under Node.
//
//   node tusjs_upload.mjs ENDPOINT TOKEN DOSSIER FILE [CHUNK_BYTES]
//
// Without CHUNK_BYTES the whole file goes in one PATCH: a dropped connection keeps what
// arrived, and the retry (HEAD, then PATCH) sends only the rest. Prints
// {"url", "attachment"} on success.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(path.join(process.env.MOTCUA_TUS_CLIENTS, 'node', 'x.js'))
const tus = require('tus-js-client')

const [endpoint, token, dossier, file, chunk] = process.argv.slice(2)
const data = fs.readFileSync(file)
let attachment = null
const upload = new tus.Upload(data, {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { dossier, filename: path.basename(file) },
  chunkSize: chunk ? Number(chunk) : Infinity,
  retryDelays: Array(40).fill(200),
  storeFingerprintForResuming: false,
  onAfterResponse (_req, res) {
    const id = res.getHeader('Motcua-Attachment-Id')
    if (id) attachment = Number(id)
  },
  onError (err) {
    console.error(`upload failed: ${err}`)
    process.exit(1)
  },
  onSuccess () {
    console.log(JSON.stringify({ url: upload.url, attachment }))
  }
})
upload.start()
