import { Router } from 'express';

/** `/healthz`: the process is up. `/readyz`: the database answers and the node is not draining. */
export function createHealthRoutes({ isReady }: { isReady: () => Promise<boolean> }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const ready = await isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });
  return router;
}
