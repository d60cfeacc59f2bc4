export * from './channels';
export * from './events';
export * from './campaign';
export * as decide from './decide';
export { UPLOAD_IN_PROGRESS, START_WITHOUT_CONTACTS } from './decide';
export * from './references';
export * from './analytics';
