import type { FaultKind, FaultQueue } from './faults';
import type { AwsError } from './protocol';

/** A stand-in reached through the AWS JSON RPC protocols (`X-Amz-Target: <targetPrefix>.<Operation>`). */
export interface JsonRpcService {
  /** e.g. `SWBExternalService` (sso-admin), `AWSIdentityStore`, `AWSStepFunctions`. */
  readonly targetPrefix: string;
  /** `1.0` or `1.1`: the `application/x-amz-json-<version>` content type. */
  readonly jsonVersion: '1.0' | '1.1';
  readonly faults: FaultQueue;
  /** The modeled error an injected synchronous fault becomes for this service. */
  faultError(kind: Exclude<FaultKind, 'fail'>, operation: string, message?: string): AwsError;
  /** Throws AwsError for modeled errors; anything else becomes a 500 InternalFailure. */
  handle(operation: string, input: unknown): Promise<unknown>;
}
