// Drives the official Meshtastic JS client (@meshtastic/core's MeshDevice over
// @meshtastic/transport-node's TransportNode) against a stream-API TCP server: the bot's virtual
// node in tests/integration/proxy_*_test.cpp, or meshbot-sim by hand.
//
//   node client.mjs --host 127.0.0.1 --port PORT [--name A] [--config-id N] [--timeout MS]
//                   [--heartbeat MS] [--no-configure] [--log]
//
// stdout: one JSON object per line (see README.md). stdin: one JSON command per line.
// The library's own logging (tslog and console.*) goes to stderr; library warnings and errors
// are also reported on stdout as {"event":"lib_warning"} lines.
import { createInterface } from "node:readline";
import { MeshDevice, Protobuf, Types } from "@meshtastic/core";
import { TransportNode } from "@meshtastic/transport-node";

// ---- output --------------------------------------------------------------------------------

// Writes to a pipe are synchronous on Linux, so every line is flushed when emit returns.
let nameTag = {}; // {"name": A} from --name, first in every line
function emit(obj) {
  try {
    process.stdout.write(JSON.stringify({ ...nameTag, ...obj }, (_k, v) => (typeof v === "bigint" ? Number(v) : v)) + "\n");
  } catch {
    // stdout gone (the test closed it): nothing left to report to
  }
}

const consoleOrig = { warn: console.warn.bind(console), error: console.error.bind(console) };
const toStderr = (...a) => process.stderr.write(a.map((x) => (typeof x === "string" ? x : String(x))).join(" ") + "\n");
// tslog prints with console.log: keep stdout for the JSON lines only
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
// The library's console.warn/console.error calls: the queue's "Error received for packet N: X" and
// "Packet N of type T timed out", the frame parser's "Malformed packet found, discarding"
for (const level of ["warn", "error"]) {
  console[level] = (...a) => {
    consoleOrig[level](...a);
    emit({ event: "lib_warning", level, message: a.map((x) => (x instanceof Error ? x.message : String(x))).join(" ") });
  };
}

// ---- arguments -----------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { host: "127.0.0.1", port: 4403, name: null, configId: undefined, timeout: 60000, heartbeat: 0, configure: true, log: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--host": o.host = next(); break;
      case "--port": o.port = Number(next()); break;
      case "--name": o.name = next(); break;
      case "--config-id": o.configId = Number(next()); break;
      case "--timeout": o.timeout = Number(next()); break;
      case "--heartbeat": o.heartbeat = Number(next()); break;
      case "--no-configure": o.configure = false; break;
      case "--log": o.log = true; break;
      case "--help":
        process.stderr.write("usage: node client.mjs --host H --port P [--name A] [--config-id N] [--timeout MS] [--heartbeat MS] [--no-configure] [--log]\n");
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) throw new Error("--port must be 1..65535");
  return o;
}

// ---- helpers -------------------------------------------------------------------------------

const RoutingError = Protobuf.Mesh.Routing_Error;
// The protobufs bundled into @meshtastic/core 2.6.7 (2.7.8) stop at 37
const newerRoutingErrors = { 38: "RATE_LIMIT_EXCEEDED", 39: "PKI_SEND_FAIL_PUBLIC_KEY" };
const routingErrorName = (n) => RoutingError[n] ?? newerRoutingErrors[n] ?? String(n);
const statusName = (s) => Types.DeviceStatusEnum[s] ?? String(s);

// A node number from a command: a number, "!xxxxxxxx", "0x...", "broadcast" or "self"
function nodeArg(v, dflt) {
  if (v === undefined || v === null) return dflt;
  if (typeof v === "number") return v >>> 0;
  if (v === "broadcast" || v === "self") return v;
  if (typeof v === "string") {
    if (v.startsWith("!")) return parseInt(v.slice(1), 16) >>> 0;
    return Number(v) >>> 0;
  }
  throw new Error(`bad node ${JSON.stringify(v)}`);
}

function errorFields(e) {
  // The queue rejects with {id, error: Routing_Error number}; sendRaw throws an Error for
  // ToRadio > 512 bytes
  if (e && typeof e === "object" && "error" in e && !(e instanceof Error)) {
    return { id: e.id, error: e.error, error_name: routingErrorName(e.error) };
  }
  return { error: e instanceof Error ? e.message : String(e), error_name: "exception" };
}

// ---- main ----------------------------------------------------------------------------------

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  emit({ event: "error", message: e.message });
  emit({ event: "closed", reason: "bad-arguments" });
  process.exit(2);
}
if (opts.name !== null) nameTag = { name: opts.name };

let device = null;
let transport = null;
let closing = false;
let lastReason = null;

// quit / stdin closed: MeshDevice.disconnect() (closes toDevice, then the socket). When the
// transport already reported DeviceDisconnected there is nothing left to close (and
// toDevice.close() would wait forever on the dead pipe): just report and exit.
async function shutdown(reason, { disconnect = true } = {}) {
  if (closing) return;
  closing = true;
  if (device && disconnect) {
    try {
      const done = await Promise.race([device.disconnect().then(() => true), new Promise((r) => setTimeout(() => r(false), 2000))]);
      if (!done) emit({ event: "lib_warning", level: "disconnect", message: "MeshDevice.disconnect() did not finish within 2 s" });
    } catch (e) {
      // toDevice.close() throws while the queue holds its writer; the socket still goes
      try { await transport?.disconnect(); } catch {}
      emit({ event: "lib_warning", level: "disconnect", message: `MeshDevice.disconnect(): ${e?.message ?? e}` });
    }
  }
  emit({ event: "closed", reason });
  process.exit(0);
}

process.on("uncaughtException", (e) => emit({ event: "error", message: `uncaught: ${e?.stack ?? e}` }));
// The library's queue rejects a packet's promise as soon as its NAK arrives, but sendRaw attaches
// its handler (queue.wait) only after processQueue has written every queued packet (200 ms each):
// a NAK for a packet sent while others are still being written is an unhandled rejection for a
// moment (Node's default would kill the process). The driver still reports it as send_failed.
process.on("unhandledRejection", (e) => {
  if (e && typeof e === "object" && !(e instanceof Error) && "id" in e && "error" in e) {
    emit({ event: "lib_warning", level: "unhandled_rejection", message: `queue rejected packet ${e.id} (${routingErrorName(e.error)}) before sendRaw awaited it` });
    return;
  }
  emit({ event: "error", message: `unhandled rejection: ${e instanceof Error ? e.stack : JSON.stringify(e)}` });
});
// ...and the PromiseRejectionHandledWarning that follows when sendRaw does await it
// (Node's default printer is replaced)
process.removeAllListeners("warning");
process.on("warning", (w) => {
  if (w?.name === "PromiseRejectionHandledWarning") return;
  process.stderr.write(`${w?.name}: ${w?.message}\n`);
  emit({ event: "lib_warning", level: "node_warning", message: `${w?.name}: ${w?.message}` });
});

// Per configure cycle (a FromRadio.rebooted makes the library configure again)
let cycle = null;
const newCycle = () => ({ nodes: new Map(), nodeInfos: 0, channels: 0, channelsEnabled: 0, configs: 0, moduleConfigs: 0, myInfo: null, metadata: null, configCompleteId: null });

let lastData = null; // the Data of the mesh packet being handled (Routing's request_id is in it)
let capturingEcho = null; // set while sendText runs: the library echoes the text to itself synchronously

function attach(dev) {
  const ev = dev.events;
  ev.onDeviceStatus.subscribe((status) => {
    emit({ event: "status", status, status_name: statusName(status), ...(status === Types.DeviceStatusEnum.DeviceDisconnected && lastReason ? { reason: lastReason } : {}) });
    if (status === Types.DeviceStatusEnum.DeviceConfiguring) cycle = newCycle();
    if (status === Types.DeviceStatusEnum.DeviceConfigured) {
      const c = cycle ?? newCycle();
      const myNum = c.myInfo?.myNodeNum ?? null;
      const own = myNum !== null ? c.nodes.get(myNum) : undefined;
      emit({
        event: "configured",
        config_complete: true,
        config_id: dev.configId,
        config_complete_id: c.configCompleteId,
        config_id_match: c.configCompleteId === dev.configId,
        my_node: myNum,
        nodes: c.nodes.size,
        node_infos: c.nodeInfos,
        channels: c.channels,
        channels_enabled: c.channelsEnabled,
        configs: c.configs,
        module_configs: c.moduleConfigs,
        firmware_version: c.metadata?.firmwareVersion ?? null,
        long_name: own?.long_name ?? null,
        short_name: own?.short_name ?? null,
      });
      if (opts.heartbeat > 0) dev.setHeartbeatInterval(opts.heartbeat);
    }
    if (status === Types.DeviceStatusEnum.DeviceDisconnected && !closing) {
      void shutdown(lastReason ?? "disconnected", { disconnect: false });
    }
  });

  ev.onFromRadio.subscribe((fr) => {
    if (!cycle) cycle = newCycle();
    const v = fr.payloadVariant;
    switch (v.case) {
      case "myInfo":
        cycle.myInfo = v.value;
        emit({ event: "my_info", my_node: v.value.myNodeNum, reboot_count: v.value.rebootCount, min_app_version: v.value.minAppVersion, pio_env: v.value.pioEnv ?? "" });
        break;
      case "nodeInfo": {
        const n = v.value;
        cycle.nodeInfos++;
        const rec = { num: n.num, long_name: n.user?.longName ?? null, short_name: n.user?.shortName ?? null, id: n.user?.id ?? null, has_key: !!(n.user?.publicKey?.length), hops_away: n.hopsAway ?? null, last_heard: n.lastHeard };
        cycle.nodes.set(n.num, rec);
        emit({ event: "node", ...rec });
        break;
      }
      case "channel":
        cycle.channels++;
        if (v.value.role !== Protobuf.Channel.Channel_Role.DISABLED) cycle.channelsEnabled++;
        break;
      case "config": cycle.configs++; break;
      case "moduleConfig": cycle.moduleConfigs++; break;
      case "metadata":
        cycle.metadata = v.value;
        emit({ event: "metadata", firmware_version: v.value.firmwareVersion, hw_model: v.value.hwModel });
        break;
      case "configCompleteId":
        cycle.configCompleteId = v.value;
        emit({ event: "config_complete_id", id: v.value, expected: dev.configId, match: v.value === dev.configId });
        break;
      case "queueStatus":
        emit({ event: "queue_status", res: v.value.res, free: v.value.free, maxlen: v.value.maxlen, mesh_packet_id: v.value.meshPacketId });
        break;
      case "clientNotification":
        emit({ event: "notification", message: v.value.message, level: v.value.level, reply_id: v.value.replyId ?? null });
        break;
      case "rebooted":
        emit({ event: "rebooted" });
        break;
      default:
        break;
    }
  });

  ev.onMessagePacket.subscribe((m) => {
    const rec = { from: m.from, to: m.to, channel: m.channel, id: m.id, text: m.data, type: m.type };
    if (capturingEcho) {
      // sendText's local echo of the packet being sent (echoResponse=true), not a received one
      capturingEcho.id = m.id;
      emit({ event: "text_echo", ...rec });
      return;
    }
    emit({ event: "text", ...rec, rx_time: Math.trunc(m.rxTime.getTime() / 1000) });
  });

  ev.onRoutingPacket.subscribe((p) => {
    // p.data is a Routing message; the library settles the queue entry with request_id
    const r = p.data;
    emit({
      event: "routing",
      from: p.from,
      to: p.to,
      id: p.id,
      request_id: lastData?.requestId ?? null,
      variant: r.variant.case ?? null,
      error: r.variant.case === "errorReason" ? r.variant.value : null,
      error_name: r.variant.case === "errorReason" ? routingErrorName(r.variant.value) : null,
    });
  });

  // onUserPacket also fires for every FromRadio.node_info with a user: report only mesh packets
  // (NODEINFO_APP, AdminMessage.get_owner_response)
  let inMeshPacket = false;
  ev.onMeshPacket.subscribe((mp) => {
    lastData = mp.payloadVariant.case === "decoded" ? mp.payloadVariant.value : null;
    inMeshPacket = true;
    queueMicrotask(() => { inMeshPacket = false; });
  });
  ev.onUserPacket.subscribe((u) => {
    if (!inMeshPacket) return;
    emit({ event: "user", from: u.from, to: u.to, id: u.id, long_name: u.data.longName, short_name: u.data.shortName });
  });
}

// The packet id the library chose: sendRaw pushes the queue entry synchronously inside the call
function newQueueId(before) {
  for (const item of device.queue.getState()) if (!before.has(item)) return item.id;
  return null;
}

async function track(ref, start) {
  const before = new Set(device.queue.getState());
  const t0 = Date.now();
  let p;
  try {
    p = start();
  } catch (e) {
    emit({ event: "send_failed", ref, id: null, ...errorFields(e) });
    return;
  }
  const id = newQueueId(before);
  if (id !== null) emit({ event: "sending", ref, id });
  try {
    const res = await p;
    emit({ event: "sent", ref, id: typeof res === "number" ? res : id, ok: true, ms: Date.now() - t0 });
  } catch (e) {
    emit({ event: "send_failed", ref, ok: false, id, ...errorFields(e), ms: Date.now() - t0 });
  }
}

async function handleCommand(line) {
  line = line.trim();
  if (!line) return;
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    emit({ event: "error", message: `bad command JSON: ${e.message}` });
    return;
  }
  const ref = c.ref ?? null;
  switch (c.cmd) {
    case "send_text": {
      const to = nodeArg(c.to, "broadcast");
      const channel = c.channel ?? 0;
      const wantAck = c.want_ack ?? true;
      await track(ref, () => {
        capturingEcho = {};
        try {
          return device.sendText(String(c.text ?? ""), to, wantAck, channel, c.reply_id, c.emoji);
        } finally {
          capturingEcho = null;
        }
      });
      break;
    }
    case "set_owner": {
      const owner = { longName: c.long_name ?? "", shortName: c.short_name ?? "" };
      if (c.is_licensed !== undefined) owner.isLicensed = !!c.is_licensed;
      await track(ref, () => device.setOwner(owner));
      break;
    }
    case "get_owner":
      // the answer arrives as {"event":"user"} (AdminMessage.get_owner_response)
      await track(ref, () => device.getOwner());
      break;
    case "heartbeat": {
      const before = new Set(device.queue.getState());
      device.heartbeat().catch((e) => emit({ event: "error", message: `heartbeat: ${JSON.stringify(errorFields(e))}` }));
      emit({ event: "heartbeat", ref, id: newQueueId(before) });
      break;
    }
    case "configure":
      device.configure().catch((e) => emit({ event: "error", message: `configure: ${e?.message ?? JSON.stringify(e)}` }));
      emit({ event: "configuring", ref, config_id: device.configId });
      break;
    case "quit":
      await shutdown("quit");
      break;
    default:
      emit({ event: "error", ref, message: `unknown command ${JSON.stringify(c.cmd)}` });
  }
}

try {
  emit({ event: "connecting", host: opts.host, port: opts.port });
  transport = await TransportNode.create(opts.host, opts.port, opts.timeout);
} catch (e) {
  emit({ event: "error", message: `connect: ${e?.message ?? e}` });
  emit({ event: "closed", reason: "connect-failed" });
  process.exit(1);
}

// Watch the transport's stream on its way to MeshDevice: the disconnect reason and any bytes
// outside frames (the library only drops them as "debug" chunks)
const observed = {
  toDevice: transport.toDevice,
  fromDevice: transport.fromDevice.pipeThrough(
    new TransformStream({
      transform(chunk, ctrl) {
        if (chunk.type === "status" && chunk.data.reason) lastReason = chunk.data.reason;
        if (chunk.type === "debug") emit({ event: "debug_bytes", text: chunk.data });
        ctrl.enqueue(chunk);
      },
    }),
  ),
  disconnect: () => transport.disconnect(),
};

device = new MeshDevice(observed, opts.configId);
device.log.settings.minLevel = opts.log ? 0 : 4;
device.log.settings.stylePrettyLogs = false;
attach(device);
emit({ event: "connected", config_id: device.configId });

if (opts.configure) {
  // configure() resolves only after the queue's 60 s timeout (nothing acks want_config_id):
  // completion is the DeviceConfigured status, reported as {"event":"configured"}
  device.configure().catch((e) => emit({ event: "error", message: `configure: ${e?.message ?? JSON.stringify(e)}` }));
}

const rl = createInterface({ input: process.stdin, terminal: false });
// Each command starts at once and in order (the library queues the packet synchronously); sends
// run concurrently, each awaiting its own ACK.
rl.on("line", (line) => {
  handleCommand(line).catch((e) => emit({ event: "error", message: e?.stack ?? String(e) }));
});
rl.on("close", () => void shutdown("stdin-closed"));
