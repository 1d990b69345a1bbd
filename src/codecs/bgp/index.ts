// BGP-4 codec (pure): framing, OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH.
export * from './types.js';
export * from './bytes.js';
export * from './prefix.js';
export * from './header.js';
export * from './open.js';
export * from './attributes.js';
export * from './update.js';
export * from './simple.js';
export * from './message.js';
