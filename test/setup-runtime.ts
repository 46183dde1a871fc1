import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

// Workers in tests log only errors: the expected failures the tests provoke would otherwise bury the report.
// Each jest worker process runs several test files, and the Runtime can be installed once per process.
try {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
} catch {
  // Already installed by an earlier test file in this process.
}
