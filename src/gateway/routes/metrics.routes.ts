import { Router } from 'express';
import { AppError } from '../../shared/errors.ts';
import { tokenMatches } from '../../shared/operator-credential.ts';
import { bearerToken } from '../auth.ts';
import type { Metrics } from '../metrics.ts';

/**
 * `GET /metrics`: the Prometheus exposition, for a scraper holding
 * BOTGATE_METRICS_TOKEN. Without that token configured the path is off (404):
 * what the gateway does is not public.
 */
export function createMetricsRoutes({ metrics, token }: { metrics: Metrics; token: string | undefined }): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    if (token === undefined) throw new AppError('not_found', 'metrics are off: set BOTGATE_METRICS_TOKEN to serve them to a scraper');
    const presented = bearerToken(req.get('authorization'));
    if (!presented || !tokenMatches(token, presented)) {
      res.set('www-authenticate', 'Bearer realm="metrics"');
      throw new AppError('unauthorized', 'the metrics token is missing or wrong: send "Authorization: Bearer <BOTGATE_METRICS_TOKEN>"');
    }
    const body = await metrics.registry.metrics();
    res.set('content-type', metrics.registry.contentType).set('cache-control', 'no-store').send(body);
  });
  return router;
}
