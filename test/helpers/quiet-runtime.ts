import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

// Imported (for its effect) by the helpers every Temporal test uses, so pure unit tests never start the
// native runtime, whose threads would keep jest from exiting. Workers in tests log only errors: the expected
// failures the tests provoke would otherwise bury the report. The Runtime can be installed once per process.
try {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
} catch {
  // Already installed by an earlier test file in this process.
}
