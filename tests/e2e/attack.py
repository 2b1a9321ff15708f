"""attack.py -- a hostile local client of the stack's HTTP daemons, for stack_test.sh: while a
real series is planned it posts a 400,000-key body to /stable-series, /stable-study and
/stable-patient, asks the scheduler's /health after them, asks the dashboard with a forged
Host, and holds idle connections open to the scheduler and the dashboard from another loopback
address (reopening those the daemons close) until STOP_FILE exists. Secrets come from the
environment (ATTACK_TOKEN, ATTACK_DASH_LOGIN "user:password"), never from arguments.
Usage: attack.py SCHEDULER_PORT DASHBOARD_PORT IDLE_PER_PORT STOP_FILE REPORT_FILE"""
import base64
import os
import socket
import sys
import time

SOURCE = "127.0.0.2"


def request(port, raw):
    """Sends raw bytes from SOURCE, returns the HTTP status (0 when the connection failed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), 30, (SOURCE, 0)) as s:
            s.sendall(raw)
            line = s.makefile("rb").readline().split()
            return int(line[1]) if len(line) > 1 else 0
    except (OSError, ValueError):
        return 0


def many_keys(port, token, path, key):
    """POSTs a 400,000-key body {KEY: "many-keys", "k0": 1, ...} to PATH, returns the status."""
    body = ('{"%s":"many-keys"' % key + "".join(',"k%d":1' % i for i in range(400000)) + "}").encode()
    return request(port, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Content-Type: application/json\r\nAuthorization: Bearer " + token.encode() +
                   b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def idle(port):
    try:
        return socket.create_connection(("127.0.0.1", port), 5, (SOURCE, 0))
    except OSError:
        return None


def main():
    sched, dash, per_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    stop, report = sys.argv[4], sys.argv[5]
    token = os.environ.get("ATTACK_TOKEN", "")
    login = base64.b64encode(os.environ.get("ATTACK_DASH_LOGIN", "").encode()).decode()
    hostile, study, patient = (many_keys(sched, token, path, key) for path, key in (
        ("/stable-series", "seriesId"), ("/stable-study", "studyId"), ("/stable-patient", "patientId")))
    health = request(sched, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    forged = request(dash, ("GET /api/queues HTTP/1.1\r\nHost: evil.example:%d\r\nOrigin: "
                            "http://evil.example:%d\r\nAuthorization: Basic %s\r\nConnection: "
                            "close\r\n\r\n" % (dash, dash, login)).encode())
    held, opened = {sched: [], dash: []}, 0
    deadline = time.time() + 300
    while not os.path.exists(stop) and time.time() < deadline:
        for port, conns in held.items():
            alive = []
            for c in conns:  # a connection the daemon closed reads as end of file
                c.setblocking(False)
                try:
                    if c.recv(1) == b"":
                        c.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    c.close()
                    continue
                alive.append(c)
            while len(alive) < per_port:
                c = idle(port)
                if c is None:
                    break
                alive.append(c)
                opened += 1
            held[port] = alive
        time.sleep(0.5)
    with open(report, "w") as f:
        f.write("hostile %d\nstudy %d\npatient %d\nhealth %d\nforged %d\nopened %d\n"
                % (hostile, study, patient, health, forged, opened))


main()
