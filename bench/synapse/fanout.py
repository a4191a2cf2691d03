#!/usr/bin/env python3
"""Fanout load job against three federating Synapse homeservers (see setup.sh).

    fanout.py --dir DIR --users U --messages M [--rate R] [--senders S]
              [--timeout T] --json OUT

* registers U users round-robin over hs1, hs2, hs3 (shared-secret admin API);
* user0 (hs1) creates one public room, everyone else joins it (remote users
  over federation, with server_name=hs1);
* waits until every user's /sync shows the room joined and every server sees
  all U members;
* every user runs a /sync long-poll loop (timeout 30000 ms) on its own
  homeserver, filtered to the room's m.room.message timeline;
* S senders (users 0..S-1, by default one per homeserver) send M messages
  with PUT /rooms/{room}/send/m.room.message/{txn}; closed loop (default:
  --inflight requests in flight per sender) or open loop (--rate R msgs/s in
  total, fixed schedule, latency from the scheduled time);
* a message is delivered when all U-1 users other than its sender have seen it
  in /sync; latency = delivery to the last of them minus send (scheduled) time;
* stops when everything is delivered or after --timeout seconds (send phase +
  delivery), and writes JSON to OUT plus a short summary to stdout.

Needs aiohttp (installed in the venv by setup.sh); when run by another python
it re-executes itself with the venv's python.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import urllib.parse


def _reexec_in_venv():
    try:
        import aiohttp  # noqa: F401

        return
    except ImportError:
        pass
    d = None
    for i, a in enumerate(sys.argv):
        if a == "--dir" and i + 1 < len(sys.argv):
            d = sys.argv[i + 1]
        elif a.startswith("--dir="):
            d = a.split("=", 1)[1]
    venv = None
    if d and os.path.exists(os.path.join(d, "venv")):
        with open(os.path.join(d, "venv")) as f:
            venv = f.read().strip()
    venv = venv or os.environ.get("SYNAPSE_VENV") or os.path.expanduser(
        "~/.cache/mimi-bench/synapse-venv"
    )
    py = os.path.join(venv, "bin", "python")
    # (the venv's python is a symlink to the system one: compare prefixes)
    if os.path.exists(py) and os.path.realpath(sys.prefix) != os.path.realpath(venv):
        os.execv(py, [py] + sys.argv)
    sys.exit("fanout.py: aiohttp not importable; run setup.sh (it installs it in the venv)")


_reexec_in_venv()
import aiohttp  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SYNC_TIMEOUT_MS = 30000
TIMELINE_LIMIT = 500


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def proc_cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime = field 14, stime = field 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def pg_backend_pids(dbnames):
    """PIDs of PostgreSQL backends serving our databases (for CPU accounting)."""
    try:
        out = subprocess.run(
            ["psql", "-X", "-tA", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
             "select pid, datname from pg_stat_activity where datname = any(array[%s])"
             % ",".join("'%s'" % n.replace("'", "") for n in dbnames)],
            capture_output=True, text=True, timeout=10,
        ).stdout
    except Exception:
        return {}
    res = {}
    for line in out.splitlines():
        if "|" in line:
            pid, db = line.split("|", 1)
            res[int(pid)] = db
    return res


class HttpError(Exception):
    pass


class User:
    def __init__(self, idx, server):
        self.idx = idx
        self.server = server
        self.url = server["client_url"]
        self.user_id = None
        self.token = None
        self.since = None
        self.filter_id = None

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}


class Msg:
    __slots__ = ("mid", "sender", "t0", "pending", "t_accepted", "t_delivered", "status")

    def __init__(self, mid, sender, t0, recipients):
        self.mid = mid
        self.sender = sender
        self.t0 = t0
        self.pending = set(recipients)
        self.t_accepted = None
        self.t_delivered = None
        self.status = None


class Bench:
    def __init__(self, args, info):
        self.a = args
        self.info = info
        self.servers = info["servers"]
        self.run_id = "%x%s" % (int(time.time()), secrets.token_hex(2))
        self.users = [User(i, self.servers[i % len(self.servers)]) for i in range(args.users)]
        self.room = None
        self.msgs = {}  # mid -> Msg (tracked: warm-up and measured)
        self.measured = []  # Msg of the measured phase, in index order
        self.all_done = asyncio.Event()
        self.n_measured_delivered = 0
        self.sync_requests = 0
        self.limited_syncs = 0
        self.gap_fills = 0
        self.send_errors = {}
        self.send_retries = 0
        self.stopping = False
        self.ready_polls = 0
        self.t_load = None
        self.deadline = None
        self.waiters = {}  # mid -> Future, for --await-delivery

    # ---------------------------------------------------------------- HTTP
    async def req(self, method, url, *, headers=None, json_body=None, params=None, timeout=30,
                  ok=(200,)):
        async with self.http.request(
            method, url, headers=headers, json=json_body, params=params,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as r:
            body = await r.read()
            if r.status not in ok:
                raise HttpError(f"{method} {url} -> {r.status} {body[:300]!r}")
            return json.loads(body) if body else {}

    # -------------------------------------------------------------- set-up
    async def register(self, u):
        secret = u.server["registration_shared_secret"]
        base = u.url + "/_synapse/admin/v1/register"
        nonce = (await self.req("GET", base))["nonce"]
        username = f"fo{self.run_id}u{u.idx}"
        password = secrets.token_hex(12)
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, username, password, "notadmin"):
            mac.update(part.encode())
            if part != "notadmin":
                mac.update(b"\x00")
        r = await self.req("POST", base, json_body={
            "nonce": nonce, "username": username, "password": password,
            "admin": False, "mac": mac.hexdigest(),
        })
        u.user_id, u.token = r["user_id"], r["access_token"]

    async def join(self, u):
        via = self.users[0].server["server_name"]
        q = urllib.parse.quote(self.room, safe="")
        await self.req("POST", f"{u.url}/_matrix/client/v3/join/{q}", headers=u.headers(),
                       params={"server_name": via}, json_body={}, timeout=60)

    async def make_filter(self, u):
        f = {
            "presence": {"types": []},
            "account_data": {"types": []},
            "event_fields": ["event_id", "sender", "type", "content.fanout_id"],
            "room": {
                "rooms": [self.room],
                "timeline": {"types": ["m.room.message"], "limit": TIMELINE_LIMIT},
                "state": {"types": [], "lazy_load_members": True},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        }
        q = urllib.parse.quote(u.user_id, safe="")
        r = await self.req("POST", f"{u.url}/_matrix/client/v3/user/{q}/filter",
                           headers=u.headers(), json_body=f)
        u.filter_id = r["filter_id"]

    async def wait_ready(self, deadline):
        """Every user: its /sync shows the room joined and its server sees U members."""
        q = urllib.parse.quote(self.room, safe="")
        # Rooms with nothing matching the benchmark filter don't show in /sync,
        # so readiness is checked with a filter that matches m.room.create.
        # Synapse caches identical /sync requests for a while: a nonce in the
        # filter makes every poll a new request.
        def ready_filter():
            self.ready_polls += 1
            return json.dumps({
                "presence": {"types": []}, "account_data": {"types": []},
                "room": {"rooms": [self.room], "not_rooms": [f"!poll{self.ready_polls}:invalid"],
                         "timeline": {"limit": 1},
                         "state": {"types": ["m.room.create"], "lazy_load_members": True}},
            })
        pending = list(self.users)
        last_report, reported = time.monotonic(), False
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"room not ready for users {[u.idx for u in pending]} in time")
            still = []
            for u in pending:
                try:
                    r = await self.req("GET", f"{u.url}/_matrix/client/v3/sync", headers=u.headers(),
                                       params={"filter": ready_filter(), "timeout": "0"})
                    m = await self.req("GET", f"{u.url}/_matrix/client/v3/rooms/{q}/joined_members",
                                       headers=u.headers())
                except HttpError as e:
                    log(f"waiting for user {u.idx}: {e}")
                    still.append(u)
                    continue
                in_sync = self.room in r.get("rooms", {}).get("join", {})
                n_members = len(m.get("joined", {}))
                if in_sync and n_members == len(self.users):
                    # Start of the sync loop: a sync with the benchmark filter.
                    r = await self.req("GET", f"{u.url}/_matrix/client/v3/sync", headers=u.headers(),
                                       params={"filter": u.filter_id, "timeout": "0"})
                    u.since = r["next_batch"]
                else:
                    still.append(u)
                    if time.monotonic() - last_report > 5:
                        log(f"user {u.idx} not ready: room in /sync: {in_sync}, "
                            f"members seen by its server: {n_members}/{len(self.users)}")
                        reported = True
            if reported:
                last_report, reported = time.monotonic(), False
                # Nudge: a new event from hs1 makes lagging servers fetch the
                # events they are missing.
                u0 = self.users[0]
                await self.req("PUT", f"{u0.url}/_matrix/client/v3/rooms/{q}/state/m.room.topic/",
                               headers=u0.headers(), json_body={"topic": f"fanout {time.time()}"})
            pending = still
            if pending:
                await asyncio.sleep(0.5)

    # ---------------------------------------------------------------- sync
    def on_event(self, u, ev, now):
        mid = (ev.get("content") or {}).get("fanout_id")
        m = self.msgs.get(mid) if mid else None
        if m is None or u.idx not in m.pending:
            return
        m.pending.discard(u.idx)
        if not m.pending:
            m.t_delivered = now
            w = self.waiters.pop(mid, None)
            if w is not None and not w.done():
                w.set_result(None)
            if not mid.startswith("w"):
                self.n_measured_delivered += 1
                if self.n_measured_delivered == self.a.messages:
                    self.all_done.set()

    async def fill_gap(self, u, prev_batch, old_since):
        """timeline.limited: page back with /messages to the previous since token."""
        self.gap_fills += 1
        q = urllib.parse.quote(self.room, safe="")
        frm = prev_batch
        for _ in range(50):
            r = await self.req("GET", f"{u.url}/_matrix/client/v3/rooms/{q}/messages",
                               headers=u.headers(),
                               params={"from": frm, "to": old_since, "dir": "b", "limit": "1000",
                                       "filter": json.dumps({"types": ["m.room.message"]})})
            now = time.monotonic()
            for ev in r.get("chunk", []):
                self.on_event(u, ev, now)
            if not r.get("chunk") or not r.get("end"):
                return
            frm = r["end"]

    async def sync_loop(self, u):
        while not self.stopping:
            try:
                r = await self.req("GET", f"{u.url}/_matrix/client/v3/sync", headers=u.headers(),
                                   params={"since": u.since, "timeout": str(SYNC_TIMEOUT_MS),
                                           "filter": u.filter_id},
                                   timeout=SYNC_TIMEOUT_MS / 1000 + 30)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # keep polling; the bound is the run's deadline
                if not self.stopping:
                    log(f"sync user {u.idx}: {e!r}")
                    await asyncio.sleep(0.5)
                continue
            now = time.monotonic()
            self.sync_requests += 1
            room = r.get("rooms", {}).get("join", {}).get(self.room)
            old_since = u.since
            u.since = r["next_batch"]
            if room:
                tl = room.get("timeline", {})
                for ev in tl.get("events", []):
                    self.on_event(u, ev, now)
                if tl.get("limited"):
                    self.limited_syncs += 1
                    if self.limited_syncs == 1 and self.t_load is not None:
                        log(f"first limited /sync (user {u.idx}) at "
                            f"+{now - self.t_load:.1f}s of the load phase")
                    if self.a.no_gap_fill:
                        continue
                    try:
                        await self.fill_gap(u, tl.get("prev_batch"), old_since)
                    except Exception as e:
                        log(f"gap fill user {u.idx}: {e!r}")

    # ---------------------------------------------------------------- send
    async def send(self, m):
        u = self.users[m.sender]
        q = urllib.parse.quote(self.room, safe="")
        url = f"{u.url}/_matrix/client/v3/rooms/{q}/send/m.room.message/{m.mid}"
        body = {"msgtype": "m.text", "body": f"fanout {m.mid}", "fanout_id": m.mid}
        for attempt in range(3):
            if self.stopping:
                return
            try:
                left = (self.deadline - time.monotonic()) if self.deadline else 30
                await self.req("PUT", url, headers=u.headers(), json_body=body,
                               timeout=min(30, max(1.0, left)))
                m.t_accepted = time.monotonic()
                m.status = 200
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                key = type(e).__name__ if not isinstance(e, HttpError) else str(e).split(" -> ")[1][:3]
                self.send_errors[key] = self.send_errors.get(key, 0) + 1
                if attempt < 2:
                    self.send_retries += 1
                    await asyncio.sleep(0.2)  # same txn id: the retry is idempotent
        m.status = "failed"

    def new_msg(self, mid, sender, t0):
        m = Msg(mid, sender, t0, [u.idx for u in self.users if u.idx != sender])
        self.msgs[mid] = m
        return m

    async def closed_loop(self, deadline):
        nxt = iter(range(self.a.messages))

        async def worker(sender):
            for i in nxt:
                if self.stopping or time.monotonic() > deadline:
                    return
                m = self.new_msg(f"{self.run_id}-{i}", sender, time.monotonic())
                self.measured.append(m)
                if self.a.await_delivery:
                    fut = self.waiters[m.mid] = asyncio.get_running_loop().create_future()
                await self.send(m)
                if self.a.await_delivery and m.status == 200 and m.t_delivered is None:
                    try:
                        await asyncio.wait_for(fut, timeout=max(0.01, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        return

        await asyncio.gather(*(worker(s) for s in range(self.a.senders)
                               for _ in range(self.a.inflight)))

    async def open_loop(self, deadline):
        interval = 1.0 / self.a.rate
        t_start = time.monotonic()
        tasks = set()
        for i in range(self.a.messages):
            t_sched = t_start + i * interval
            if t_sched > deadline or self.stopping:
                break
            delay = t_sched - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            m = self.new_msg(f"{self.run_id}-{i}", i % self.a.senders, t_sched)
            self.measured.append(m)
            t = asyncio.ensure_future(self.send(m))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
        for t in list(tasks):
            t.cancel()

    # ----------------------------------------------------------------- run
    def pids(self):
        res = {}
        for s in self.servers:
            try:
                with open(s["pid_file"]) as f:
                    pid = int(f.read().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                raise SystemExit(f"{s['name']} is not running (pid file {s['pid_file']}); run start.sh")
            res[s["name"]] = pid
        return res

    async def settle(self, pids, limit_s=60.0, idle_frac=0.10):
        """Wait (bounded) until no homeserver uses more than idle_frac of a core,
        so a run doesn't start while a previous run's backlog is processed."""
        t_start = time.monotonic()
        prev = {n: proc_cpu_s(p) for n, p in pids.items()}
        while time.monotonic() - t_start < limit_s:
            await asyncio.sleep(1.0)
            cur = {n: proc_cpu_s(p) for n, p in pids.items()}
            busy = {n: round(cur[n] - prev[n], 2) for n in cur if cur[n] - prev[n] > idle_frac}
            prev = cur
            if not busy:
                return round(time.monotonic() - t_start, 1)
        log(f"homeservers still busy after {limit_s:.0f}s ({busy} CPU s/s); starting anyway")
        return None

    def cpu_snapshot(self, pids):
        snap = {name: proc_cpu_s(pid) for name, pid in pids.items()}
        if self.info["database"] == "postgres":
            dbs = {s["database"]: s["name"] for s in self.servers}
            for pid, db in pg_backend_pids(list(dbs)).items():
                snap[f"pg:{pid}:{dbs[db]}"] = proc_cpu_s(pid)
        return snap

    async def run(self):
        a = self.a
        pids = self.pids()
        conn = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60)
        self.http = aiohttp.ClientSession(connector=conn)
        sync_tasks = []
        try:
            t_setup = time.monotonic()
            setup_deadline = t_setup + a.setup_timeout
            log(f"run {self.run_id}: registering {a.users} users")
            await asyncio.gather(*(self.register(u) for u in self.users))
            r = await self.req("POST", f"{self.users[0].url}/_matrix/client/v3/createRoom",
                               headers=self.users[0].headers(),
                               json_body={"preset": "public_chat", "name": f"fanout {self.run_id}"})
            self.room = r["room_id"]
            log(f"room {self.room}; joining")
            # First one user per remote server (the federated make_join/send_join),
            # then everybody else (local joins).
            first = {}
            for u in self.users[1:]:
                if u.server is not self.users[0].server:
                    first.setdefault(u.server["name"], u)
            # (one after another: concurrent first joins race and leave servers
            # with a view of the room lacking the other's join until more
            # events arrive)
            for u in first.values():
                await self.join(u)
            await asyncio.gather(*(self.join(u) for u in self.users[1:]
                                   if u.server is not self.users[0].server
                                   and u not in first.values()))
            await asyncio.gather(*(self.join(u) for u in self.users[1:]
                                   if u.server is self.users[0].server))
            await asyncio.gather(*(self.make_filter(u) for u in self.users))
            await self.wait_ready(setup_deadline)
            log(f"all {a.users} users joined and synced ({time.monotonic() - t_setup:.1f}s)")
            settled = await self.settle(pids)
            if settled is not None and settled > 1.5:
                log(f"waited {settled}s for the homeservers to go idle")
            sync_tasks = [asyncio.ensure_future(self.sync_loop(u)) for u in self.users]

            # Warm-up: one message per sender, delivered to everybody, not measured.
            warm = [self.new_msg(f"w{self.run_id}-{s}", s, time.monotonic()) for s in range(a.senders)]
            await asyncio.gather(*(self.send(m) for m in warm))
            t_w = time.monotonic()
            while any(m.t_delivered is None for m in warm):
                if time.monotonic() - t_w > 30:
                    raise SystemExit("warm-up messages not delivered within 30 s: federation broken?")
                await asyncio.sleep(0.05)
            log(f"warm-up delivered in {time.monotonic() - t_w:.2f}s; "
                + (f"open loop at {a.rate}/s" if a.rate else
                   f"closed loop, {a.inflight} in flight per sender"
                   + (" (each waits for delivery to all)" if a.await_delivery else ""))
                + f", {a.messages} messages, {a.senders} senders")

            cpu0 = self.cpu_snapshot(pids)
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = self.t_load = time.monotonic()
            deadline = self.deadline = t0 + a.timeout
            sender = self.open_loop(deadline) if a.rate else self.closed_loop(deadline)
            sender_task = asyncio.ensure_future(sender)
            try:
                await asyncio.wait_for(sender_task, timeout=a.timeout + 5)
            except asyncio.TimeoutError:
                log("sender still busy at the deadline; cancelled")
            accepted = [m for m in self.measured if m.status == 200]
            if accepted and len(accepted) == len(self.measured) == a.messages:
                try:
                    await asyncio.wait_for(self.all_done.wait(), timeout=max(0.01, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    pass
            else:
                # Some were never sent or failed: wait for the others until the deadline.
                while time.monotonic() < deadline and any(
                        m.t_delivered is None for m in accepted):
                    await asyncio.sleep(0.05)
            t_end = time.monotonic()
            cpu1 = self.cpu_snapshot(pids)
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            self.stopping = True
        finally:
            self.stopping = True
            for t in sync_tasks:
                t.cancel()
            await asyncio.gather(*sync_tasks, return_exceptions=True)
            await self.http.close()

        # ------------------------------------------------------------ report
        delivered = [m for m in self.measured if m.t_delivered is not None]
        lat = sorted((m.t_delivered - m.t0) * 1000 for m in delivered)
        send_lat = sorted((m.t_accepted - m.t0) * 1000 for m in accepted)
        last_accept = max((m.t_accepted for m in accepted), default=t0)
        last_deliv = max((m.t_delivered for m in delivered), default=t0)
        send_phase = max(1e-9, last_accept - t0)
        deliv_phase = max(1e-9, last_deliv - t0)

        def rnd(x):
            return None if x is None else round(x, 2)

        cpu = {}
        for k, v1 in cpu1.items():
            v0 = cpu0.get(k, 0.0) or 0.0
            if v1 is None:
                continue
            if k.startswith("pg:"):
                name = "postgres_" + k.split(":")[2]
                cpu[name] = round(cpu.get(name, 0.0) + v1 - v0, 2)
            else:
                cpu[k] = round(v1 - v0, 2)
        n_rec = a.users - 1
        seen_pairs = sum(n_rec - len(m.pending) for m in self.measured)
        per_server = {}
        for srv in self.servers:
            idxs = {u.idx for u in self.users if u.server is srv}
            per_server[srv["name"]] = sum(
                1 for m in accepted if not (m.pending & idxs))
        out = {
            "system": "synapse",
            "version": self.info["synapse_version"],
            "database": self.info["database"],
            "servers": len(self.servers),
            "users": a.users,
            "senders": a.senders,
            "messages": a.messages,
            "mode": "open" if a.rate else "closed",
            "rate_offered": a.rate,
            "inflight_per_sender": None if a.rate else a.inflight,
            "await_delivery": bool(a.await_delivery) and not a.rate,
            "recipients": "all users except the sender (users - 1 per message)",
            "sent": len(self.measured),
            "accepted": len(accepted),
            "accepted_per_s": round(len(accepted) / send_phase, 2),
            "delivered": len(delivered),
            "delivered_per_s": round(len(delivered) / deliv_phase, 2),
            "deliveries_per_s": round(len(delivered) * (a.users - 1) / deliv_phase, 2),
            "latency_ms": {
                "p50": rnd(percentile(lat, 0.50)),
                "p99": rnd(percentile(lat, 0.99)),
                "p999": rnd(percentile(lat, 0.999)),
                "max": rnd(lat[-1] if lat else None),
            },
            "send_latency_ms": {
                "p50": rnd(percentile(send_lat, 0.50)),
                "p99": rnd(percentile(send_lat, 0.99)),
                "max": rnd(send_lat[-1] if send_lat else None),
            },
            "undelivered": a.messages - len(delivered),
            "unsent": a.messages - len(self.measured),
            # (message, recipient) pairs seen / pairs expected for accepted messages
            "recipient_delivery_fraction": round(seen_pairs / max(1, len(accepted) * n_rec), 4),
            # accepted messages seen by every recipient on that server
            "delivered_per_server": per_server,
            "lost": len([m for m in accepted if m.t_delivered is None]),
            "send_errors": self.send_errors,
            "send_retries": self.send_retries,
            "duration_s": round(t_end - t0, 2),
            "send_phase_s": round(send_phase, 2),
            "delivery_phase_s": round(deliv_phase, 2),
            "timed_out": len(delivered) < a.messages,
            "cpu_s": cpu,
            "rss_mb": {name: proc_rss_mb(pid) for name, pid in pids.items()},
            "loadgen_cpu_s": round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 2),
            "sync_requests": self.sync_requests,
            "sync_limited": self.limited_syncs,
            "host_cpus": os.cpu_count(),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
            "room": self.room,
            "run_id": self.run_id,
        }
        return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="directory made by setup.sh")
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--rate", type=float, default=None, help="open loop: messages/s in total")
    p.add_argument("--senders", type=int, default=None, help="default: one per homeserver (3)")
    p.add_argument("--inflight", type=int, default=4, help="closed loop: requests in flight per sender")
    p.add_argument("--await-delivery", action="store_true",
                   help="closed loop: a request slot is freed only when its message has been "
                        "delivered to every recipient (not when the send is answered)")
    p.add_argument("--no-gap-fill", action="store_true",
                   help="don't page back with /messages after a limited /sync "
                        "(events in the gap then count as undelivered)")
    p.add_argument("--timeout", type=float, default=120.0, help="bound on send + delivery phase (s)")
    p.add_argument("--setup-timeout", type=float, default=90.0, help="bound on register/join (s)")
    p.add_argument("--json", required=True, help="output file")
    a = p.parse_args()
    with open(os.path.join(a.dir, "servers.json")) as f:
        info = json.load(f)
    if a.senders is None:
        a.senders = min(len(info["servers"]), a.users)
    if a.users < 2 or not (1 <= a.senders <= a.users):
        p.error("need --users >= 2 and 1 <= --senders <= --users")
    if a.messages < 1 or a.messages > 1_000_000:
        p.error("--messages must be in 1..1000000")
    if a.rate is not None and a.rate <= 0:
        p.error("--rate must be > 0")
    if not 1 <= a.timeout <= 3600:
        p.error("--timeout must be in 1..3600")
    for s in info["servers"]:
        host = urllib.parse.urlsplit(s["client_url"]).hostname
        if not host.startswith("127."):
            p.error(f"refusing non-loopback server {s['client_url']}")

    out = asyncio.run(Bench(a, info).run())
    with open(a.json, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    l = out["latency_ms"]
    print(
        f"synapse {out['version']} ({out['database']}), {out['servers']} servers, {out['users']} users, "
        f"{out['senders']} senders, {out['mode']} loop"
        + (f" ({out['inflight_per_sender']} in flight per sender"
           + (", awaiting delivery)" if out["await_delivery"] else ")") if out["mode"] == "closed" else "")
        + (f" at {out['rate_offered']}/s" if out["rate_offered"] else "")
        + f"\n  sent {out['sent']}/{out['messages']}, accepted {out['accepted']} "
        f"({out['accepted_per_s']}/s), delivered to all {out['users'] - 1} recipients: {out['delivered']} "
        f"({out['delivered_per_s']}/s), undelivered {out['undelivered']} "
        f"(never sent {out['unsent']}, accepted but not delivered by the deadline {out['lost']})"
        f"\n  latency ms p50 {l['p50']} p99 {l['p99']} p99.9 {l['p999']} max {l['max']}"
        f"\n  cpu s {out['cpu_s']} (load generator {out['loadgen_cpu_s']}), rss MB {out['rss_mb']}"
        f"\n  -> {a.json}"
    )


if __name__ == "__main__":
    main()
