// world root:component/root
import type * as RealsigSigv4RealTime from './interfaces/realsig-sigv4-real-time.js'; // realsig:sigv4/real-time
import type * as RealsigSigv4Signer from './interfaces/realsig-sigv4-signer.js'; // realsig:sigv4/signer
import type * as RealsigSigv4Chunked from './interfaces/realsig-sigv4-chunked.js'; // realsig:sigv4/chunked
import type * as RealsigSigv4PostPolicy from './interfaces/realsig-sigv4-post-policy.js'; // realsig:sigv4/post-policy
import type * as RealsigSigv4EventStream from './interfaces/realsig-sigv4-event-stream.js'; // realsig:sigv4/event-stream
export interface ImportObject {
  'realsig:sigv4/real-time': typeof RealsigSigv4RealTime,
}
export interface Root {
  'realsig:sigv4/signer': typeof RealsigSigv4Signer,
  signer: typeof RealsigSigv4Signer,
  'realsig:sigv4/chunked': typeof RealsigSigv4Chunked,
  chunked: typeof RealsigSigv4Chunked,
  'realsig:sigv4/post-policy': typeof RealsigSigv4PostPolicy,
  postPolicy: typeof RealsigSigv4PostPolicy,
  'realsig:sigv4/event-stream': typeof RealsigSigv4EventStream,
  eventStream: typeof RealsigSigv4EventStream,
}

/**
* Instantiates this component with the provided imports and
* returns a map of all the exports of the component.
*
* This function is intended to be similar to the
* `WebAssembly.Instantiate` constructor. The second `imports`
* argument is the "import object" for wasm, except here it
* uses component-model-layer types instead of core wasm
* integers/numbers/etc.
*
* The first argument to this function, `getCoreModule`, is
* used to compile core wasm modules within the component.
* Components are composed of core wasm modules and this callback
* will be invoked per core wasm module. The caller of this
* function is responsible for reading the core wasm module
* identified by `path` and returning its compiled
* `WebAssembly.Module` object. This would use the
* `WebAssembly.Module` constructor on the web, for example.
*/
export function instantiate(
getCoreModule: (path: string) => WebAssembly.Module,
imports: ImportObject,
instantiateCore?: (module: WebAssembly.Module, imports: Record<string, any>) => WebAssembly.Instance
): Root;

