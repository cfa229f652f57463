/**
 * Credentials in a URL's query or fragment (`?api_key=`, `access_token`, `X-Amz-Signature`, an Azure
 * SAS `sig`): the config refuses such URLs, since URLs get logged, and a refused value is quoted with
 * their values masked. Names are judged as a server decodes them (`api_ke%79`, `api_key[]`).
 */

/**
 * A piece of text from one separator to the next. A value may run on past `;` and `?` (servers differ
 * on splitting there), not past `&`, `#` or white space; no piece holds a separator, so one pass over
 * a long value is linear.
 */
const URL_PIECE = /([?&;#\s])([^?&;#\s]*)/g;
/**
 * One word of a parameter's name (split at punctuation and camelCase) that says it carries a
 * credential: ending in key, token, secret, password, signature or credential (`apikey`,
 * `accesstoken`), or one of the short words for one. `api-version`, `oauth`, `clientid` are not.
 */
const CREDENTIAL_WORD = /^(?:.*(key|token|secret|password|passwd|signature|credential)s?|(auth|sig|pass|pwd|jwt|sas|hmac))$/i;

/** A name shown as it is where its value is masked: anything else could be (or hold) the secret. */
const PLAIN_NAME = /^[A-Za-z][\w.[\]-]{0,39}$/;

/** The credential word a parameter's name holds, lower case (`key` for `apiKey`), or undefined. */
function credentialWord(name: string): string | undefined {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // Not valid percent-encoding: judged as written.
  }
  for (const word of decoded.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/)) {
    const match = CREDENTIAL_WORD.exec(word);
    if (match) return (match[1] ?? match[2])!.toLowerCase();
  }
  return undefined;
}

/**
 * The text with every credential parameter's value masked (`?sig=***`) up to the next `&`, `#` or
 * white space, and the credential word of the first one.
 */
export function urlCredentials(text: string): { masked: string; first?: string } {
  let first: string | undefined;
  let masking = false;
  const masked = text.replace(URL_PIECE, (whole, separator: string, piece: string) => {
    if (separator !== ';' && separator !== '?') masking = false;
    if (masking) return '';
    const equals = piece.indexOf('=');
    const word = equals < 0 ? undefined : credentialWord(piece.slice(0, equals));
    if (word === undefined) return whole;
    first ??= word;
    masking = true;
    const name = piece.slice(0, equals);
    return `${separator}${PLAIN_NAME.test(name) ? name : '***'}=***`;
  });
  return first === undefined ? { masked } : { masked, first };
}
