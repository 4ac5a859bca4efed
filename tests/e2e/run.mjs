// Runs every browser scenario against a fresh stack and prints `N passed, N failed`.
//   cargo xtask e2e        (builds the SPA and lk first)
//   node run.mjs [name…]   (LK_BIN, CHROMIUM, SHOTS, E2E_DATABASE_URL may be set)
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './harness.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const shots = process.env.SHOTS || path.resolve(here, '../../target/e2e-screenshots');
fs.mkdirSync(shots, { recursive: true });

const wanted = process.argv.slice(2);
const names = fs.readdirSync(path.join(here, 'scenarios'))
  .filter(f => f.endsWith('.mjs'))
  .map(f => f.replace(/\.mjs$/, ''))
  .sort()
  .filter(n => wanted.length === 0 || wanted.includes(n));

let passed = 0;
let failed = 0;
const check = (condition, what) => {
  if (condition) { passed++; console.log('ok   ', what); } else { failed++; console.log('FAIL ', what); }
};
const fail = what => { failed++; console.log('FAIL ', what); };

const stack = await startStack();
try {
  for (const name of names) {
    console.log(`\n# ${name}`);
    const { default: scenario } = await import(`./scenarios/${name}.mjs`);
    await scenario({ ...stack, shots, check, fail });
  }
} catch (error) {
  fail(`harness: ${error.stack || error}`);
} finally {
  await stack.stop();
}
console.log(`\nscreenshots: ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
