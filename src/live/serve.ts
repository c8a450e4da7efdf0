import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket } from "ws";
import { taskOf, OBSERVABILITY_TOPICS, type EventFilters, type ObservabilityDataEvent, type ObservabilityTopic } from "./events.js";
import { ChangeFeed } from "./feed.js";
import { ObservabilityStreamService } from "./stream.js";

/**
 * Seed 003's WebSocket protocol at ws://HOST:PORT/ws?observability=<execution id|all>:
 * `observability:connected`, a replay of the execution's last 100 events, then live events from
 * a stream service, narrowed per client by topics and filters. attachObservabilityStream mounts
 * it on any http.Server or ws WebSocketServer; `obs serve` is that, fed from the change feed.
 */

export const TOPICS = OBSERVABILITY_TOPICS;
type Topic = ObservabilityTopic;
export type Filters = EventFilters;

const TOPIC_OF: Record<ObservabilityDataEvent["type"], Topic> = {
  "transcript:entry": "transcript",
  "tool:start": "tools",
  "tool:end": "tools",
  "tool:output": "tools",
  "assertion:result": "assertions",
  "skill:start": "skills",
  "skill:end": "skills",
  "messagebus:event": "messagebus",
  "wave:status": "waves",
  "agent:heartbeat": "agents",
  "execution:status": "execution",
  "loop:start": "tools",
};

/** Whether a client subscribed to what an event is about. Filters narrow every topic, "all" too. */
export function shouldSend(e: ObservabilityDataEvent, topics: Set<Topic>, f: Filters): boolean {
  if (!topics.has("all") && !topics.has(TOPIC_OF[e.type])) return false;
  if (f.taskId) {
    const task = e.type === "tool:output" ? e.taskId : taskOf(e);
    if (task !== undefined && task !== f.taskId) return false;
  }
  if (f.entryTypes && e.type === "transcript:entry" && !f.entryTypes.includes(e.entry.entryType)) return false;
  if (f.tools && (e.type === "tool:start" || e.type === "tool:end") && e.tool !== undefined && !f.tools.includes(e.tool)) return false;
  if (f.categories && e.type === "assertion:result" && !f.categories.includes(e.assertion.category)) return false;
  if (f.severity && e.type === "messagebus:event" && !f.severity.includes(e.entry.severity ?? "")) return false;
  return true;
}

const LIST_FILTERS = ["entryTypes", "tools", "categories", "severity"] as const;

/** Checks a client message; returns the reason it is malformed, or null. */
function malformed(m: unknown): string | null {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "a message must be a JSON object";
  const o = m as Record<string, unknown>;
  if (o.type === "ping") return null;
  if (o.action !== "subscribe" && o.action !== "unsubscribe") return "expected {type: \"ping\"} or {action: \"subscribe\" | \"unsubscribe\", topic, filters?}";
  if (typeof o.topic !== "string" || !TOPICS.includes(o.topic as Topic)) return `topic must be one of ${TOPICS.join(", ")}`;
  if (o.filters !== undefined) {
    if (typeof o.filters !== "object" || o.filters === null || Array.isArray(o.filters)) return "filters must be an object";
    const f = o.filters as Record<string, unknown>;
    for (const k of Object.keys(f)) {
      if (k === "taskId") {
        if (typeof f.taskId !== "string") return "filters.taskId must be a string";
      } else if ((LIST_FILTERS as readonly string[]).includes(k)) {
        if (!Array.isArray(f[k]) || !(f[k] as unknown[]).every((x) => typeof x === "string")) return `filters.${k} must be an array of strings`;
      } else return `unknown filter ${k} (filters: ${[...LIST_FILTERS, "taskId"].join(", ")})`;
    }
  }
  return null;
}

export interface AttachOptions {
  /** The events to serve (default: the process's shared ObservabilityStreamService). */
  stream?: ObservabilityStreamService;
  /** The path WebSocket clients connect to on an http.Server (default /ws). */
  path?: string;
  /** When set, clients must give ?token=SECRET. */
  token?: string;
  /**
   * On an http.Server: refuse upgrades to other paths (404) rather than leave them to the
   * server's other handlers. `obs serve` owns its server; a server of one's own usually does not.
   */
  exclusive?: boolean;
}

export interface AttachedStream {
  /** Clients connected now. */
  clients: () => number;
  /** Disconnects the clients and stops listening (the server itself is left running). */
  close: () => void;
}

/**
 * Mounts the observability WebSocket protocol on a server of one's own: an http.Server (its
 * upgrades to `path`), or a ws WebSocketServer (its connections whose URL has ?observability=;
 * others are left to the server's own handlers).
 */
export function attachObservabilityStream(target: http.Server | WebSocketServer, opts: AttachOptions = {}): AttachedStream {
  const stream = opts.stream ?? ObservabilityStreamService.getInstance();
  const path = opts.path ?? "/ws";
  const live = new Set<WebSocket>();
  const now = () => new Date().toISOString();
  const send = (ws: WebSocket, msg: unknown) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  function attach(ws: WebSocket, executionId: string): void {
    const topics = new Set<Topic>(["all"]);
    const filters: Filters = {};
    const replay = executionId === "all" ? [] : stream.getBufferedEvents(executionId);
    send(ws, {
      type: "observability:connected", timestamp: now(), executionId,
      message: executionId === "all" ? "Connected to all observability events" : `Connected to execution ${executionId}`,
      bufferedEventCount: replay.length,
    });
    for (const e of replay) send(ws, e);
    const stop = stream.subscribe(executionId, (e) => {
      if (shouldSend(e, topics, filters)) send(ws, e);
    });
    live.add(ws);
    ws.on("message", (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return send(ws, { type: "observability:error", timestamp: now(), error: "Invalid message format: not JSON", code: "INVALID_MESSAGE" });
      }
      const bad = malformed(msg);
      if (bad) return send(ws, { type: "observability:error", timestamp: now(), error: `Invalid message format: ${bad}`, code: "INVALID_MESSAGE" });
      const m = msg as { type?: string; action?: string; topic: Topic; filters?: Filters; executionId?: string };
      if (m.type === "ping") return send(ws, { type: "pong", timestamp: now() });
      if (m.action === "subscribe") {
        topics.add(m.topic);
        if (m.filters) Object.assign(filters, m.filters);
        send(ws, { type: "observability:subscribed", timestamp: now(), topic: m.topic, ...(m.executionId ? { executionId: m.executionId } : {}) });
      } else {
        topics.delete(m.topic);
        send(ws, { type: "observability:unsubscribed", timestamp: now(), topic: m.topic });
      }
    });
    const drop = () => {
      stop();
      live.delete(ws);
    };
    ws.on("close", drop);
    ws.on("error", drop);
  }

  const params = (url: string | undefined) => new URL(url ?? "/", "http://localhost");
  let detach: () => void;
  if (target instanceof WebSocketServer) {
    const onConnection = (ws: WebSocket, req: http.IncomingMessage) => {
      const url = params(req.url);
      const executionId = url.searchParams.get("observability");
      if (!executionId) return; // another protocol of the server's own
      if (opts.token && url.searchParams.get("token") !== opts.token) return ws.close(1008, "wrong or missing token");
      attach(ws, executionId);
    };
    target.on("connection", onConnection);
    detach = () => void target.off("connection", onConnection);
  } else {
    const wss = new WebSocketServer({ noServer: true });
    const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = params(req.url);
      const deny = (status: string) => void socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      if (url.pathname !== path) return opts.exclusive ? deny("404 Not Found") : undefined;
      if (opts.token && url.searchParams.get("token") !== opts.token) return deny("401 Unauthorized");
      const executionId = url.searchParams.get("observability");
      if (!executionId) return deny("400 Bad Request");
      wss.handleUpgrade(req, socket, head, (ws) => attach(ws, executionId));
    };
    target.on("upgrade", onUpgrade);
    detach = () => {
      target.off("upgrade", onUpgrade);
      wss.close();
    };
  }
  return {
    clients: () => live.size,
    close: () => {
      detach();
      for (const ws of live) ws.terminate();
      live.clear();
    },
  };
}

export interface ServeOptions {
  dbPath: string;
  host: string;
  port: number;
  token?: string;
  /** How often the feed checks for commits. */
  intervalMs?: number;
  log?: (line: string) => void;
}

export interface Server {
  url: string;
  port: number;
  clients: () => number;
  close: () => Promise<void>;
}

const REPLAY = 100;

/**
 * `obs serve`: a stream service fed from the database's one change feed (replaying each
 * execution's last events from the file the first time a client asks for it), mounted on a
 * server of its own.
 */
export async function serve(opts: ServeOptions): Promise<Server> {
  const feed = new ChangeFeed(opts.dbPath);
  if (feed.snapshot) opts.log?.(`${opts.dbPath} is read-only here (the file or its directory), so it is read as it is now; rows written to it later will not be sent`);
  feed.skipToEnd();
  const stream = new ObservabilityStreamService({
    bufferSize: REPLAY,
    history: (executionId, limit) => {
      const past = new ChangeFeed(opts.dbPath, { executionId });
      try {
        return past.backlog(limit);
      } finally {
        past.close();
      }
    },
  });
  const httpServer = http.createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "content-type": "text/plain; charset=utf-8" });
    res.end("obs serve: connect a WebSocket to /ws?observability=<execution id|all>\n");
  });
  const mounted = attachObservabilityStream(httpServer, { stream, path: "/ws", token: opts.token, exclusive: true });
  feed.start((events) => {
    for (const e of events) stream.publish(e);
  }, opts.intervalMs ?? 10);

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  let closed = false;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `ws://${host}:${port}/ws`,
    port,
    clients: mounted.clients,
    close: async () => {
      if (closed) return;
      closed = true;
      feed.close();
      mounted.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}
