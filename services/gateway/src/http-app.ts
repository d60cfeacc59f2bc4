import 'reflect-metadata';
import { ArgumentMetadata, BadRequestException, INestApplication, Logger, PipeTransform, ValidationError, ValidationPipe, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '@herald/contracts';
import { HttpErrorsFilter } from './http-errors.filter';

const PRIORITY = ['whitelistValidation', 'isDefined', 'isNotEmpty', 'isString', 'isIn', 'isObject', 'isArray'];

function firstProblem(errors: ValidationError[], prefix = ''): { field: string; message: string } {
  const e = errors[0];
  const field = prefix ? `${prefix}.${e.property}` : e.property;
  if (e.constraints) {
    // A missing value says so, rather than failing whichever format check ran first.
    const key = PRIORITY.find((k) => e.constraints![k]) ?? Object.keys(e.constraints)[0];
    return { field, message: `${field}: ${e.constraints[key]}` };
  }
  return firstProblem(e.children ?? [], field);
}

/** Refuses bodies nested deeper than MAX_JSON_DEPTH before validation, whose transformation recurses (a 20,000-deep body would overflow it). */
class BodyDepthPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && nestedDeeperThan(value)) {
      throw new BadRequestException({ statusCode: 400, error: 'invalid', message: `body: nested deeper than ${MAX_JSON_DEPTH} levels`, field: 'body' });
    }
    return value;
  }
}

/** Builds the HTTP application around a root module: validation, error mapping, OpenAPI at /openapi.json. */
export async function createHttpApp(root: Type<unknown>): Promise<INestApplication> {
  // rawBody: provider webhooks are verified against the exact bytes received (services/gateway/src/webhooks).
  const app = await NestFactory.create(root, { logger: ['error', 'warn', 'log'], rawBody: true });
  app.useGlobalPipes(new BodyDepthPipe(), new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const { field, message } = firstProblem(errors);
      return new BadRequestException({ statusCode: 400, error: 'invalid', message, field });
    },
  }));
  app.useGlobalFilters(new HttpErrorsFilter());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('Herald API').setVersion('0.1.0').build());
  app.getHttpAdapter().get('/openapi.json', (_req: unknown, res: { json(body: unknown): void }) => res.json(document));
  return app;
}

export async function listen(app: INestApplication, port: number): Promise<void> {
  await app.listen(port, '0.0.0.0');
  new Logger('Herald').log(`gateway listening on http://127.0.0.1:${port} (OpenAPI: /openapi.json)`);
}
