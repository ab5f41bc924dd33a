// The lab page: one LabController (lab.js) on the page's panels. The engine's options come from
// the URL, so that a link can open a given setup: ?backend=auto|opfs|indexeddb|memory
// &namespace=NAME&appendfsync=always|everysec|no (defaults: auto, lab, everysec).

import { LAB_CONFIG } from './protocol.js';
import { LabController } from './lab.js';

const $ = (id) => document.getElementById(id);
const params = new URL(location.href).searchParams;

const config = { ...LAB_CONFIG };
if (params.get('appendfsync')) config.appendfsync = params.get('appendfsync');

const lab = new LabController(
  {
    status: $('status'),
    backend: $('backend'),
    notice: $('notice'),
    console: { log: $('log'), form: $('prompt'), input: $('cmd'), button: $('run') },
    aof: { list: $('aof'), size: $('aof-size'), empty: $('aof-empty'), config: $('aof-config') },
    files: { list: $('files'), manifest: $('manifest'), info: $('info'), rewrite: $('rewrite-state'), durability: $('durability'), loadLog: $('load-log') },
    events: { list: $('events'), count: $('events-count') },
    crash: $('crash'),
    transfer: $('transfer'),
    examples: document.querySelectorAll('.examples .chip'),
    rewrite: $('bgrewrite'),
  },
  { backend: params.get('backend') ?? 'auto', namespace: params.get('namespace') ?? 'lab', config },
);

// For tests and the curious: the controller (it never exposes the engine: that is the worker's).
window.aofLab = lab;
