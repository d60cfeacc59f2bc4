import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { grpcCall } from '@herald/service-defaults';
import { invalid, type SchedulingPolicy } from '@herald/contracts';
import { SchedulerService } from './scheduler.service';

function parseJson(field: string, text: string): unknown {
  try {
    return JSON.parse(text || 'null');
  } catch {
    throw invalid(field, 'must be JSON');
  }
}

/** gRPC adapter of the scheduler service (proto/herald/scheduler.proto). */
@Controller()
export class SchedulerGrpcController {
  constructor(private readonly scheduler: SchedulerService) {}

  @GrpcMethod('Scheduler', 'GetPolicy')
  getPolicy(r: { workspaceId: string }) {
    return grpcCall(async () => ({ policyJson: JSON.stringify(await this.scheduler.getPolicy(r.workspaceId)) }));
  }

  @GrpcMethod('Scheduler', 'SetPolicy')
  setPolicy(r: { workspaceId: string; policyJson: string }) {
    return grpcCall(async () => ({
      policyJson: JSON.stringify(await this.scheduler.setPolicy(r.workspaceId, parseJson('policy', r.policyJson) as SchedulingPolicy)),
    }));
  }

  @GrpcMethod('Scheduler', 'DryRun')
  dryRun(r: { workspaceId: string; campaignId: string; from: string; contactLimit: number; hasContactLimit: boolean; horizonDays: number; maxAggregationRuns: number }) {
    return grpcCall(async () => ({
      dryRunJson: JSON.stringify(await this.scheduler.dryRun(r.workspaceId, r.campaignId, {
        from: r.from || undefined, contactLimit: r.hasContactLimit ? r.contactLimit : undefined,
        horizonDays: r.horizonDays || undefined, maxAggregationRuns: r.maxAggregationRuns || undefined,
      })),
    }));
  }
}
