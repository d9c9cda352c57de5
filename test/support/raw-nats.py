#!/usr/bin/env python3
"""A plain NATS client written against the protocol (docs.nats.io, "Client Protocol"), with
nothing of ipc-lab's: the interop peer of test/nats.test.ts. Usage:
  raw-nats.py URL sub SUBJECT N        print N messages' payloads, one per line
  raw-nats.py URL pub SUBJECT MSG...   publish each MSG
  raw-nats.py URL request SUBJECT MSG  print the reply's payload (or "NO RESPONDERS")
  raw-nats.py URL reply SUBJECT N      answer N requests with the payload upper-cased
It prints READY once subscribed (the server has seen SUB: a PING answered by PONG after it).
"""
import socket, sys, json

def connect(url):
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=30)
    f = s.makefile("rb")
    info = f.readline()
    assert info.startswith(b"INFO "), info
    s.sendall(b"CONNECT " + json.dumps({"verbose": False, "pedantic": False, "headers": True, "no_responders": True, "lang": "python-raw", "version": "0"}).encode() + b"\r\n")
    return s, f

def sync(s, f):
    s.sendall(b"PING\r\n")
    while True:
        line = f.readline()
        if line.startswith(b"PONG"):
            return
        if line.startswith(b"-ERR"):
            raise SystemExit(line.decode())

def read_msg(s, f):
    """The next MSG or HMSG as (subject, reply, headers, payload); answers PINGs on the way."""
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("connection closed")
        if line.startswith(b"PING"):
            s.sendall(b"PONG\r\n")
            continue
        parts = line.split()
        if parts[0] == b"MSG":
            subject, reply = parts[1], (parts[3] if len(parts) == 5 else None)
            n = int(parts[-1])
            body = f.read(n + 2)[:n]
            return subject, reply, b"", body
        if parts[0] == b"HMSG":
            subject, reply = parts[1], (parts[3] if len(parts) == 6 else None)
            hlen, total = int(parts[-2]), int(parts[-1])
            data = f.read(total + 2)[:total]
            return subject, reply, data[:hlen], data[hlen:]

def main():
    url, cmd, subject = sys.argv[1], sys.argv[2], sys.argv[3]
    s, f = connect(url)
    out = sys.stdout
    if cmd == "pub":
        for m in sys.argv[4:]:
            b = m.encode()
            s.sendall(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(b), b))
        sync(s, f)
    elif cmd == "sub":
        s.sendall(b"SUB %s 1\r\n" % subject.encode())
        sync(s, f)
        print("READY", flush=True)
        for _ in range(int(sys.argv[4])):
            print(read_msg(s, f)[3].decode(), flush=True)
    elif cmd == "request":
        inbox = b"_INBOX.raw%d" % id(s)
        s.sendall(b"SUB %s 1\r\n" % inbox)
        b = sys.argv[4].encode()
        s.sendall(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), inbox, len(b), b))
        _, _, headers, body = read_msg(s, f)
        print("NO RESPONDERS" if headers.startswith(b"NATS/1.0 503") else body.decode(), flush=True)
    elif cmd == "reply":
        s.sendall(b"SUB %s 1\r\n" % subject.encode())
        sync(s, f)
        print("READY", flush=True)
        for _ in range(int(sys.argv[4])):
            _, reply, _, body = read_msg(s, f)
            up = body.upper()
            s.sendall(b"PUB %s %d\r\n%s\r\n" % (reply, len(up), up))
        sync(s, f)
    s.close()

main()
