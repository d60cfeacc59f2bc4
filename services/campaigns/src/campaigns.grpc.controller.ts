import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { CampaignView, PerformancePeriod } from '@herald/contracts';
import { grpcCall } from '@herald/service-defaults';
import { CampaignsService } from './campaigns.service';

const reply = (v: CampaignView) => ({ campaignJson: JSON.stringify(v) });
type Ref = { workspaceId: string; campaignId: string };

/** gRPC adapter: request in, command to the service, view or status out. */
@Controller()
export class CampaignsGrpcController {
  constructor(private readonly campaigns: CampaignsService) {}

  @GrpcMethod('Campaigns', 'CreateCampaign')
  create(r: { workspaceId: string; name: string; description: string; labels: string[] }) {
    return grpcCall(() => this.campaigns.createCampaign(r.workspaceId, r).then(reply));
  }

  @GrpcMethod('Campaigns', 'ListCampaigns')
  list(r: { workspaceId: string; filter: string; search: string }) {
    return grpcCall(async () => ({
      campaignsJson: (await this.campaigns.listCampaigns(r.workspaceId, { filter: r.filter === 'running' ? 'running' : 'all', search: r.search || undefined })).map((v) => JSON.stringify(v)),
    }));
  }

  @GrpcMethod('Campaigns', 'GetCampaign')
  get(r: Ref) {
    return grpcCall(() => this.campaigns.getCampaign(r.workspaceId, r.campaignId).then(reply));
  }

  @GrpcMethod('Campaigns', 'AddStage')
  addStage(r: Ref & { name: string; description: string; channel: string; agent: string; settingsJson: string; variantsJson: string }) {
    return grpcCall(() =>
      this.campaigns
        .addStage(r.workspaceId, r.campaignId, { name: r.name, description: r.description, channel: r.channel, agent: r.agent || null, settings: JSON.parse(r.settingsJson || '{}'), variants: r.variantsJson ? JSON.parse(r.variantsJson) : null })
        .then(reply),
    );
  }

  @GrpcMethod('Campaigns', 'AddStrategy')
  addStrategy(r: Ref & { name: string; description: string; type: string; functionName: string; fileName: string; code: string }) {
    return grpcCall(() => this.campaigns.addStrategy(r.workspaceId, r.campaignId, r).then(reply));
  }

  @GrpcMethod('Campaigns', 'StartCampaign')
  start(r: Ref) {
    return grpcCall(() => this.campaigns.startCampaign(r.workspaceId, r.campaignId).then(reply));
  }

  @GrpcMethod('Campaigns', 'StopCampaign')
  stop(r: Ref) {
    return grpcCall(() => this.campaigns.stopCampaign(r.workspaceId, r.campaignId).then(reply));
  }

  @GrpcMethod('Campaigns', 'ForceStopCampaign')
  forceStop(r: Ref) {
    return grpcCall(() => this.campaigns.forceStopCampaign(r.workspaceId, r.campaignId).then(reply));
  }

  @GrpcMethod('Campaigns', 'DeleteCampaign')
  remove(r: Ref) {
    return grpcCall(async () => { await this.campaigns.deleteCampaign(r.workspaceId, r.campaignId); return {}; });
  }

  @GrpcMethod('Campaigns', 'GetAnalytics')
  analytics(r: Ref) {
    return grpcCall(async () => ({ json: JSON.stringify(await this.campaigns.getAnalytics(r.workspaceId, r.campaignId)) }));
  }

  @GrpcMethod('Campaigns', 'UpdateCampaign')
  update(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.updateCampaign(ws, id, input)); }

  @GrpcMethod('Campaigns', 'UpdateStage')
  updateStage(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.updateStage(ws, id, c.targetId, input)); }

  @GrpcMethod('Campaigns', 'RemoveStage')
  removeStage(c: Command) { return this.view(c, (ws, id) => this.campaigns.removeStage(ws, id, c.targetId)); }

  @GrpcMethod('Campaigns', 'UpdateStrategy')
  updateStrategy(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.updateStrategy(ws, id, c.targetId, input)); }

  @GrpcMethod('Campaigns', 'ReplaceStrategyFile')
  replaceFile(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.replaceStrategyFile(ws, id, c.targetId, input)); }

  @GrpcMethod('Campaigns', 'RemoveStrategy')
  removeStrategy(c: Command) { return this.view(c, (ws, id) => this.campaigns.removeStrategy(ws, id, c.targetId)); }

  @GrpcMethod('Campaigns', 'GetStrategyCode')
  code(c: Command) { return grpcCall(async () => ({ json: JSON.stringify(await this.campaigns.getStrategyCode(c.workspaceId, c.campaignId, c.targetId)) })); }

  @GrpcMethod('Campaigns', 'UpdateSettings')
  settings(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.updateSettings(ws, id, input)); }

  @GrpcMethod('Campaigns', 'UploadAnalytics')
  uploadAnalytics(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.uploadAnalytics(ws, id, input)); }

  @GrpcMethod('Campaigns', 'SetResultDefinitions')
  results(c: Command) { return this.view(c, (ws, id, input) => this.campaigns.setResultDefinitions(ws, id, input)); }

  @GrpcMethod('Campaigns', 'GetLogs')
  logs(c: Command) { return grpcCall(async () => ({ json: JSON.stringify(await this.campaigns.getLogs(c.workspaceId, c.campaignId, JSON.parse(c.inputJson || '{}'))) })); }

  @GrpcMethod('Campaigns', 'ExportCampaign')
  exportCampaign(r: Ref) { return grpcCall(() => this.campaigns.exportCampaign(r.workspaceId, r.campaignId)); }

  @GrpcMethod('Campaigns', 'ImportCampaign')
  importCampaign(r: { workspaceId: string; data: Buffer; secretKey: string }) {
    return grpcCall(() => this.campaigns.importCampaign(r.workspaceId, Buffer.from(r.data ?? []), r.secretKey).then(reply));
  }

  @GrpcMethod('Campaigns', 'GetPerformance')
  performance(r: Ref & { period: string }) {
    return grpcCall(async () => ({ json: JSON.stringify(await this.campaigns.getPerformance(r.workspaceId, r.campaignId, r.period as PerformancePeriod)) }));
  }

  private view(c: Command, run: (workspaceId: string, campaignId: string, input: any) => Promise<CampaignView>) {
    return grpcCall(() => run(c.workspaceId, c.campaignId, JSON.parse(c.inputJson || '{}')).then(reply));
  }
}

type Command = Ref & { targetId: string; inputJson: string };
