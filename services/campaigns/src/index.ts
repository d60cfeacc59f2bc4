export { CampaignsModule } from './campaigns.module';
