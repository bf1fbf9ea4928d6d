"""A git smart-HTTP server for docsync's tests: `git http-backend` behind
Python's HTTP server on 127.0.0.1, answering HTTP/1.1 with a length (as
libgit2's client expects), plain or over TLS. It logs every request
(method, path, `Host`, `Authorization`) as a JSON line, so a test can count
what was sent and with which credentials, and prints its port when ready.

Arguments: the project root, the request log, `cert:key` or `-` (plain
http), `user:password` the server requires or `-`, and `redirect`
(git-upload-pack's POST answers 301 within the same origin, as a server
that moved the repository does) or `-`.

Started by tests/it/common/git_server.rs.
"""
import base64, http.server, json, os, ssl, subprocess, sys, urllib.parse

root, log, tls, auth, mode = sys.argv[1:6]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, headers, payload):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def backend(self):
        # A proxy request names the whole URL; its path is what counts.
        url = urllib.parse.urlsplit(self.path)
        body = b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization")
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": url.path, "host": self.headers.get("Host"),
                                "authorization": authorization}) + "\n")
        if auth != "-" and authorization != "Basic " + base64.b64encode(auth.encode()).decode():
            return self.answer(401, [("WWW-Authenticate", 'Basic realm="git"')], b"HTTP Basic: Access denied\n")
        if mode == "redirect" and self.command == "POST" and not url.path.startswith("/moved/"):
            return self.answer(301, [("Location", "/moved" + url.path)], b"")
        path = url.path[len("/moved"):] if url.path.startswith("/moved/") else url.path
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1",
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=url.query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                   HTTP_GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
        output = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = output.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.answer(status, headers, payload)

    do_GET = backend
    do_POST = backend

    def log_message(self, format, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if tls != "-":
    certificate, key = tls.split(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
