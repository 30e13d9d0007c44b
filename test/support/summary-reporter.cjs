// Mocha's spec output plus the one summary line CI reads: "N passed, N failed".
// When JIT_SUMMARY_FILE is set, the counts are also written there so .ci/run can add suites up.
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const { passes, failures, pending } = this.stats;
      const file = process.env.JIT_SUMMARY_FILE;
      if (file) fs.writeFileSync(file, JSON.stringify({ passed: passes, failed: failures, skipped: pending }));
      console.log(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
    });
  }
}

module.exports = SummaryReporter;
