/**
 * The dashboard's Content-Security-Policy: scripts, styles, fonts and connections only from the
 * dashboard itself (socket.io's WebSocket included: 'self' covers ws:/wss: to the same host), no
 * inline or eval'd script, no plugins, no framing, no <base>, forms only to itself.
 *
 * The one allowance: inline styles. xterm.js creates <style> elements at run time (theme,
 * cell dimensions) and has no nonce option, so `style-src` needs 'unsafe-inline'; a style can
 * restyle the page but cannot run code or send data anywhere (img/font/connect stay 'self').
 * `data:` images: the favicon is an inline SVG.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
