import { describe, expect, it } from 'vitest';
import { draftOf, sendView } from './views.ts';
import type { SendRow } from './send-store.ts';

const row: SendRow = {
  key: 'b1:draft-0001:v1', broadcastId: 1, mode: 'broadcast', eventName: 'sharpsend_send',
  variation: { id: 'v1', segmentId: 's1', subject: 'Hi', preheader: '', blocks: [], cta: null } as never, segmentName: 'Premium',
  recipients: 2, status: 'retrying', attempts: 1, nextAt: 5_000, triggerId: null, error: '500: boom', abTest: null,
  createdAt: 1_000, sentAt: null, unclearAt: 1_200, handedOver: 0,
  grp: 'b1:draft-0001', position: 0, segmentId: 's1', built: true, buildCursor: null, chunks: 1, chunksSent: 0, filter: null,
};

describe('a send as the panel sees it', () => {
  it('names its draft (none for an A/B test\'s send) and shows the next attempt only while retrying', () => {
    expect(draftOf('b12:draft-0001:v1')).toBe('draft-0001');
    expect(draftOf('ab:ab_x:arm0')).toBeNull();
    const view = sendView(row);
    expect(view).toMatchObject({ key: row.key, draftId: 'draft-0001', nextAttemptAt: 5_000, error: '500: boom', attempts: 1 });
    expect(view).not.toHaveProperty('unclearAt');
    expect(view).not.toHaveProperty('handedOver');
    expect(sendView({ ...row, status: 'sent', abTest: 'ab_x' })).toMatchObject({ draftId: null, nextAttemptAt: null });
    // Progress: chunks sent of chunks, and how the audience goes.
    expect(sendView({ ...row, chunks: 3, chunksSent: 1 }, 10_000)).toMatchObject({ chunks: 3, chunksSent: 1, recipientsSent: 10_000, audience: 'chunks', building: false });
    expect(sendView({ ...row, built: false })).toMatchObject({ building: true, audience: 'chunks' });
    expect(sendView({ ...row, built: false, filter: { segment: { id: 4 } } })).toMatchObject({ building: false, audience: 'segment' });
  });
});
