export { DispatchModule } from './dispatch.module';
export { renderTemplate } from './adapters/template';
