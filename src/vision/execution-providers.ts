import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export interface ExecutionProviderInfo {
  name: string;
  /** Whether this installation can try it: built into the binary, or its library installed beside it. */
  installed: boolean;
  detail: string;
}

/** Where onnxruntime-node keeps its binding, and any provider libraries, for this platform. */
function bindingFolder(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
}

/** What the installed onnxruntime-node binary really offers here, as the binary itself reports it. */
export function executionProviders(): ExecutionProviderInfo[] {
  const folder = bindingFolder();
  return ort.listSupportedBackends().map(({ name, bundled }) => {
    if (bundled) return { name, installed: true, detail: name === 'cpu' ? 'built in' : 'built in; needs a GPU adapter when it starts' };
    const library = path.join(folder, `libonnxruntime_providers_${name}.so`);
    return existsSync(library)
      ? { name, installed: true, detail: `${path.basename(library)} installed; needs CUDA 12 and cuDNN` }
      : { name, installed: false, detail: 'not installed: set-up skips its download (README, "Execution providers")' };
  });
}

/** Why `name` cannot be tried in this installation, or undefined when it can. */
export function providerUnavailable(name: string): string | undefined {
  const provider = executionProviders().find((p) => p.name === name);
  if (!provider) return `this onnxruntime-node (${process.platform}/${process.arch}) has no ${name} provider`;
  return provider.installed ? undefined : provider.detail;
}
