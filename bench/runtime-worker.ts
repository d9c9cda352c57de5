/** The Worker of the postMessage baseline: echoes every message. */
declare const self: Worker;
self.onmessage = (e: MessageEvent) => self.postMessage(e.data);
