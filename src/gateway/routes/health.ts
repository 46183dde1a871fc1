import type { FastifyInstance } from 'fastify';

/**
 * Liveness: the gateway answers. It does not ask Temporal, so a Temporal outage does not get the gateway
 * restarted; requests meanwhile answer 503.
 */
export function healthRoutes(app: FastifyInstance): void {
  app.get('/healthz', async () => ({ ok: true }));
}
