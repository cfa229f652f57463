declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';
  interface UnixDgramSocket extends EventEmitter {
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
    bind(path: string): void;
    close(): void;
  }
  export function createSocket(type: 'unix_dgram', listener?: (msg: Buffer, rinfo: unknown) => void): UnixDgramSocket;
}
