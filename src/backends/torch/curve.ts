/**
 * CURVE keys for remote workers: Z85 text (ZeroMQ RFC 32) and a client's public key from its secret key.
 *
 * A worker serving other hosts lets in only the clients whose public keys it lists (`--curve-client-keys`);
 * the CLI takes the client's secret key alone from HYPERSEG_CURVE_CLIENT_SECRET_KEY, so its public key is
 * derived here: CurveZMQ's keys are X25519 keys, and Node's crypto computes X25519 (zeromq.js has no
 * zmq_curve_public).
 */

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { curveKeyPair } from 'zeromq';
import { HypersegError } from '../../errors.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DIGIT = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Z85 text of bytes (length a multiple of 4). */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new HypersegError('INVALID_ARGUMENT', `Z85 encodes multiples of 4 bytes, got ${bytes.length}`);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i] << 24) >>> 0) + (bytes[i + 1] << 16) + (bytes[i + 2] << 8) + bytes[i + 3];
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.push(ALPHABET[v % 85]);
      v = Math.floor(v / 85);
    }
    out += chunk.reverse().join('');
  }
  return out;
}

/** Bytes of Z85 text (length a multiple of 5), or null when it is not Z85. */
export function z85Decode(text: string): Uint8Array | null {
  if (text.length % 5 !== 0) return null;
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const d = DIGIT.get(text[i + j]);
      if (d === undefined) return null;
      v = v * 85 + d;
    }
    if (v > 0xffffffff) return null;
    const o = (i / 5) * 4;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
  return out;
}

// the PKCS#8 prefix of a raw X25519 private key (RFC 8410): its 32 bytes follow
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A CURVE key pair from its Z85 secret key; `what` names the key's source in the error for a bad one. */
export function curvePairOf(secretKey: string, what: string): { publicKey: string; secretKey: string } {
  const raw = z85Decode(secretKey);
  if (raw === null || raw.length !== 32) {
    throw new HypersegError('INVALID_ARGUMENT', `${what} is not a Z85 CURVE secret key (40 characters of the Z85 alphabet), got ${secretKey.length} characters`, {
      suggestion: 'hyperseg keygen makes a key pair',
    });
  }
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return { publicKey: z85Encode(spki.subarray(spki.length - 32)), secretKey }; // SPKI: 12 bytes of prefix, then the key
}

/** A CURVE public key (Z85) checked before use; `what` names its source (zeromq said only "Invalid argument"). */
export function checkCurvePublicKey(key: string, what: string): string {
  const raw = z85Decode(key);
  if (raw === null || raw.length !== 32) {
    throw new HypersegError('INVALID_ARGUMENT', `${what} is not a Z85 CURVE public key (40 characters of the Z85 alphabet), got ${key.length} characters`, {
      suggestion: 'the worker prints its public key when it starts with --allow-remote',
    });
  }
  return key;
}

/** A new CURVE key pair (Z85), for `hyperseg keygen`. */
export function newCurvePair(): { publicKey: string; secretKey: string } {
  return curveKeyPair();
}
