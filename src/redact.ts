/**
 * What may reach a terminal, a log line or an HTTP answer: text with credentials replaced and
 * control characters escaped. Every boundary that prints or returns text derived from data,
 * settings or other services' answers goes through here (the CLI's stderr lines, the table
 * output, problem details of the Functions, run errors, the pending store's location).
 */

/** What a credential is replaced with. */
export const REDACTED = "REDACTED";

/**
 * Shared access signature query parameters (service and account SAS, user delegation SAS). The
 * signature `sig` is the secret; the others are redacted too: together they describe a grant.
 */
const SAS_PARAMETERS = [
  "sig",
  "sv",
  "ss",
  "srt",
  "sp",
  "se",
  "st",
  "spr",
  "sip",
  "si",
  "sr",
  "sdd",
  "skoid",
  "sktid",
  "skt",
  "ske",
  "sks",
  "skv",
  "saoid",
  "suoid",
  "scid",
  "ses",
];

/** Query parameters that carry a secret (besides the SAS ones). */
const SECRET_QUERY_PARAMETERS = [
  "code", // Azure Functions keys (?code=...)
  "key",
  "client_secret",
  "client_assertion",
  "access_token",
  "refresh_token",
  "id_token",
  "token",
  "password",
  "secret",
  "api_key",
  "apikey",
];

/** Names of key=value pairs, key: value and "key": "value" that carry a secret. */
const SECRET_KEYS = [
  "client_secret",
  "clientsecret",
  "client_assertion",
  "access_token",
  "accesstoken",
  "refresh_token",
  "id_token",
  "token",
  "password",
  "passwd",
  "pwd",
  "secret",
  "api_key",
  "apikey",
  "accountkey",
  "sharedaccesskey",
  "sharedaccesssignature",
  "x-identity-header",
  "identity_header",
  "azure_client_secret",
];

// A SAS parameter only after ? or & (so prose such as "se=" in a sentence is left alone), except
// the signature itself, which is redacted wherever it appears.
const QUERY = new RegExp(
  `([?&](?:${[...SAS_PARAMETERS, ...SECRET_QUERY_PARAMETERS].join("|")})=)[^&#\\s"'<>]*?(?=$|[&#\\s"'<>]|:\\s)`,
  "gi",
);
// A signature is base64, percent-encoded: it never holds a colon (a message's "sig=...: 403").
const SIGNATURE = /(\bsig=)[^&#:;,\s"'<>]*/gi;
// key=value (connection strings "AccountKey=...;"), key: value and "key":"value".
const SECRET_PAIR = new RegExp(
  `(\\b(?:${SECRET_KEYS.join("|")})\\b["']?\\s*[=:]\\s*["']?)[^&#;,\\s"'<>]+`,
  "gi",
);
// scheme://user:password@host and scheme://token@host.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s"'<>]+@/gi;
// Authorization header values; at least 16 characters, so prose ("bearer tokens") is left alone.
const BEARER = /(\b(?:[Bb]earer|Basic)\s+)[A-Za-z0-9\-._~+/]{16,}=*/g;
// JSON web tokens (access tokens, client assertions): three base64url parts, the first a header.
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

/** The text with credentials (SAS signatures, URL passwords, tokens, client secrets) replaced. */
export function redact(text: string): string {
  return text
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(QUERY, `$1${REDACTED}`)
    .replace(SIGNATURE, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(SECRET_PAIR, `$1${REDACTED}`);
}

/** A URL as it may be shown: no user information, SAS and secret query values redacted. */
export function redactUrl(url: string | URL): string {
  return redact(String(url));
}

// C0 controls (NUL, BEL, BS, ESC, CR, LF, TAB...), DEL, C1 controls, and the invisible characters
// that reorder or break lines on a terminal (bidirectional overrides and isolates, line and
// paragraph separators, zero-width no-break space).
const CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** The text with control characters written as escapes (ESC → \x1b, LF → \n, U+202E → \u202e). */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    switch (c) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
    }
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Longest message kept; a service that answers with a whole page does not flood a log. */
export const MAX_MESSAGE_CHARS = 2000;

/**
 * One line that is safe to print: credentials redacted, runs of white space around line breaks
 * joined, every remaining control character escaped, and at most MAX_MESSAGE_CHARS long.
 */
export function safeLine(text: string): string {
  const line = escapeControl(redact(text.replace(/[ \t]*\r?\n[ \t]*/g, " ").trim()));
  return line.length > MAX_MESSAGE_CHARS
    ? `${line.slice(0, MAX_MESSAGE_CHARS)}... (${line.length - MAX_MESSAGE_CHARS} more characters)`
    : line;
}
