/**
 * The demo page's own helper (not part of the widget): shows the reader's anonymous id and fills
 * in the links to the fake Customer.io, at the address the local edge reports (whatever ports
 * `npm start` or the browser tests chose).
 */
import { STORAGE_KEYS } from '#shared/constants.ts';

async function linkFakeCustomerIo() {
  const res = await fetch('/v1/local/demo').catch(() => null);
  if (!res?.ok) return;
  const { fakeCustomerIo } = (await res.json()) as { fakeCustomerIo: string };
  for (const [id, path] of [['fake-people', '/_fake/people?workspace=demo'], ['fake-requests', '/_fake/requests']]) {
    const link = document.getElementById(id!) as HTMLAnchorElement | null;
    if (link) {
      link.href = fakeCustomerIo + path;
      link.textContent = `${fakeCustomerIo}${path}`;
    }
  }
}
void linkFakeCustomerIo();

function showId() {
  let aid = '';
  try {
    aid = JSON.parse(localStorage.getItem(STORAGE_KEYS.anonymousId) || '""');
  } catch {
    /* storage blocked */
  }
  const label = aid || 'none yet';
  const code = document.getElementById('aid');
  if (code) code.textContent = label;
  const curl = document.getElementById('curl');
  if (curl) curl.textContent = `curl -H 'Authorization: Bearer ss_sk_demo_localdemosecret' \\\n  '${location.origin}/v1/server/reader?anonymousId=${aid || '…'}'`;
}
showId();
setInterval(showId, 2000);
