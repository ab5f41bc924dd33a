// Share links: what a learner did, in the URL. The worker gives the current line of the timeline
// as a recording (the engine's byte format, src/lab/recording.rs: the settings, the seed, the
// files the lab started on, every input and the state digest of the head); this module
// compresses it with the browser's own CompressionStream('deflate-raw'), writes it base64url in
// the URL fragment with the position, and reads it back:
//
//   https://…/www/#rec=<base64url of deflate-raw(recording)>&pos=<input number>
//
// The fragment never reaches a server. Opening such a link replays the recording on a private
// memory machine in the receiver's tab (their own stored lab is left alone), goes to the
// position, and checks the digest: the same files, byte for byte, or a mismatch said plainly.
// Past MAX_LINK characters a link is unwieldy (chat apps and browsers cut long URLs): the page
// offers the recording as a file instead (FILE_EXT), which the lab opens the same way.

/** Longer links are offered as a file instead. */
export const MAX_LINK = 8192;

/** The extension of a recording saved as a file. */
export const FILE_EXT = '.aoflab';

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function base64url(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unbase64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The link that opens `bytes` (a recording) at `position` on the page `base` (its fragment is
 * replaced). `{url, length, tooLong}`: `tooLong` when it passes MAX_LINK (offer a file).
 */
export async function shareLink(base, bytes, position) {
  const packed = await pipe(bytes, new CompressionStream('deflate-raw'));
  const url = new URL(base);
  url.hash = `rec=${base64url(packed)}&pos=${position}`;
  const text = url.toString();
  return { url: text, length: text.length, tooLong: text.length > MAX_LINK };
}

/** The recording a URL fragment holds: `{bytes, position}`, or null when it holds none. Throws
 *  when it holds a damaged one. */
export async function readShareLink(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  const rec = params.get('rec');
  if (!rec) return null;
  let bytes;
  try {
    bytes = await pipe(unbase64url(rec), new DecompressionStream('deflate-raw'));
  } catch {
    throw new Error('the link is damaged (it does not decode; was it cut short?)');
  }
  const pos = params.get('pos');
  return { bytes, position: pos === null || pos === '' ? null : Number(pos) };
}

/** Offers `bytes` as a file download (a recording too long for a link). */
export function downloadRecording(bytes, name = `aof-lab-recording${FILE_EXT}`) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
