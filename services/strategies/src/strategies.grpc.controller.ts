import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { grpcCall } from '@herald/service-defaults';
import { StrategiesService } from './strategies.service';

/** gRPC adapter of the strategies API. */
@Controller()
export class StrategiesGrpcController {
  constructor(private readonly strategies: StrategiesService) {}

  @GrpcMethod('Strategies', 'Validate')
  validate(r: { code: string; functionName: string }) {
    return grpcCall(async () => {
      const result = await this.strategies.validate(r.code, r.functionName);
      return { ok: result.ok, errors: result.errors.map((e) => ({ line: e.line ?? 0, message: e.message })) };
    });
  }

  @GrpcMethod('Strategies', 'RunDataLoad')
  runDataLoad(r: { workspaceId: string; campaignId: string; itemsJson: string }) {
    return grpcCall(async () => {
      const out = await this.strategies.runDataLoad(r.workspaceId, r.campaignId, JSON.parse(r.itemsJson));
      return { strategyVersion: out.strategyVersion ?? 0, resultsJson: JSON.stringify(out.results) };
    });
  }

  @GrpcMethod('Strategies', 'SimulateAggregation')
  simulateAggregation(r: { workspaceId: string; campaignId: string; itemsJson: string; now: string }) {
    return grpcCall(async () => {
      const out = await this.strategies.simulateAggregation(r.workspaceId, r.campaignId, JSON.parse(r.itemsJson), r.now);
      return { strategyVersion: out.strategyVersion ?? 0, resultsJson: JSON.stringify(out.results) };
    });
  }
}
