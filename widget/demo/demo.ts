/**
 * The demo page's own helper (not part of the widget): shows the reader's anonymous id and fills
 * in the links to the fake Customer.io, which runs beside the edge (8790 beside 8787 under
 * `npm start`, 8890 beside 8887 in the browser tests).
 */
import { STORAGE_KEYS } from '#shared/constants.ts';

const fakePort = location.port === '8887' ? 8890 : 8790;
const fake = `${location.protocol}//${location.hostname}:${fakePort}`;

for (const [id, path] of [['fake-people', '/_fake/people?workspace=demo'], ['fake-requests', '/_fake/requests']]) {
  const link = document.getElementById(id!) as HTMLAnchorElement | null;
  if (link) {
    link.href = fake + path;
    link.textContent = `${fake}${path}`;
  }
}

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
