/**
 * Where the AWS API models come from: JIT_BOTOCORE_DATA alone when set, else the newest botocore
 * on the machine (python3's, pyenv's) before Debian's 2022 one, and a clear install hint when
 * there is none.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePattern, INSTALL_HINT, loadServiceModel, MODELS_ENV, modelSources } from '../support/botocore-model';

/** A fake botocore install: `<root>/botocore/__init__.py` with a version, and one sso-admin model. */
function fakeBotocore(root: string, version: string, marker: string): string {
  const pkg = join(root, 'botocore');
  mkdirSync(join(pkg, 'data', 'sso-admin', '2020-07-20'), { recursive: true });
  writeFileSync(join(pkg, '__init__.py'), `__version__ = '${version}'\n`);
  const model = { metadata: { protocol: 'json', serviceId: marker }, operations: {}, shapes: {} };
  writeFileSync(join(pkg, 'data', 'sso-admin', '2020-07-20', 'service-2.json'), JSON.stringify(model));
  return join(pkg, 'data');
}

describe('contract: which AWS API models are used', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-botocore-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const nowhere = () => ({ PATH: join(dir, 'no-bin'), HOME: join(dir, 'no-home'), PYENV_ROOT: join(dir, 'no-pyenv') });

  it(`${MODELS_ENV} names the only source, and a wrong one is an error rather than a silent fallback`, () => {
    const data = fakeBotocore(join(dir, 'env'), '1.40.0', 'from-env');
    assert.deepEqual(modelSources({ ...nowhere(), [MODELS_ENV]: data }), [{ dir: data, version: '1.40.0', origin: MODELS_ENV }]);
    assert.throws(() => modelSources({ ...nowhere(), [MODELS_ENV]: join(dir, 'missing') }), /JIT_BOTOCORE_DATA=.*no such directory/);
  });

  it('the newest botocore comes first: a pyenv 1.43 before Debian 1.29, and each model says where it came from', () => {
    const pyenvRoot = join(dir, 'pyenv');
    const newer = fakeBotocore(join(pyenvRoot, 'versions', '3.11.7', 'lib', 'python3.11', 'site-packages'), '1.43.11', 'newer');
    const debian = fakeBotocore(join(dir, 'debian'), '1.29.27', 'older');
    const sources = modelSources({ ...nowhere(), PYENV_ROOT: pyenvRoot }, debian);
    assert.deepEqual(
      sources.map((s) => [s.version, s.origin, s.dir]),
      [
        ['1.43.11', 'pyenv', newer],
        ['1.29.27', 'debian', debian],
      ],
    );
    const model = loadServiceModel('sso-admin', sources);
    assert.equal(model.metadata.serviceId, 'newer');
    assert.equal(model.source.version, '1.43.11');
    assert.match(model.source.file, /sso-admin\/2020-07-20\/service-2\.json$/);
  });

  it('a service missing from the newest falls back to the next source', () => {
    const newer = fakeBotocore(join(dir, 'fallback-new'), '1.50.0', 'new');
    const older = fakeBotocore(join(dir, 'fallback-old'), '1.29.0', 'old');
    mkdirSync(join(older, 'scheduler', '2021-06-30'), { recursive: true });
    writeFileSync(join(older, 'scheduler', '2021-06-30', 'service-2.json'), JSON.stringify({ metadata: { protocol: 'rest-json', serviceId: 'old-scheduler' }, operations: {}, shapes: {} }));
    const sources = [
      { dir: newer, version: '1.50.0', origin: 'test' },
      { dir: older, version: '1.29.0', origin: 'test' },
    ];
    assert.equal(loadServiceModel('scheduler', sources).metadata.serviceId, 'old-scheduler');
  });

  it('with no models anywhere, the error says how to install them', () => {
    const sources = modelSources(nowhere(), join(dir, 'no-debian'));
    assert.deepEqual(sources, []);
    assert.throws(
      () => loadServiceModel('sso-admin', sources),
      (e: Error) => e.message.startsWith(INSTALL_HINT) && /apt-get install -y python3-botocore/.test(e.message) && /pip install botocore/.test(e.message) && /JIT_BOTOCORE_DATA/.test(e.message),
    );
  });

  it('every pattern of the models the product calls compiles to a JavaScript RegExp (none is skipped silently)', () => {
    const skipped: string[] = [];
    for (const service of ['sso-admin', 'identitystore', 'scheduler', 'stepfunctions', 'securityhub', 'dynamodb', 'events', 'secretsmanager']) {
      for (const [name, shape] of Object.entries(loadServiceModel(service).shapes)) if (shape.pattern && compilePattern(shape.pattern) === null) skipped.push(`${service} ${name}: ${shape.pattern}`);
    }
    assert.deepEqual(skipped, []);
  });

  it('on this machine, the models in use are named (the newest botocore found)', () => {
    const [first] = modelSources();
    assert.ok(first, INSTALL_HINT);
    console.log(`      [AWS API models] newest source: botocore ${first.version} (${first.origin}: ${first.dir})`);
    assert.equal(loadServiceModel('sso-admin').source.dir, first.dir);
  });
});
