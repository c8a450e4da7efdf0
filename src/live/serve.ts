import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, WebSocket } from "ws";
import { taskOf, type StreamEvent } from "./events.js";
import { ChangeFeed } from "./feed.js";

/**
 * Seed 003's WebSocket protocol at ws://HOST:PORT/ws?observability=<execution id|all>:
 * `observability:connected`, a replay of the execution's last 100 events, then live events
 * from the one change feed, narrowed per client by topics and filters.
 */

export const TOPICS = ["all", "transcript", "tools", "assertions", "skills", "messagebus", "waves", "agents", "execution"] as const;
type Topic = (typeof TOPICS)[number];

const TOPIC_OF: Record<StreamEvent["type"], Topic> = {
  "transcript:entry": "transcript",
  "tool:start": "tools",
  "tool:end": "tools",
  "assertion:result": "assertions",
  "skill:start": "skills",
  "skill:end": "skills",
  "messagebus:event": "messagebus",
  "wave:status": "waves",
  "agent:heartbeat": "agents",
  "execution:status": "execution",
  "loop:start": "tools",
};

export interface Filters {
  entryTypes?: string[];
  tools?: string[];
  categories?: string[];
  severity?: string[];
  taskId?: string;
}

interface Client {
  ws: WebSocket;
  executionId: string;
  topics: Set<Topic>;
  filters: Filters;
}

const REPLAY = 100;

/** Whether a client subscribed to what an event is about. Filters narrow every topic, "all" too. */
export function shouldSend(e: StreamEvent, topics: Set<Topic>, f: Filters): boolean {
  if (!topics.has("all") && !topics.has(TOPIC_OF[e.type])) return false;
  if (f.taskId) {
    const task = taskOf(e);
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

export async function serve(opts: ServeOptions): Promise<Server> {
  const feed = new ChangeFeed(opts.dbPath);
  feed.skipToEnd();
  const clients = new Set<Client>();
  const now = () => new Date().toISOString();
  const send = (ws: WebSocket, msg: unknown) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  const httpServer = http.createServer((req, res) => {
    res.writeHead(req.url === "/" ? 200 : 404, { "content-type": "text/plain; charset=utf-8" });
    res.end("obs serve: connect a WebSocket to /ws?observability=<execution id|all>\n");
  });
  const wss = new WebSocketServer({ noServer: true });

  httpServer.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const deny = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    };
    if (url.pathname !== "/ws") return deny("404 Not Found");
    if (opts.token && url.searchParams.get("token") !== opts.token) return deny("401 Unauthorized");
    const executionId = url.searchParams.get("observability");
    if (!executionId) return deny("400 Bad Request");
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, executionId));
  });

  function attach(ws: WebSocket, executionId: string): void {
    const client: Client = { ws, executionId, topics: new Set<Topic>(["all"]), filters: {} };
    let replay: StreamEvent[] = [];
    if (executionId !== "all") {
      const past = new ChangeFeed(opts.dbPath, { executionId });
      try {
        replay = past.backlog(REPLAY);
      } finally {
        past.close();
      }
    }
    send(ws, {
      type: "observability:connected", timestamp: now(), executionId,
      message: executionId === "all" ? "Connected to all observability events" : `Connected to execution ${executionId}`,
      bufferedEventCount: replay.length,
    });
    for (const e of replay) send(ws, e);
    clients.add(client);
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
        client.topics.add(m.topic);
        if (m.filters) Object.assign(client.filters, m.filters);
        send(ws, { type: "observability:subscribed", timestamp: now(), topic: m.topic, ...(m.executionId ? { executionId: m.executionId } : {}) });
      } else {
        client.topics.delete(m.topic);
        send(ws, { type: "observability:unsubscribed", timestamp: now(), topic: m.topic });
      }
    });
    const drop = () => clients.delete(client);
    ws.on("close", drop);
    ws.on("error", drop);
  }

  feed.start((events) => {
    for (const c of clients) {
      for (const e of events) {
        if (c.executionId !== "all" && e.executionId !== c.executionId) continue;
        if (shouldSend(e, c.topics, c.filters)) send(c.ws, e);
      }
    }
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
    clients: () => clients.size,
    close: async () => {
      if (closed) return;
      closed = true;
      feed.close();
      for (const c of clients) c.ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}
