// The webhook's AdmissionReview decoding (issue 14, item 1): any JSON body gives the request or
// errors each naming its field, never a throw (a throw there escaped the handler's catch).
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { decodeReview } from '../../../src/adapters/webhook/server.js';
import { deeplyNested, hostileValue, mutated } from '../../domain/decoders/hostile.js';

const review = {
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: 'u-1', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'default', name: 'p',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} }, dryRun: false, userInfo: { username: 'me', groups: ['g'] },
  },
};

describe('decodeReview', () => {
  it.each<[string, unknown, readonly string[]]>([
    // It threw RangeError out of JSON.stringify (describing the value that was not an object).
    ['a request nested 100,000 deep', { ...review, request: deeplyNested(100_000) }, [
      'request: expected { uid: string, operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT", kind: { group: string, version: string, kind: string } }, got [[[[…]]]]',
      'request: expected Partial<{ namespace: string, name: string, object: unknown, oldObject: unknown, dryRun: boolean, userInfo: Partial<{ username: string, uid: string, groups: Array<string> }> }>, got [[[[…]]]]',
    ]],
    ['a uid that is a number', { ...review, request: { ...review.request, uid: 7 } }, ['request.uid: expected string, got 7']],
    ['no body', null, ['the body: expected { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: ({ uid: string, operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT", kind: { group: string, version: string, kind: string } } & Partial<{ namespace: string, name: string, object: unknown, oldObject: unknown, dryRun: boolean, userInfo: Partial<{ username: string, uid: string, groups: Array<string> }> }>) }, got null']],
  ])('%s', (_name, body, errors) => {
    expect(decodeReview(body)).toEqual(errors);
  });

  it('a request, or errors each naming a field of the review (fast-check)', () => {
    fc.assert(fc.property(fc.oneof(mutated(review), hostileValue), (body) => {
      const r = decodeReview(body);
      if (Array.isArray(r)) {
        expect(r.length).toBeGreaterThan(0);
        for (const e of r as readonly string[]) expect(e).toMatch(/^(the body|apiVersion|kind|request(\.[\w]+)*): expected /);
      }
    }), { numRuns: 2000 });
  });
});
