import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { grpcCall } from '@herald/service-defaults';
import { DispatchService } from './dispatch.service';

interface JsonRequest { workspaceId: string; target: string; inputJson: string }

const input = <T>(r: JsonRequest): T => JSON.parse(r.inputJson || '{}') as T;
const reply = (value: unknown) => ({ json: JSON.stringify(value ?? null) });

/** gRPC adapter of the dispatch service (proto/herald/dispatch.proto). */
@Controller()
export class DispatchGrpcController {
  constructor(private readonly dispatch: DispatchService) {}

  @GrpcMethod('Dispatch', 'ConfigureIntegration')
  configure(r: { workspaceId: string; name: string; type: string; configJson: string }) {
    return grpcCall(async () => ({
      integrationJson: JSON.stringify(await this.dispatch.configureIntegration(r.workspaceId, { name: r.name, type: r.type, config: JSON.parse(r.configJson || '{}') })),
    }));
  }

  @GrpcMethod('Dispatch', 'ListIntegrations')
  list(r: { workspaceId: string }) {
    return grpcCall(async () => ({ integrationsJson: (await this.dispatch.listIntegrations(r.workspaceId)).map((v) => JSON.stringify(v)) }));
  }

  @GrpcMethod('Dispatch', 'SaveAgent')
  saveAgent(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.saveAgent(r.workspaceId, input(r)))); }

  @GrpcMethod('Dispatch', 'ListAgents')
  listAgents(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.listAgents(r.workspaceId, input(r)))); }

  @GrpcMethod('Dispatch', 'GetAgent')
  getAgent(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.getAgent(r.workspaceId, r.target))); }

  @GrpcMethod('Dispatch', 'RemoveAgent')
  removeAgent(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.removeAgent(r.workspaceId, r.target))); }

  @GrpcMethod('Dispatch', 'ListSessions')
  listSessions(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.listSessions(r.workspaceId, input(r)))); }

  @GrpcMethod('Dispatch', 'GetSession')
  getSession(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.getSession(r.workspaceId, r.target))); }

  @GrpcMethod('Dispatch', 'ListHumanTasks')
  listHumanTasks(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.listHumanTasks(r.workspaceId, input(r)))); }

  @GrpcMethod('Dispatch', 'ClaimHumanTask')
  claimHumanTask(r: JsonRequest) {
    return grpcCall(async () => reply(await this.dispatch.claimHumanTask(r.workspaceId, r.target, input<{ assignee: string }>(r).assignee)));
  }

  @GrpcMethod('Dispatch', 'CloseHumanTask')
  closeHumanTask(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.closeHumanTask(r.workspaceId, r.target, input(r)))); }

  @GrpcMethod('Dispatch', 'HandleWebhook')
  handleWebhook(r: { workspaceId: string; integration: string; method: string; url: string; headers: Record<string, string>; query: Record<string, string>; body: Buffer }) {
    return grpcCall(() => this.dispatch.handleWebhook({ ...r, body: Buffer.from(r.body ?? []) }));
  }

  @GrpcMethod('Dispatch', 'Unsubscribe')
  unsubscribe(r: { token: string; oneClick: boolean }) { return grpcCall(() => this.dispatch.unsubscribe(r.token, r.oneClick)); }

  @GrpcMethod('Dispatch', 'GetAnalysisStatus')
  analysisStatus(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.getAnalysisStatus(r.workspaceId, r.target))); }

  @GrpcMethod('Dispatch', 'StartAnalysis')
  startAnalysis(r: JsonRequest) {
    return grpcCall(async () => reply(await this.dispatch.startAnalysis(r.workspaceId, r.target, input<{ kind: 'recalculate' | 'continue' }>(r).kind)));
  }

  @GrpcMethod('Dispatch', 'StopAnalysis')
  stopAnalysis(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.stopAnalysis(r.workspaceId, r.target))); }

  @GrpcMethod('Dispatch', 'GetAnalysisResults')
  analysisResults(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.getAnalysisResults(r.workspaceId, r.target))); }

  @GrpcMethod('Dispatch', 'ListAnalysedSessions')
  analysedSessions(r: JsonRequest) { return grpcCall(async () => reply(await this.dispatch.listAnalysedSessions(r.workspaceId, r.target, input(r)))); }

  @GrpcMethod('Dispatch', 'ClaimExternalDispatch')
  claimExternal(r: { workspaceId: string; streamId: string; communicationId: string }) {
    return grpcCall(async () => {
      const v = await this.dispatch.claimExternalDispatch(r.workspaceId, r.streamId, r.communicationId);
      return {
        claimed: v.claimed, communicationId: v.communicationId, streamId: v.streamId, sessionId: v.sessionId, channel: v.channel, stageName: v.stageName,
        variant: v.variant ?? '', agent: v.agent ?? '', settingsJson: JSON.stringify(v.settings), opening: v.opening ?? '',
        contact: { key: v.contact.key, name: v.contact.name ?? '', email: v.contact.email ?? '', phone: v.contact.phone ?? '', parametersJson: JSON.stringify(v.contact.parameters) },
      };
    });
  }
}
