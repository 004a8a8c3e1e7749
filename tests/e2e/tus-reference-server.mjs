// The tus reference server (@tus/server + @tus/file-store, pinned in package.json) for the
// interop test tests/interop_tus_reference.rs.
//
//   node tus-reference-server.mjs NODE_DIR STORE_DIR
//
// NODE_DIR is where install.sh ran `npm ci` (it holds node_modules/); STORE_DIR receives the
// uploads (`<id>` bytes + `<id>.json`). Listens on 127.0.0.1:0, serves tus at /files and prints
// exactly one line once bound: `tus-reference-server listening on http://127.0.0.1:PORT/files`.
// Exits on SIGTERM/SIGINT or when stdin closes (so it never outlives the test).
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [nodeDir, storeDir] = process.argv.slice(2);
if (!nodeDir || !storeDir) {
  console.error('usage: node tus-reference-server.mjs NODE_DIR STORE_DIR');
  process.exit(2);
}
// The packages live outside the clone, so resolve them from NODE_DIR rather than from here.
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { Server } = await load('@tus/server');
const { FileStore } = await load('@tus/file-store');

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: storeDir }) });
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`tus-reference-server listening on http://127.0.0.1:${port}/files`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
