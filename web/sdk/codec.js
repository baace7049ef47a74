// Frame encoding for the Flare client protocol's text form: proto3 JSON
// (lowerCamelCase names, enums by name, 64-bit integers as strings,
// default values left out). Decoding turns the 64-bit fields a client does
// arithmetic on into Numbers (seqs and millisecond times stay far below
// 2^53) and unpacks batched frames.

/** Names of int64 fields in flare.client.v1 that are decoded as Numbers. */
const INT64_FIELDS = new Set([
  'seq',
  'maxSeq',
  'readSeq',
  'deliveredSeq',
  'unread',
  'targetSeq',
  'afterSeq',
  'serverTimeMs',
  'clientTimeMs',
  'editedMs',
  'visibleFromSeq',
  'sizeBytes',
  'count',
  'memberCount',
  'readCount',
  'joinedSeq',
  'mutedUntilMs',
  'retryAfterMs',
]);

// Objects whose keys are data, not field names (map<string,string> fields).
const MAP_FIELDS = new Set(['attributes']);

/**
 * Converts the int64 fields of a decoded JSON value to Numbers, in place.
 * @template T
 * @param {T} value
 * @returns {T}
 */
export function normalizeInt64(value) {
  if (Array.isArray(value)) {
    for (const item of value) normalizeInt64(item);
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (INT64_FIELDS.has(key) && (typeof v === 'string' || typeof v === 'number')) {
        value[key] = Number(v);
      } else if (!MAP_FIELDS.has(key)) {
        normalizeInt64(v);
      }
    }
  }
  return value;
}

/**
 * Decodes one text WebSocket message into the server frames it carries, in
 * order (a frame with `batch` carries several). Binary messages
 * (protobuf) are not decoded: a JSON client never asks for them.
 * @param {string} text
 * @returns {object[]}
 */
export function decodeServerFrames(text) {
  const frame = normalizeInt64(JSON.parse(text));
  if (Array.isArray(frame.batch) && frame.batch.length > 0) return frame.batch;
  return [frame];
}

/** @param {object} frame a ClientFrame in proto3 JSON form */
export function encodeClientFrame(frame) {
  return JSON.stringify(frame);
}

/** An Error carrying the protocol's error code ("RATE_LIMITED", ...). */
export class FlareError extends Error {
  /**
   * @param {string} code ErrorCode without its ERROR_CODE_ prefix, or a local one
   *   ("TIMEOUT", "CLOSED", "DISCONNECTED", "HTTP_<status>")
   * @param {string} message
   * @param {{retryAfterMs?: number, hookCode?: number}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message ? `${code}: ${message}` : code);
    this.name = 'FlareError';
    this.code = code;
    this.retryAfterMs = extra.retryAfterMs ?? 0;
    this.hookCode = extra.hookCode ?? 0;
  }
}

/** The FlareError an `error` server frame stands for. */
export function errorFromFrame(frame) {
  const e = frame.error ?? {};
  const code = (e.code ?? 'ERROR_CODE_UNSPECIFIED').replace(/^ERROR_CODE_/, '');
  return new FlareError(code, e.message ?? '', {
    retryAfterMs: Number(e.retryAfterMs ?? 0),
    hookCode: Number(e.hookCode ?? 0),
  });
}
