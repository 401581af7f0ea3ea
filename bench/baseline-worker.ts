// The baseline every edge benchmark is compared with: an empty Hono Worker in the same workerd.
// It reads the request body and answers JSON, as the real routes do, and nothing else.
import { Hono } from 'hono';

const app = new Hono();
app.post('*', async (c) => {
  await c.req.text();
  return c.json({ accepted: 0, duplicates: 0 }, 202);
});
app.get('*', (c) => c.body(null, 204));
export default app;
