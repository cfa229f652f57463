import * as ort from 'onnxruntime-node';
import t from 'tap';
import { executionProviderNames } from '../../src/config/schema.js';
import { executionProviders, providerUnavailable } from '../../src/vision/execution-providers.js';

t.test('the list is what the installed binary reports, the CPU always among what it has', async (t) => {
  const providers = executionProviders();
  t.same(
    providers.map((p) => p.name),
    ort.listSupportedBackends().map((b) => b.name),
  );
  t.match(
    providers.find((p) => p.name === 'cpu'),
    { installed: true, detail: 'built in' },
  );
  t.equal(providerUnavailable('cpu'), undefined);
  for (const backend of ort.listSupportedBackends().filter((b) => b.bundled)) {
    t.equal(providerUnavailable(backend.name), undefined, `${backend.name} is built into the binary, so it can be tried`);
  }
});

t.test('the config accepts every provider some build has, and this build has none it does not know', async (t) => {
  for (const provider of executionProviders()) t.ok((executionProviderNames as readonly string[]).includes(provider.name), provider.name);
});

t.test('a provider whose library set-up did not download, or which this platform lacks, is unavailable and says why', async (t) => {
  // Set-up installs onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=skip: no CUDA libraries on any platform.
  t.match(providerUnavailable('cuda'), process.arch === 'x64' ? /not installed: set-up skips its download/ : /has no cuda provider/);
  t.match(providerUnavailable('tensorrt'), /not installed|has no tensorrt provider/);
  t.match(providerUnavailable('rocm'), new RegExp(`this onnxruntime-node \\(${process.platform}/${process.arch}\\) has no rocm provider`));
});
