/**
 * Fault injection for tests, benchmarks and the end-to-end suite: "throttle the next 3 calls",
 * "the next CreateAccountAssignment conflicts", "the next assignment ends FAILED". Faults are
 * consumed in the order they were added, by the first call they match.
 */
import { z } from 'zod';

export const FAULT_KINDS = ['throttle', 'conflict', 'internal', 'fail'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultSpecSchema = z.strictObject({
  /**
   * throttle: ThrottlingException; conflict: ConflictException; internal: a 500;
   * fail: (Identity Center assignment writes only) accepted, then the operation ends FAILED.
   */
  kind: z.enum(FAULT_KINDS),
  /** How many matching calls it applies to. */
  count: z.number().int().min(1).max(100_000).default(1),
  /** Operation names it applies to (e.g. `CreateAccountAssignment`); all operations when omitted. */
  operations: z.array(z.string().min(1)).min(1).optional(),
  /** Error message (or FailureReason for `fail`). */
  message: z.string().min(1).max(1024).optional(),
});
export type FaultSpec = z.input<typeof faultSpecSchema>;

export interface ActiveFault {
  kind: FaultKind;
  remaining: number;
  operations?: string[];
  message?: string;
}

export class FaultQueue {
  private readonly faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    const parsed = faultSpecSchema.parse(spec);
    this.faults.push({ kind: parsed.kind, remaining: parsed.count, operations: parsed.operations, message: parsed.message });
  }

  /** Consumes one use of the first fault of one of `kinds` that matches `operation`. */
  take(operation: string, kinds: readonly FaultKind[]): ActiveFault | undefined {
    const index = this.faults.findIndex((f) => kinds.includes(f.kind) && (!f.operations || f.operations.includes(operation)));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return { ...fault };
  }

  clear(): void {
    this.faults.length = 0;
  }

  pending(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }
}
