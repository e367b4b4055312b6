export * from './aes-gcm.js';
export * from './customer-data-key.js';
export * from './sealed-cell.js';
export * from './pseudonym.js';
