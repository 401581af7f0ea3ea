import { describe, expect, it } from 'vitest';
import { credit, emptyLedger } from '#shared/email/ledger.ts';
import { SEND_SLACK_MS, outcomeOf } from './attribution.ts';

const SENT = 1_000_000_000;

describe('an A/B recipient\'s outcome', () => {
  it('counts only the test broadcast\'s deliveries after the send, human and machine apart', () => {
    const ledger = emptyLedger();
    credit(ledger, 'opens', 'edge', SENT - 5 * SEND_SLACK_MS, 'd-old', '2'); // this broadcast, an earlier send
    credit(ledger, 'opens', 'edge', SENT + 1000, 'd-other', '9'); // another campaign
    credit(ledger, 'clicks', 'edge', SENT + 1000, 'd-other', '9');
    expect(outcomeOf(ledger, 2, SENT)).toEqual({ opened: false, clicked: false, openedMachine: false, clickedMachine: false });
    credit(ledger, 'opens_machine', 'webhook', SENT + 2000, 'd-ours', '2');
    expect(outcomeOf(ledger, 2, SENT)).toMatchObject({ opened: false, openedMachine: true });
    credit(ledger, 'opens', 'edge', SENT + 3000, 'd-ours', '2');
    credit(ledger, 'clicks', 'webhook', SENT + 4000, 'd-ours', '2');
    expect(outcomeOf(ledger, 2, SENT)).toEqual({ opened: true, clicked: true, openedMachine: true, clickedMachine: false });
    expect(outcomeOf(ledger, 2, SENT, SENT + 1000)).toMatchObject({ opened: false }); // after the window
    expect(outcomeOf(undefined, 2, SENT).opened).toBe(false);
  });
});
