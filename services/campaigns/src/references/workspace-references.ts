import { Inject, Injectable } from '@nestjs/common';
import { DISPATCH_API, DomainError, type AddStageInput, type CampaignSettingsInput, type DispatchApi } from '@herald/contracts';
import { agentReferences, checkAgentReferences, checkLlmIntegration, decide, type RegistryAgent, type RegistryIntegration } from '@herald/campaign-model';

/**
 * Checks what a stage or the settings name outside the campaign against the
 * workspace's agent registry and integrations. Both belong to dispatch and
 * are read through its API: in process in the embedded mode, over gRPC
 * (proto/herald/dispatch.proto) in the distributed one. The rules themselves
 * are libs/campaign-model's (references.ts).
 */
@Injectable()
export class WorkspaceReferences {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  /** The stage's own field errors first (as addStage reports them), then its agents. `prefix` places the fields (import: `campaign.json.stages[0].`). */
  async checkStage(workspaceId: string, input: AddStageInput, prefix = ''): Promise<void> {
    const refs = agentReferences(decide.validateStage(input));
    if (!refs.length) return;
    const agents = new Map<string, RegistryAgent | null>();
    for (const name of new Set(refs.map((r) => r.agent))) agents.set(name, await this.agent(workspaceId, name));
    checkAgentReferences(refs, agents, await this.integrations(workspaceId), prefix);
  }

  /** LLM Settings name an existing language-model integration (null clears the choice). */
  async checkSettings(workspaceId: string, settings: CampaignSettingsInput, prefix = ''): Promise<void> {
    const name = settings?.llmIntegration;
    if (typeof name !== 'string' || !name.trim()) return; // absent or cleared; an empty name is the settings' own error
    checkLlmIntegration(name.trim(), await this.integrations(workspaceId), `${prefix}llmIntegration`);
  }

  private async agent(workspaceId: string, name: string): Promise<RegistryAgent | null> {
    try {
      return await this.dispatch.getAgent(workspaceId, name);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'not_found') return null;
      throw error;
    }
  }

  private async integrations(workspaceId: string): Promise<RegistryIntegration[]> {
    return (await this.dispatch.listIntegrations(workspaceId)).map((i) => ({ name: i.name, type: i.type }));
  }
}
