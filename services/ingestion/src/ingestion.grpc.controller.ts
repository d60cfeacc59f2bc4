import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { UploadView } from '@herald/contracts';
import { grpcCall } from '@herald/service-defaults';
import { IngestionService } from './ingestion.service';

const reply = (v: UploadView) => ({ uploadJson: JSON.stringify(v) });

/** gRPC adapter of the ingestion API. */
@Controller()
export class IngestionGrpcController {
  constructor(private readonly ingestion: IngestionService) {}

  @GrpcMethod('Ingestion', 'BeginUpload')
  begin(r: { workspaceId: string; campaignId: string; fileName: string }) {
    return grpcCall(() => this.ingestion.beginUpload(r.workspaceId, r.campaignId, r.fileName).then(reply));
  }

  @GrpcMethod('Ingestion', 'AppendUploadChunk')
  chunk(r: { workspaceId: string; uploadId: string; seq: number; data: Buffer }) {
    return grpcCall(() => this.ingestion.appendUploadChunk(r.workspaceId, r.uploadId, r.seq, Buffer.from(r.data)).then(() => ({})));
  }

  @GrpcMethod('Ingestion', 'CommitUpload')
  commit(r: { workspaceId: string; uploadId: string }) {
    return grpcCall(() => this.ingestion.commitUpload(r.workspaceId, r.uploadId).then(reply));
  }

  @GrpcMethod('Ingestion', 'AbortUpload')
  abort(r: { workspaceId: string; uploadId: string; reason: string }) {
    return grpcCall(() => this.ingestion.abortUpload(r.workspaceId, r.uploadId, r.reason).then(reply));
  }

  @GrpcMethod('Ingestion', 'GetUpload')
  get(r: { workspaceId: string; campaignId: string; uploadId: string }) {
    return grpcCall(() => this.ingestion.getUpload(r.workspaceId, r.campaignId, r.uploadId).then(reply));
  }

  @GrpcMethod('Ingestion', 'GetContact')
  contact(r: { workspaceId: string; campaignId: string; contactKey: string }) {
    return grpcCall(async () => ({ contactJson: JSON.stringify(await this.ingestion.getContact(r.workspaceId, r.campaignId, r.contactKey)) }));
  }

  @GrpcMethod('Ingestion', 'ListContacts')
  list(r: { workspaceId: string; campaignId: string; after: string; limit: number; filterJson: string }) {
    return grpcCall(async () => {
      const page = await this.ingestion.listContacts(r.workspaceId, r.campaignId, { ...JSON.parse(r.filterJson || '{}'), after: r.after || undefined, limit: r.limit || undefined });
      return { itemsJson: page.items.map((i) => JSON.stringify(i)), next: page.next ?? '' };
    });
  }
}
