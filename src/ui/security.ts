/**
 * Response headers of every /ui answer: a Content-Security-Policy that allows no script at all
 * (the job page alone may run Countersign's own /ui/assets/job.js and fetch its progress),
 * styles and images only from Countersign itself, forms posting only back to it, and no framing
 * (clickjacking); pages are never cached (they carry CSRF tokens and private data).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** The job page's policy: the same, plus scripts and fetches from Countersign itself. */
export const JOB_PAGE_POLICY = CONTENT_SECURITY_POLICY.replace(
  "script-src 'none'",
  "script-src 'self'; connect-src 'self'"
);

export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

/** Whether this request came over TLS to this process (cookies are then `Secure`, `__Host-`). */
export function overTls(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}
