// Placeholder until the sandbox lands (issue 5): say plainly what is and is not built yet.
console.log(`Teams JIT Access for AWS: sandbox

Not built yet: the local embedded sandbox (bot + bridge + workflow + AWS stand-ins + Agents
Playground) is under construction. What works today:
  npm test        the domain core, policy engine and their tests
`);
process.exitCode = 0;
