/** Every workflow the Vigil worker runs. */
export { conversation } from './conversation';
