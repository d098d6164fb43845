'use strict';
// serve.js — tiny static file server for the Pooldeck node pool image.
// No npm dependencies; works on Node >= 18 (Debian bookworm) and current Node.
//
//   POOLDECK_WWW  document root      (default /srv/www)
//   PORT          listen port        (default 3000)
//   HOST          listen address     (default 0.0.0.0)
//
// Every lookup goes to the filesystem (no cache), so files added to the
// document root are served at once. One access-log line per request on stdout.

const http = require('http');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(process.env.POOLDECK_WWW || '/srv/www');
const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || '0.0.0.0';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.yaml': 'application/yaml; charset=utf-8',
  '.yml': 'application/yaml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.bmp': 'image/bmp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n) => String(n).padStart(2, '0');

function clfDate(d) {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function logRequest(req, status, bytes) {
  const addr = (req.socket.remoteAddress || '-').replace(/^::ffff:/, '');
  const ref = req.headers.referer || '-';
  const ua = req.headers['user-agent'] || '-';
  process.stdout.write(
    `${addr} - - [${clfDate(new Date())}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ` +
    `${status} ${bytes} "${ref}" "${ua}"\n`);
}

function sendText(req, res, status, message, extraHeaders) {
  const body = `${status} ${message}\n`;
  res.writeHead(status, Object.assign({
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  }, extraHeaders || {}));
  res.end(req.method === 'HEAD' ? undefined : body);
  logRequest(req, status, req.method === 'HEAD' ? 0 : Buffer.byteLength(body));
}

function inside(root, p) {
  return p === root || p.startsWith(root + path.sep);
}

let realRoot = ROOT;

function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(req, res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const rawPath = (req.url || '/').split('?')[0].split('#')[0];
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch (_) {
    sendText(req, res, 400, 'Bad Request');
    return;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0')) {
    sendText(req, res, 400, 'Bad Request');
    return;
  }
  // Refuse traversal outright instead of silently clamping it to the root.
  if (decoded.split(/[\\/]/).includes('..')) {
    sendText(req, res, 403, 'Forbidden');
    return;
  }
  const target = path.join(ROOT, path.posix.normalize(decoded));
  if (!inside(ROOT, target)) {
    sendText(req, res, 403, 'Forbidden');
    return;
  }

  fs.stat(target, (err, st) => {
    if (err) {
      if (err.code === 'EACCES' || err.code === 'EPERM') sendText(req, res, 403, 'Forbidden');
      else sendText(req, res, 404, 'Not Found');
      return;
    }
    if (st.isDirectory()) {
      if (!rawPath.endsWith('/')) {
        const q = req.url.indexOf('?');
        const location = rawPath + '/' + (q >= 0 ? req.url.slice(q) : '');
        sendText(req, res, 301, 'Moved Permanently', { Location: location });
        return;
      }
      serveFile(req, res, path.join(target, 'index.html'));
      return;
    }
    serveFile(req, res, target);
  });
}

function serveFile(req, res, file) {
  // Resolve symlinks so a link inside the root cannot expose other files.
  fs.realpath(file, (rerr, real) => {
    if (rerr) {
      sendText(req, res, rerr.code === 'EACCES' ? 403 : 404, rerr.code === 'EACCES' ? 'Forbidden' : 'Not Found');
      return;
    }
    if (!inside(realRoot, real)) {
      sendText(req, res, 403, 'Forbidden');
      return;
    }
    fs.stat(real, (serr, st) => {
      if (serr || !st.isFile()) {
        sendText(req, res, 404, 'Not Found');
        return;
      }
      const headers = {
        'Content-Type': TYPES[path.extname(real).toLowerCase()] || 'application/octet-stream',
        'Last-Modified': st.mtime.toUTCString(),
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      };
      const since = Date.parse(req.headers['if-modified-since'] || '');
      if (!Number.isNaN(since) && Math.floor(st.mtimeMs / 1000) * 1000 <= since) {
        res.writeHead(304, headers);
        res.end();
        logRequest(req, 304, 0);
        return;
      }
      headers['Content-Length'] = st.size;
      if (req.method === 'HEAD') {
        res.writeHead(200, headers);
        res.end();
        logRequest(req, 200, 0);
        return;
      }
      const stream = fs.createReadStream(real);
      stream.on('open', () => {
        res.writeHead(200, headers);
        stream.pipe(res);
      });
      stream.on('error', (e) => {
        if (!res.headersSent) {
          sendText(req, res, e.code === 'EACCES' ? 403 : 404, e.code === 'EACCES' ? 'Forbidden' : 'Not Found');
        } else {
          res.destroy(e);
        }
      });
      res.on('finish', () => logRequest(req, 200, st.size));
    });
  });
}

const server = http.createServer((req, res) => {
  try {
    handle(req, res);
  } catch (e) {
    process.stderr.write(`serve.js: ${e && e.stack ? e.stack : e}\n`);
    if (!res.headersSent) sendText(req, res, 500, 'Internal Server Error');
    else res.destroy();
  }
});

server.on('clientError', (err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  else socket.destroy();
});

// Node opens its inspector (full control of this process) on SIGUSR1. A listener of our own
// keeps it closed, also on Node versions without --disable-sigusr1 (see pooldeck-node).
process.on('SIGUSR1', () => {
  process.stderr.write('serve.js: SIGUSR1 ignored (no inspector)\n');
});

// As PID 1, node gets no default signal handling: exit at once on stop.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    process.stderr.write(`serve.js: ${sig} received, exiting\n`);
    process.exit(0);
  });
}

fs.realpath(ROOT, (err, real) => {
  if (!err) realRoot = real;
  server.listen(PORT, HOST, () => {
    process.stderr.write(`serve.js: serving ${ROOT} on http://${HOST}:${PORT}/\n`);
  });
});
