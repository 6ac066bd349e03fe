import { spawn } from 'node:child_process';
import { curveKeyPair } from 'zeromq';
import { WorkerClient } from './dist/backends/torch/client.js';
import { workerPython, PACKAGE_ROOT } from './dist/backends/torch/process.js';
const server = curveKeyPair();
const endpoint = 'tcp://127.0.0.1:39123';
console.log('python', workerPython());
const child = spawn(workerPython(), ['-m', 'hyperseg_worker.server', '--endpoint', endpoint, '--allow-remote', '--curve-secret-key', server.secretKey, '--threads', '1'], { env: { ...process.env, PYTHONPATH: PACKAGE_ROOT + 'python-env' }, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => child.stdout.on('data', (d) => { console.log('stdout:', d.toString().trim()); if (d.toString().includes('READY')) r(); }));
console.log('ready');
const good = new WorkerClient(endpoint, { curveServerKey: server.publicKey, timeoutMs: 5000 });
try { console.log((await good.request('hello')).result.protocol); } catch (e) { console.log('err', e.message); }
good.close(); child.kill();
