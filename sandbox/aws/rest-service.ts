import type { FaultKind, FaultQueue } from './faults';
import type { AwsError } from './protocol';

export interface RestRequest {
  method: string;
  /** Decoded path segments after the leading slash. */
  segments: string[];
  query: URLSearchParams;
  body: unknown;
}

export interface RestRoute {
  /** The modeled operation name (for fault matching and logs). */
  operation: string;
  run(): Promise<unknown>;
}

/** A stand-in reached through restJson1: the method and path select the operation. */
export interface RestJsonService {
  readonly name: string;
  readonly faults: FaultQueue;
  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError;
  /** The route for this request, or undefined if this service does not serve the path. */
  route(request: RestRequest): RestRoute | undefined;
}
