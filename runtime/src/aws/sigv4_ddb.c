/* sigv4_ddb.c: the per-request SigV4 fast path for DynamoDB requests.
 *
 * The request shape is fixed (POST /, no query, five or four known headers),
 * so the canonical request is streamed straight into SHA-256 without being
 * built, the string to sign fits a stack buffer, and the signing key (four
 * HMACs) is derived once a day per region/service/secret and kept in the
 * caller's dorm_sigv4_cache as HMAC's two SHA-256 states after the key's
 * ipad and opad blocks.
 *
 * Every digest of a request is OpenSSL's SHA256_Init/Update/Final on a
 * stack SHA256_CTX (the HMAC too, RFC 2104, starting from copies of the
 * cached states). OpenSSL 3 deprecates these for EVP, but its 3.0 EVP layer
 * frees and reallocates the provider context on every EVP_DigestInit_ex
 * (~550 instructions and two allocations each, four per request) and, with
 * the cold caches of a client that waits on the network between requests,
 * that machinery cost far more than the hashing (bench/notes/get-put.md, "Where a
 * get's and a put's microseconds go"). The SHA256_* functions run the same
 * assembly (SHA-NI where the CPU has it) without it. The key derivation, once
 * a day, stays on EVP (sigv4_crypto.c). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_*: see above; before any OpenSSL header */
#include "sigv4.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core_internal.h"
#include "sigv4_crypto.h"

dorm_status dorm__sigv4_cache_init(dorm_sigv4_cache *c) {
  memset(c, 0, sizeof *c);
  c->ready = true;
  return DORM_OK;
}

void dorm__sigv4_cache_cleanup(dorm_sigv4_cache *c) {
  if (c == NULL)
    return;
  OPENSSL_cleanse(c, sizeof *c);
}

/* Length of s if it is 1..max bytes of printable ASCII without spaces (and
 * without '/' when no_slash), else 0. One pass: this runs per request. */
static size_t checked_len(const char *s, size_t max, bool no_slash) {
  if (s == NULL)
    return 0;
  size_t n = 0;
  for (; s[n] != '\0'; n++) {
    unsigned char ch = (unsigned char)s[n];
    if (ch <= 0x20 || ch >= 0x7f || (no_slash && ch == '/') || n >= max)
      return 0;
  }
  return n;
}

/* Makes c->inner/outer the signing key's HMAC states, deriving and caching
 * a new key when the date, region, service or secret changed. */
static bool ready_key(dorm_sigv4_cache *c, const char *date8, const char *region, size_t rlen,
                      const char *service, size_t slen, const char *secret, size_t klen) {
  bool cacheable = klen <= sizeof c->secret;
  if (c->key_valid && memcmp(c->date, date8, 8) == 0 && strcmp(c->region, region) == 0 &&
      strcmp(c->service, service) == 0 && c->secret_len == klen &&
      CRYPTO_memcmp(c->secret, secret, klen) == 0)
    return true; /* same key */

  c->key_valid = false;
  unsigned char key[DORM_SIGV4_HASH_LEN];
  bool ok = dorm__sigv4_derive_key(secret, klen, date8, region, service, key);
  /* HMAC's pads: the 32-byte key (shorter than SHA-256's 64-byte block)
   * zero-padded to a block, XOR 0x36 and 0x5c, each hashed once here so
   * that a request's HMAC starts from copies of these two states. */
  unsigned char ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
  _Static_assert(sizeof key <= sizeof ipad, "an HMAC-SHA256 key longer than a block would be hashed first");
  for (size_t i = 0; i < sizeof ipad; i++) {
    unsigned char k = i < sizeof key ? key[i] : 0;
    ipad[i] = k ^ 0x36;
    opad[i] = k ^ 0x5c;
  }
  ok = ok && SHA256_Init(&c->inner) == 1 && SHA256_Update(&c->inner, ipad, sizeof ipad) == 1 &&
       SHA256_Init(&c->outer) == 1 && SHA256_Update(&c->outer, opad, sizeof opad) == 1;
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
  c->derivations++;
  if (!ok)
    return false;

  memcpy(c->date, date8, 8);
  c->date[8] = '\0';
  memcpy(c->region, region, rlen + 1);
  memcpy(c->service, service, slen + 1);
  char *p = c->scope;
  memcpy(p, date8, 8);
  p += 8;
  *p++ = '/';
  memcpy(p, region, rlen);
  p += rlen;
  *p++ = '/';
  memcpy(p, service, slen);
  p += slen;
  memcpy(p, "/aws4_request", 13);
  p += 13;
  c->scope_len = (size_t)(p - c->scope);
  OPENSSL_cleanse(c->secret, sizeof c->secret);
  if (cacheable) {
    memcpy(c->secret, secret, klen);
    c->secret_len = klen;
  }
  /* An uncacheable (over-long) secret signs this request with a fresh key
   * and derives again next time. */
  c->key_valid = cacheable;
  return true;
}

#define ADD(p, s, n) (memcpy((p), (s), (n)), (p) += (n))
#define ADDLIT(p, lit) ADD(p, lit, sizeof(lit) - 1)

/* The signed headers, in canonical order. */
#define SH_PLAIN "content-type;host;x-amz-date;x-amz-target"
#define SH_TOKEN "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"

_Static_assert(sizeof(DORM_SIGV4_ALGORITHM " Credential=") - 1 + DORM_SIGV4_MAX_ACCESS_KEY + 1 +
                       sizeof(((dorm_sigv4_cache *)0)->scope) + sizeof(", SignedHeaders=") - 1 +
                       sizeof(SH_TOKEN) - 1 + sizeof(", Signature=") - 1 +
                       2 * DORM_SIGV4_HASH_LEN + 1 <=
                   DORM_SIGV4_AUTH_CAP,
               "DORM_SIGV4_AUTH_CAP too small");

DORM__HOT
dorm_status dorm__sigv4_sign_dynamodb(dorm_sigv4_cache *c, const dorm_sigv4_credentials *creds,
                                     const char *region, const char *service, int64_t t,
                                     const dorm_sigv4_ddb_request *req,
                                     dorm_sigv4_ddb_headers *out, char *err, size_t errcap) {
  if (c == NULL || !c->ready || creds == NULL || req == NULL || out == NULL)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: missing cache, credentials, request or output");
  size_t aklen = checked_len(creds->access_key_id, DORM_SIGV4_MAX_ACCESS_KEY, true);
  size_t rlen = checked_len(region, DORM_SIGV4_MAX_REGION, true);
  size_t slen = checked_len(service, DORM_SIGV4_MAX_REGION, true);
  size_t hlen = checked_len(req->host, SIZE_MAX, false);
  size_t tlen = checked_len(req->target, SIZE_MAX, false);
  const char *token = creds->session_token;
  bool has_token = token != NULL && token[0] != '\0';
  size_t toklen = has_token ? checked_len(token, SIZE_MAX, false) : 0;
  const char *secret = creds->secret_access_key;
  if (aklen == 0)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: access key id must be 1..%d printable characters without spaces or '/'",
                DORM_SIGV4_MAX_ACCESS_KEY);
  if (secret == NULL || secret[0] == '\0')
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: empty secret access key");
  if (rlen == 0 || slen == 0)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: region and service must be 1..%d printable characters without spaces "
                "or '/'",
                DORM_SIGV4_MAX_REGION);
  if (hlen == 0 || tlen == 0)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: host and target must be non-empty printable ASCII without spaces");
  if (has_token && toklen == 0)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: session token must be printable ASCII without spaces");
  if (req->body_len > 0 && req->body == NULL)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: body_len without body");
  /* X-Amz-Date changes once a second: formatted again only then. */
  if (!c->amz_date_valid || c->amz_date_t != t) {
    c->amz_date_valid = false;
    if (!dorm__sigv4_format_time(t, c->amz_date))
      return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: time %lld is outside 1970..9999",
                  (long long)t);
    c->amz_date_t = t;
    c->amz_date_valid = true;
  }
  char *date_value = out->date_line + sizeof DORM_SIGV4_DATE_LINE_PREFIX - 1;
  memcpy(out->date_line, DORM_SIGV4_DATE_LINE_PREFIX, sizeof DORM_SIGV4_DATE_LINE_PREFIX - 1);
  memcpy(date_value, c->amz_date, DORM_SIGV4_AMZ_DATE_LEN + 1);
  out->amz_date = date_value;

  char date8[9];
  memcpy(date8, c->amz_date, 8);
  date8[8] = '\0';
  if (!ready_key(c, date8, region, rlen, service, slen, secret, strlen(secret)))
    goto crypto_failed;

  /* Payload hash, then the canonical request streamed into SHA-256. */
  unsigned char hash[DORM_SIGV4_HASH_LEN];
  char hex[2 * DORM_SIGV4_HASH_LEN + 1];
  SHA256_CTX md;
  if (SHA256_Init(&md) != 1 || SHA256_Update(&md, req->body_len ? req->body : "", req->body_len) != 1 ||
      SHA256_Final(hash, &md) != 1)
    goto crypto_failed;
  dorm__hex_encode(hash, sizeof hash, hex);

  char head[128];
  char *p = head;
  ADDLIT(p, "POST\n/\n\ncontent-type:" DORM_SIGV4_DDB_CONTENT_TYPE "\nhost:");
  char mid[64];
  char *q = mid;
  ADDLIT(q, "\nx-amz-date:");
  ADD(q, c->amz_date, DORM_SIGV4_AMZ_DATE_LEN);
  if (SHA256_Init(&md) != 1 || SHA256_Update(&md, head, (size_t)(p - head)) != 1 ||
      SHA256_Update(&md, req->host, hlen) != 1 || SHA256_Update(&md, mid, (size_t)(q - mid)) != 1 ||
      (has_token && (SHA256_Update(&md, "\nx-amz-security-token:", 22) != 1 ||
                     SHA256_Update(&md, token, toklen) != 1)) ||
      SHA256_Update(&md, "\nx-amz-target:", 14) != 1 || SHA256_Update(&md, req->target, tlen) != 1)
    goto crypto_failed;
  char tail[2 + sizeof SH_TOKEN + 2 * DORM_SIGV4_HASH_LEN];
  p = tail;
  ADDLIT(p, "\n\n");
  if (has_token)
    ADDLIT(p, SH_TOKEN);
  else
    ADDLIT(p, SH_PLAIN);
  *p++ = '\n';
  ADD(p, hex, 2 * DORM_SIGV4_HASH_LEN);
  if (SHA256_Update(&md, tail, (size_t)(p - tail)) != 1 || SHA256_Final(hash, &md) != 1)
    goto crypto_failed;
  dorm__hex_encode(hash, sizeof hash, hex);

  /* String to sign, MACed with the cached key: HMAC from copies of the
   * key's inner and outer states (see the top). */
  char sts[17 + DORM_SIGV4_AMZ_DATE_LEN + 1 + sizeof c->scope + 1 + 2 * DORM_SIGV4_HASH_LEN];
  p = sts;
  ADDLIT(p, DORM_SIGV4_ALGORITHM "\n");
  ADD(p, c->amz_date, DORM_SIGV4_AMZ_DATE_LEN);
  *p++ = '\n';
  ADD(p, c->scope, c->scope_len);
  *p++ = '\n';
  ADD(p, hex, 2 * DORM_SIGV4_HASH_LEN);
  md = c->inner;
  bool mac_ok = SHA256_Update(&md, sts, (size_t)(p - sts)) == 1 && SHA256_Final(hash, &md) == 1;
  md = c->outer;
  mac_ok = mac_ok && SHA256_Update(&md, hash, sizeof hash) == 1 && SHA256_Final(hash, &md) == 1;
  OPENSSL_cleanse(&md, sizeof md); /* it held key material */
  if (!mac_ok)
    goto crypto_failed;
  dorm__hex_encode(hash, sizeof hash, hex);

  /* Authorization: bounded by the length checks above (see DORM_SIGV4_AUTH_CAP). */
  p = out->auth_line;
  ADDLIT(p, DORM_SIGV4_AUTH_LINE_PREFIX DORM_SIGV4_ALGORITHM " Credential=");
  ADD(p, creds->access_key_id, aklen);
  *p++ = '/';
  ADD(p, c->scope, c->scope_len);
  ADDLIT(p, ", SignedHeaders=");
  if (has_token)
    ADDLIT(p, SH_TOKEN);
  else
    ADDLIT(p, SH_PLAIN);
  ADDLIT(p, ", Signature=");
  ADD(p, hex, 2 * DORM_SIGV4_HASH_LEN);
  *p = '\0';
  out->authorization = out->auth_line + sizeof DORM_SIGV4_AUTH_LINE_PREFIX - 1;
  return DORM_OK;

crypto_failed:
  c->key_valid = false;
  return dorm__fail(err, errcap, DORM_ERR_AUTH, "sigv4: SHA-256/HMAC failed in OpenSSL");
}
