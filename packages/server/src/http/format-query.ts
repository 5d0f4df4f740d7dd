import { ErrorCode, fail, ok, type Result } from '@herald/protocol';

/**
 * The `format` query parameter of `GET /events` and `GET /api/messages`: `compact` for compact
 * message items (`[ref, offset, time, data, epoch?, cursor?]`), `json` or absent for full envelopes.
 * Any other value fails with 1005.
 */
export function readFormatQuery(params: URLSearchParams): Result<'json' | 'compact'> {
  const format = params.get('format');
  if (format === null || format === '' || format === 'json') return ok('json');
  if (format === 'compact') return ok('compact');
  return fail(ErrorCode.InvalidField, 'format must be json or compact');
}
