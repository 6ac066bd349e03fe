import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TensorFrame, decodeEnvelope, decodeMessage, decodeTensor, encodeMessage, encodeTensor } from '../../src/protocol/codec.js';

interface GoldenCase {
  name: string;
  envelope: Record<string, unknown>;
  tensors: { name: string; dtype: string; shape: number[]; values: number[] }[];
  frames: string[];
}
const golden = JSON.parse(readFileSync(new URL('../../proto/vectors/messages.json', import.meta.url), 'utf8')) as { cases: GoldenCase[]; rejects: { name: string; code: string; frame: string }[] };
const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;

describe('wire protocol codec (proto/PROTOCOL.md)', () => {
  it('refuses the malformed tensor frames of the shared vectors (a batch longer than its buffer came back cut short)', () => {
    expect(golden.rejects.length).toBeGreaterThanOrEqual(4);
    for (const r of golden.rejects) {
      expect(() => decodeTensor(new Uint8Array(Buffer.from(r.frame, 'base64'))), r.name).toThrow(`protocol ${r.code}: tensor patches: `);
    }
  });

  it('decodes the golden messages written by pyarrow to their values', () => {
    for (const c of golden.cases) {
      const msg = decodeMessage(c.frames.map((f) => new Uint8Array(Buffer.from(f, 'base64'))));
      expect(msg.envelope).toEqual(c.envelope);
      for (const t of c.tensors) {
        const got = msg.tensors.get(t.name);
        expect(got?.dtype, c.name).toBe(t.dtype);
        expect(got?.shape).toEqual(t.shape);
        expect(Array.from(got?.data ?? [])).toEqual(Array.from(CTOR[t.dtype as keyof typeof CTOR].from(t.values)));
      }
    }
  });

  it('re-encodes the golden messages to frames that decode to the same values', () => {
    for (const c of golden.cases) {
      const { tensors: _names, ...env } = c.envelope as { tensors: string[] };
      const tensors = c.tensors.map((t) => ({ name: t.name, dtype: t.dtype as 'float32', shape: t.shape, data: CTOR[t.dtype as keyof typeof CTOR].from(t.values) as Float32Array }));
      const back = decodeMessage(encodeMessage(env as never, tensors));
      expect(back.envelope).toEqual(c.envelope);
      for (const t of tensors) expect(Array.from(back.tensors.get(t.name)?.data ?? [])).toEqual(Array.from(t.data));
    }
  });

  it('TensorFrame: values written into `data` are what the frame carries (no copy between producer and socket)', () => {
    const f = TensorFrame.allocate('anchor', 'float32', [2, 1, 3, 3, 3]);
    for (let i = 0; i < f.data.length; i++) f.data[i] = i * 0.5;
    expect(f.data.buffer).toBe(f.bytes.buffer);
    const t = decodeTensor(f.bytes);
    expect(t.shape).toEqual([2, 1, 3, 3, 3]);
    expect(Array.from(t.data)).toEqual(Array.from(f.data));
    expect(t.data.buffer).toBe(f.bytes.buffer); // decoding views the frame too
  });

  it('rejects malformed envelopes and frames by name, and a version mismatch names both versions', () => {
    expect(() => decodeEnvelope(Buffer.from('nope'))).toThrow(/BAD_MESSAGE: envelope is not JSON/);
    expect(() => decodeEnvelope(Buffer.from('[1]'))).toThrow(/must be a JSON object/);
    expect(() => decodeEnvelope(Buffer.from('{"v":2,"id":1}'))).toThrow(/message has v=2, this client speaks v=1/);
    expect(() => decodeEnvelope(Buffer.from('{"v":1,"id":-4}'))).toThrow(/id must be an integer/);
    expect(() => decodeTensor(Buffer.from('garbage frame'))).toThrow(/BAD_TENSOR/);
    expect(() => encodeTensor({ name: 'x', dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow(/needs 4 values, got 3/);
    expect(() => decodeMessage([Buffer.from('{"v":1,"id":1,"tensors":["a"]}')])).toThrow(/lists 1 tensor\(s\) but 0 frame\(s\) follow/);
  });
});
