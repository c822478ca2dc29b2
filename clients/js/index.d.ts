// Types of the streamer client (index.js). The endpoint map E is what
// `dormc gen --ts` writes for a schema (its `Endpoints` interface):
//
//   import { connect } from '@dorm/streamer-client';
//   import type { Endpoints } from './report_endpoints';
//   const client = await connect<Endpoints>(url, { token });
//   const r = await client.request('GenerateReport', { rows: 50, stepMs: 100 }); // r: GenerateReportResult

export type ProtocolErrorCode =
  | 'INVALID_MESSAGE' | 'UNKNOWN_ACTION' | 'INVALID_PAYLOAD' | 'FORBIDDEN' | 'NOT_FOUND' | 'DUPLICATE_REQUEST'
  | 'TIMEOUT' | 'CANCELLED' | 'HANDLER_FAILED' | 'PAYLOAD_TOO_LARGE' | 'RATE_LIMITED' | 'INTERNAL' | 'UNAUTHORIZED';
export type ClientErrorCode = 'CONNECT_FAILED' | 'CLOSED' | 'BAD_MESSAGE';
export type ErrorCode = ProtocolErrorCode | ClientErrorCode;

export declare const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[];
export declare const CLIENT_ERROR_CODES: readonly ClientErrorCode[];

export declare class StreamerError extends Error {
  readonly name: 'StreamerError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly requestId?: string;
  readonly seq?: number;
  constructor(code: ErrorCode, message?: string,
              options?: { retryable?: boolean; requestId?: string; seq?: number; cause?: unknown });
}

/** One endpoint as `dormc gen --ts` describes it. */
export interface EndpointShape {
  mode: 'sync' | 'async';
  request: unknown;
  progress: unknown;
  result: unknown;
}
/** Any endpoint map (the default when none is given: untyped payloads). */
export type EndpointMap = { [action: string]: EndpointShape };

export interface Progress<P> {
  percent: number;
  message?: string;
  progress?: P;
  seq: number;
}

export interface RequestOptions<P> {
  onProgress?: (p: Progress<P>) => void;
  signal?: AbortSignal;
  id?: string;
}

export interface RequestStatus<P = unknown> {
  status: 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
  endpoint: string;
  percent: number;
  message?: string;
  progress?: P;
  lastSeq: number;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectOptions {
  /** Called for every connection: return a fresh token. A token the server said expired is not sent again:
   *  a string one, or a function giving it back five times, closes the client (requests reject UNAUTHORIZED). */
  token?: string | (() => string | Promise<string>);
  /** The WebSocket class (default: globalThis.WebSocket; on Node 20 pass the ws package's). */
  WebSocket?: unknown;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; factor?: number; maxAttempts?: number };
  pingIntervalMs?: number;
  gapMs?: number;
  connectTimeoutMs?: number;
  /** How long an accepted request may stay silent before `resume` asks for what was stored since (30000; 0: never). */
  silenceMs?: number;
  onStateChange?: (state: ConnectionState) => void;
}

export type RequestPromise<R> = Promise<R> & { readonly id: string };

export declare class StreamerClient<E extends { [K in keyof E]: EndpointShape } = EndpointMap> {
  constructor(url: string, options?: ConnectOptions);
  readonly state: ConnectionState;
  readonly connectionId: string | null;
  readonly reconnects: number;
  opened(): Promise<this>;
  request<A extends keyof E & string>(action: A, payload: E[A]['request'],
                                      opts?: RequestOptions<E[A]['progress']>): RequestPromise<E[A]['result']>;
  /** Follows a request sent earlier (before a page reload, from another connection): resume from lastSeq (default 0). */
  follow<A extends keyof E & string = keyof E & string>(id: string,
      opts?: { onProgress?: (p: Progress<E[A]['progress']>) => void; signal?: AbortSignal; lastSeq?: number }):
    RequestPromise<E[A]['result']>;
  cancel(id: string): void;
  status(id: string, opts?: { timeoutMs?: number }): Promise<RequestStatus>;
  close(): void;
}

export declare function connect<E extends { [K in keyof E]: EndpointShape } = EndpointMap>(
  url: string, options?: ConnectOptions): Promise<StreamerClient<E>>;
