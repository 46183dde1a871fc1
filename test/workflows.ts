/** Every workflow the tests run; bundled once by global-setup. */
export * from './temporal-server/workflows';
