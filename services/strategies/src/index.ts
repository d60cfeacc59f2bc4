export { StrategiesModule } from './strategies.module';
