/** Every workflow the Vigil worker runs. */
export { conversation } from './conversation';
export { scheduledMessage } from './scheduled-message';
