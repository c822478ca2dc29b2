/* kms: GenerateDataKey and Decrypt (see kms.h).
 *
 * KMS is an AWS JSON 1.1 service: the same client plumbing as DynamoDB
 * (credentials, keep-alive transport, retry policy and quota, AWS error
 * bodies), but another endpoint, target prefix, content type and signing
 * service, so requests are signed with the general signer rather than
 * DynamoDB's fast path. KMS is called once per data key, not per item. */
#include "kms.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_internal.h"

#define TARGET_PREFIX "TrentService."
#define CONTENT_TYPE "application/x-amz-json-1.1"

bool dorm__kms_endpoint(const dorm_client *c, const char *endpoint_url, char *out, size_t cap) {
  const char *env = getenv("AWS_ENDPOINT_URL_KMS");
  const char *url = endpoint_url && *endpoint_url ? endpoint_url : env && *env ? env : NULL;
  int n;
  if (url) {
    n = snprintf(out, cap, "%s", url);
  } else {
    const char *region = dorm_client_region(c);
    if (!region || !*region) return false;
    n = snprintf(out, cap, "https://kms.%s.amazonaws.com/", region);
  }
  return n > 0 && (size_t)n < cap;
}

/* "http://127.0.0.1:4566/x" -> host "127.0.0.1:4566", path "/x" ("/" when none). */
static bool split_url(const char *url, char *host, size_t hcap, char *path, size_t pcap) {
  const char *p = strstr(url, "://");
  if (!p) return false;
  p += 3;
  size_t hl = strcspn(p, "/?#");
  if (hl == 0 || hl >= hcap) return false;
  memcpy(host, p, hl);
  host[hl] = '\0';
  const char *rest = p + hl;
  size_t pl = strcspn(rest, "?#");
  if (pl == 0) return snprintf(path, pcap, "/") > 0;
  if (pl >= pcap) return false;
  memcpy(path, rest, pl);
  path[pl] = '\0';
  return true;
}

/* KMS's own failures, named for what the caller must do; the rest as any
 * AWS error (access, throttling, service). */
static dorm_status kms_status(const char *code, long http) {
  if (!strcmp(code, "InvalidCiphertextException") || !strcmp(code, "IncorrectKeyException"))
    return DORM_ERR_BAD_ENVELOPE; /* the stored data key is not one of this key's */
  if (!strcmp(code, "NotFoundException") || !strcmp(code, "DisabledException") ||
      !strcmp(code, "KMSInvalidStateException") || !strcmp(code, "InvalidKeyUsageException") ||
      !strcmp(code, "KeyUnavailableException"))
    return DORM_ERR_CONFIG;
  return dorm__aws_error_status(code, http);
}

/* One KMS operation with the client's retries. *resp is the transport's
 * buffer (valid until the client's next request). */
static dorm_status kms_call(dorm_client *c, const char *endpoint, const char *op, const char *body, size_t body_len,
                            char **resp, size_t *resp_len) {
  char what[64];
  snprintf(what, sizeof what, "kms %s", op);
  dorm__client_clear_error(c);
  char host[256], path[512], target[64], url[1024];
  if (!split_url(endpoint, host, sizeof host, path, sizeof path))
    return dorm__client_fail(c, DORM_ERR_CONFIG, what, "endpoint '%.200s' is not a URL", endpoint);
  snprintf(url, sizeof url, "%.*s%s%s", (int)(strstr(endpoint, "://") + 3 - endpoint), endpoint, host, path);
  snprintf(target, sizeof target, TARGET_PREFIX "%s", op);
  const char *region = dorm_client_region(c);
  if (!region || !*region) return dorm__client_fail(c, DORM_ERR_CONFIG, what, "no region to sign for");

  dorm_retry_policy *policy = dorm__client_retry_policy(c);
  dorm_retry_state rs;
  dorm__retry_begin(&rs);
  for (;;) {
    char err[1024] = "";
    dorm_credentials cr;
    dorm_status st = dorm__client_credentials(c, &cr);
    if (st != DORM_OK) return st; /* reported by the client */
    dorm_sigv4_header hs[3] = {{"Content-Type", CONTENT_TYPE}, {"Host", host}, {"X-Amz-Target", target}};
    dorm_sigv4_request req = {"POST", path, NULL, hs, 3, body, body_len};
    dorm_sigv4_config cfg = {region, "kms", {cr.access_key_id, cr.secret_access_key, cr.session_token},
                             (int64_t)time(NULL), DORM_SIGV4_NORMALIZE_PATH, 0};
    dorm_sigv4_result sig;
    st = dorm__sigv4_sign(&req, &cfg, &sig, err, sizeof err);
    if (st != DORM_OK) return dorm__client_fail(c, st, what, "signing: %s", err);
    char lines[7][2200];
    const char *headers[7];
    size_t nh = 0;
    snprintf(lines[nh], sizeof lines[nh], "Content-Type: " CONTENT_TYPE);
    headers[nh] = lines[nh], nh++;
    snprintf(lines[nh], sizeof lines[nh], "Host: %s", host);
    headers[nh] = lines[nh], nh++;
    snprintf(lines[nh], sizeof lines[nh], "X-Amz-Target: %s", target);
    headers[nh] = lines[nh], nh++;
    for (size_t i = 0; i < sig.header_count && nh < 7; i++) {
      snprintf(lines[nh], sizeof lines[nh], "%s: %s", sig.headers[i].name, sig.headers[i].value);
      headers[nh] = lines[nh], nh++;
    }
    dorm__sigv4_result_free(&sig);

    dorm_http_response hr;
    st = dorm__http_post(dorm__client_http(c), url, headers, nh, body, body_len, &hr, err, sizeof err);
    dorm_retry_kind kind;
    dorm_status result;
    if (st != DORM_OK) {
      kind = dorm__retry_classify_status(st);
      result = st;
      dorm__client_set_error_code(c, "", hr.request_id);
    } else if (hr.status == 200) {
      dorm__retry_succeeded(policy, &rs);
      dorm__client_set_error_code(c, "", hr.request_id);
      *resp = hr.body;
      *resp_len = hr.body_len;
      return DORM_OK;
    } else {
      dorm_aws_error ae;
      dorm__aws_error_parse(hr.body, hr.body_len, &ae);
      dorm__client_set_error_code(c, ae.code, hr.request_id);
      kind = dorm__retry_classify(ae.code, hr.status, 0);
      result = kms_status(ae.code, hr.status);
      if (ae.code[0])
        snprintf(err, sizeof err, "%.95s%s%.380s (HTTP %ld)", ae.code, ae.message[0] ? ": " : "", ae.message,
                 hr.status);
      else
        snprintf(err, sizeof err, "HTTP %ld from %.200s without an AWS error body: that endpoint may not be KMS",
                 hr.status, url);
    }
    long delay = 0;
    char why[128] = "";
    if (dorm__retry_next(policy, &rs, kind, &delay, why, sizeof why)) {
      dorm__client_sleep_ms(c, delay);
      continue;
    }
    return dorm__client_fail(c, result, what, "%s (%d attempt%s; %s)", err, rs.attempts, rs.attempts == 1 ? "" : "s",
                             why);
  }
}

/* Decodes the base64 member name of a KMS answer into out (cap bytes). */
static bool b64_member(const cJSON *root, const char *name, uint8_t *out, size_t cap, size_t *len) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, name);
  if (!cJSON_IsString(m)) return false;
  size_t n = strlen(m->valuestring);
  if (dorm__b64_decoded_max(n) > cap) return false;
  return dorm__b64_decode(m->valuestring, n, out, len, DORM_B64_STD, NULL);
}

/* The answer's 32-byte Plaintext into key (decoded in a scratch buffer that
 * is wiped: base64 of a wrong length may decode to more). */
static bool plaintext_key(const cJSON *root, uint8_t key[DORM__KMS_DATA_KEY_LEN]) {
  uint8_t tmp[64];
  size_t n = 0;
  bool ok = b64_member(root, "Plaintext", tmp, sizeof tmp, &n) && n == DORM__KMS_DATA_KEY_LEN;
  if (ok) memcpy(key, tmp, DORM__KMS_DATA_KEY_LEN);
  OPENSSL_cleanse(tmp, sizeof tmp);
  return ok;
}

/* Wipes the text that carried a plaintext key: the response and the tree's copy. */
static void wipe_answer(char *resp, size_t len, cJSON *root) {
  if (root) {
    cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "Plaintext");
    if (cJSON_IsString(p)) OPENSSL_cleanse(p->valuestring, strlen(p->valuestring));
    dorm__json_free(root);
  }
  OPENSSL_cleanse(resp, len);
}

/* The JSON body {"KeyId":..., <extra member>} */
static bool request_body(dorm__buf *b, const char *key_id, const char *member, const char *value, size_t vlen,
                         bool b64) {
  dorm__buf_puts(b, "{\"KeyId\":\"");
  dorm__json_escape(b, key_id, strlen(key_id), DORM_JSON_ESC_STRICT, NULL);
  dorm__buf_puts(b, "\",\"");
  dorm__buf_puts(b, member);
  dorm__buf_puts(b, "\":\"");
  if (b64) {
    size_t el = dorm__b64_encoded_len(vlen);
    if (dorm__buf_reserve(b, el)) {
      dorm__b64_encode((const uint8_t *)value, vlen, b->p + b->len, DORM_B64_STD);
      b->len += el;
      b->p[b->len] = '\0';
    }
  } else {
    dorm__buf_put(b, value, vlen);
  }
  dorm__buf_puts(b, "\"}");
  return dorm__buf_ok(b);
}

dorm_status dorm__kms_generate_data_key(dorm_client *c, const char *endpoint, const char *key_id,
                                        uint8_t key[DORM__KMS_DATA_KEY_LEN], dorm_arena *a, dorm_str *edk) {
  const char *what = "kms GenerateDataKey";
  if (!key_id || !*key_id)
    return dorm__client_fail(c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, what, "no KMS key id configured");
  dorm__buf b = DORM__BUF_INIT;
  if (!request_body(&b, key_id, "KeySpec", "AES_256", 7, false)) {
    dorm__buf_free(&b);
    return dorm__client_fail(c, DORM_ERR_NO_MEMORY, what, "out of memory");
  }
  char *resp = NULL;
  size_t len = 0;
  dorm_status st = kms_call(c, endpoint, "GenerateDataKey", b.p, b.len, &resp, &len);
  dorm__buf_free(&b);
  if (st != DORM_OK) return st;
  cJSON *root = NULL;
  char err[256];
  uint8_t blob[6144];
  size_t blen = 0;
  if (dorm__json_parse(resp, len, &root, err, sizeof err) != DORM_OK) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, what, "answer is not JSON: %s", err);
  } else if (!plaintext_key(root, key)) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, what, "answer has no 32-byte Plaintext data key");
  } else if (!b64_member(root, "CiphertextBlob", blob, sizeof blob, &blen) || blen == 0) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, what, "answer has no CiphertextBlob");
  } else if (!(edk->ptr = dorm_arena_memdup(a, blob, blen))) {
    st = dorm__client_fail(c, DORM_ERR_NO_MEMORY, what, "out of memory");
  } else {
    edk->len = blen;
  }
  wipe_answer(resp, len, root);
  if (st != DORM_OK) OPENSSL_cleanse(key, DORM__KMS_DATA_KEY_LEN);
  return st;
}

dorm_status dorm__kms_decrypt(dorm_client *c, const char *endpoint, const char *key_id, dorm_str edk,
                              uint8_t key[DORM__KMS_DATA_KEY_LEN]) {
  const char *what = "kms Decrypt";
  if (!key_id || !*key_id)
    return dorm__client_fail(c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, what, "no KMS key id configured");
  dorm__buf b = DORM__BUF_INIT;
  if (!request_body(&b, key_id, "CiphertextBlob", edk.ptr, edk.len, true)) {
    dorm__buf_free(&b);
    return dorm__client_fail(c, DORM_ERR_NO_MEMORY, what, "out of memory");
  }
  char *resp = NULL;
  size_t len = 0;
  dorm_status st = kms_call(c, endpoint, "Decrypt", b.p, b.len, &resp, &len);
  dorm__buf_free(&b);
  if (st != DORM_OK) return st;
  cJSON *root = NULL;
  char err[256];
  if (dorm__json_parse(resp, len, &root, err, sizeof err) != DORM_OK)
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, what, "answer is not JSON: %s", err);
  else if (!plaintext_key(root, key))
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, what, "answer has no 32-byte Plaintext data key");
  wipe_answer(resp, len, root);
  if (st != DORM_OK) OPENSSL_cleanse(key, DORM__KMS_DATA_KEY_LEN);
  return st;
}
