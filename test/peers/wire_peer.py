#!/usr/bin/env python3
"""A Python program that speaks ipc-lab's documented wire formats (standard library only).

FIFO (byte stream): each message is a u32 little-endian length, then the payload.
POSIX queue: one message is one kernel message, no header (mq_* called through ctypes).
usage: wire_peer.py fifo-send PATH MSG... | fifo-recv PATH N | mq-send NAME MSG... | mq-recv NAME N
       | sysv-send KEY MSG... | sysv-recv KEY N | unix-send PATH MSG... | unix-recv PATH N
       | signal-send PID SIGNO MSG...
System V queue: mtype 1, mtext = the payload. Unix stream socket: the same frames as a FIFO.
Realtime signal: sigval bytes 0..6 = payload, byte 7 = its length, queued (rt_tgsigqueueinfo,
si_code SI_QUEUE) to the receiver's thread named ipcl-sig-SIGNO, which keeps them in order.
"""
import ctypes
import ctypes.util
import os
import socket
import struct
import sys
import time

librt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
librt.mq_open.restype = ctypes.c_int
librt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
librt.mq_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint]
librt.mq_receive.restype = ctypes.c_ssize_t
librt.mq_receive.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]


libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.msgget.argtypes = [ctypes.c_int, ctypes.c_int]
libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.msgrcv.restype = ctypes.c_ssize_t
libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long, ctypes.c_int]
libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.syscall.restype = ctypes.c_long
SYS_rt_tgsigqueueinfo = 297  # x86-64
SI_QUEUE = -1


def listener_tid(pid, signo):
    """The receiver's thread named ipcl-sig-SIGNO, or None."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() == f"ipcl-sig-{signo}":
                    return int(tid)
        except OSError:
            pass
    return None


def siginfo(signo, value):
    """A siginfo_t (128 bytes) as sigqueue(3) fills it: SI_QUEUE, our pid and uid, the value."""
    return struct.pack("<iiiiiIQ", signo, 0, SI_QUEUE, 0, os.getpid(), os.getuid(), value).ljust(128, b"\0")
IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0


class MsgBuf(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 8192)]


def frame(data):
    return struct.pack("<I", len(data)) + data


class MqAttr(ctypes.Structure):
    _fields_ = [("mq_flags", ctypes.c_long), ("mq_maxmsg", ctypes.c_long),
                ("mq_msgsize", ctypes.c_long), ("mq_curmsgs", ctypes.c_long),
                ("reserved", ctypes.c_long * 4)]


def check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
    return r


def read_exact(fd, n):
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def main():
    mode, name = sys.argv[1], sys.argv[2]
    if mode == "fifo-send":
        for _ in range(1000):
            if os.path.exists(name):
                break
            time.sleep(0.01)
        fd = os.open(name, os.O_WRONLY)
        for m in sys.argv[3:]:
            data = m.encode()
            os.write(fd, struct.pack("<I", len(data)) + data)
        os.close(fd)
    elif mode == "fifo-recv":
        os.mkfifo(name, 0o600)
        fd = os.open(name, os.O_RDONLY)
        for _ in range(int(sys.argv[3])):
            hdr = read_exact(fd, 4)
            (length,) = struct.unpack("<I", hdr)
            print(read_exact(fd, length).decode(), flush=True)
        os.close(fd)
        os.unlink(name)
    elif mode == "mq-send":
        for _ in range(1000):
            q = librt.mq_open(name.encode(), os.O_WRONLY, 0, None)
            if q >= 0:
                break
            time.sleep(0.01)
        check(q, "mq_open")
        for m in sys.argv[3:]:
            data = m.encode()
            check(librt.mq_send(q, data, len(data), 0), "mq_send")
        os.close(q)
    elif mode == "mq-recv":
        attr = MqAttr(0, 10, 8192, 0)
        q = check(librt.mq_open(name.encode(), os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600, ctypes.byref(attr)), "mq_open")
        print("ready", flush=True)
        buf = ctypes.create_string_buffer(8192)
        for _ in range(int(sys.argv[3])):
            n = check(librt.mq_receive(q, buf, 8192, None), "mq_receive")
            print(buf.raw[:n].decode(), flush=True)
        os.close(q)
        check(librt.mq_unlink(name.encode()), "mq_unlink")
    elif mode == "sysv-send":
        key = int(name, 0)
        for _ in range(1000):
            q = libc.msgget(key, 0)
            if q >= 0:
                break
            time.sleep(0.01)
        check(q, "msgget")
        for m in sys.argv[3:]:
            data = m.encode()
            buf = MsgBuf(1, data)
            check(libc.msgsnd(q, ctypes.byref(buf), len(data), 0), "msgsnd")
    elif mode == "sysv-recv":
        q = check(libc.msgget(int(name, 0), IPC_CREAT | IPC_EXCL | 0o600), "msgget")
        print("ready", flush=True)
        buf = MsgBuf()
        for _ in range(int(sys.argv[3])):
            n = check(libc.msgrcv(q, ctypes.byref(buf), 8192, 0, 0), "msgrcv")
            print(buf.mtext[:n].decode(), flush=True)
        libc.msgctl(q, IPC_RMID, None)
    elif mode == "unix-send":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(1000):
            try:
                s.connect(name)
                break
            except OSError:
                time.sleep(0.01)
        for m in sys.argv[3:]:
            s.sendall(frame(m.encode()))
        s.close()
    elif mode == "unix-recv":
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(name)
        srv.listen(1)
        print("ready", flush=True)
        conn, _ = srv.accept()
        fd = conn.fileno()
        for _ in range(int(sys.argv[3])):
            (length,) = struct.unpack("<I", read_exact(fd, 4))
            print(read_exact(fd, length).decode(), flush=True)
        conn.close()
        os.unlink(name)
    elif mode == "signal-send":
        pid, signo = int(name), int(sys.argv[3])
        tid = listener_tid(pid, signo)
        if tid is None:
            sys.exit(f"process {pid} has no ipcl-sig-{signo} thread: is it receiving signal:self:{signo}?")
        for m in sys.argv[4:]:
            data = m.encode()
            value = int.from_bytes(data.ljust(7, b"\0") + bytes([len(data)]), "little")
            info = ctypes.create_string_buffer(siginfo(signo, value), 128)
            while libc.syscall(SYS_rt_tgsigqueueinfo, pid, tid, signo, info) != 0:
                if ctypes.get_errno() != 11:  # EAGAIN: the receiver's queue is full
                    check(-1, "rt_tgsigqueueinfo")
                time.sleep(0.001)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
