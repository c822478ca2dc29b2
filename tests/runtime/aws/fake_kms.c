#include "fake_kms.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "sigv4.h"

static void note_bad(fake_kms *f, const char *what) {
  if (!f->bad[0]) snprintf(f->bad, sizeof f->bad, "%s", what);
}

static void error_answer(fas_response *resp, int status, const char *code, const char *msg) {
  resp->status = status;
  snprintf(resp->content_type, sizeof resp->content_type, "application/x-amz-json-1.1");
  snprintf(resp->body, sizeof resp->body, "{\"__type\":\"%s\",\"message\":\"%s\"}", code, msg);
}

/* Recomputes the SigV4 signature over the headers the request says it
 * signed, which must include content-type, host, x-amz-date, x-amz-target. */
static bool signature_ok(fake_kms *f, const fas_request *r) {
  char auth[1024], date[32], token[512];
  if (!fas_header(r, "Authorization", auth, sizeof auth)) return note_bad(f, "no Authorization"), false;
  if (!fas_header(r, "X-Amz-Date", date, sizeof date)) return note_bad(f, "no X-Amz-Date"), false;
  const char *tok = fas_header(r, "X-Amz-Security-Token", token, sizeof token);
  char akid[64] = "", day[16] = "", region[32] = "", service[32] = "", signed_h[256] = "", sig[80] = "";
  if (sscanf(auth,
             "AWS4-HMAC-SHA256 Credential=%63[^/]/%15[^/]/%31[^/]/%31[^/]/aws4_request, SignedHeaders=%255[^,], "
             "Signature=%79s",
             akid, day, region, service, signed_h, sig) != 6)
    return note_bad(f, "Authorization is not SigV4"), false;
  if (strcmp(service, "kms") != 0) return note_bad(f, "signed for a service other than kms"), false;
  if (strcmp(akid, f->akid) != 0) return false; /* UnrecognizedClientException */
  static const char *const must[] = {"content-type", "host", "x-amz-date", "x-amz-target"};
  for (size_t i = 0; i < 4; i++)
    if (!strstr(signed_h, must[i])) return note_bad(f, "a required header is not signed"), false;
  dorm_sigv4_header hs[8];
  char vals[8][512];
  size_t n = 0;
  char list[256];
  snprintf(list, sizeof list, "%s", signed_h);
  for (char *save = NULL, *h = strtok_r(list, ";", &save); h && n < 8; h = strtok_r(NULL, ";", &save)) {
    if (!strcmp(h, "x-amz-date") || !strcmp(h, "x-amz-security-token")) continue; /* the signer adds them */
    if (!fas_header(r, h, vals[n], sizeof vals[n])) return note_bad(f, "a signed header is missing"), false;
    hs[n].name = h;
    hs[n].value = vals[n];
    n++;
  }
  int64_t t;
  if (!dorm__sigv4_parse_time(date, &t)) return note_bad(f, "bad X-Amz-Date"), false;
  dorm_sigv4_request req = {"POST", "/", NULL, hs, n, r->body, r->body_len};
  dorm_sigv4_config cfg = {region, "kms", {akid, f->secret, tok}, t, 0, 0};
  dorm_sigv4_result res;
  char err[256];
  if (dorm__sigv4_sign(&req, &cfg, &res, err, sizeof err) != 0) return note_bad(f, err), false;
  bool ok = dorm__sigv4_signature_equal(res.signature, sig) && strcmp(res.signed_headers, signed_h) == 0;
  dorm__sigv4_result_free(&res);
  if (!ok) note_bad(f, "signature does not match");
  return ok;
}

static int key_index(const char *id) {
  if (!id) return -1;
  if (!strcmp(id, FAKE_KMS_KEY_ARN) || !strcmp(id, "alias/test") ||
      !strcmp(id, "1234abcd-12ab-34cd-56ef-1234567890ab") ||
      !strcmp(id, "arn:aws:kms:us-east-1:111122223333:alias/test"))
    return 0;
  if (!strcmp(id, FAKE_KMS_KEY_ARN2) || !strcmp(id, "alias/other")) return 1;
  return -1;
}

static bool gcm(bool enc, const unsigned char *key, const unsigned char *iv, const unsigned char *in, int n,
                unsigned char *out, unsigned char *tag) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int l = 0;
  bool ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
            EVP_CipherUpdate(c, out, &l, in, n) == 1 &&
            (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
            EVP_CipherFinal_ex(c, out + l, &l) == 1 &&
            (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
  EVP_CIPHER_CTX_free(c);
  return ok;
}

#define BLOB_LEN (4 + 1 + 12 + 32 + 16)

static void b64(const unsigned char *in, size_t n, char *out) { out[dorm__b64_encode(in, n, out, DORM_B64_STD)] = 0; }

static void generate(fake_kms *f, const cJSON *body, fas_response *resp) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "KeyId");
  const cJSON *spec = cJSON_GetObjectItemCaseSensitive(body, "KeySpec");
  if (!cJSON_IsString(id)) return error_answer(resp, 400, "ValidationException", "KeyId is required");
  if (!cJSON_IsString(spec) || strcmp(spec->valuestring, "AES_256") != 0)
    return note_bad(f, "GenerateDataKey without KeySpec AES_256"),
           error_answer(resp, 400, "ValidationException", "KeySpec must be AES_256 or AES_128");
  int k = key_index(id->valuestring);
  if (k < 0) return error_answer(resp, 400, "NotFoundException", "Key not found");
  if (f->disabled[k]) return error_answer(resp, 400, "DisabledException", "Key is disabled");
  unsigned char dk[32], blob[BLOB_LEN];
  RAND_bytes(dk, 32);
  memcpy(blob, "FKM1", 4);
  blob[4] = (unsigned char)k;
  RAND_bytes(blob + 5, 12);
  gcm(true, f->master[k], blob + 5, dk, 32, blob + 17, blob + 49);
  char dk64[64], blob64[128];
  b64(dk, 32, dk64);
  b64(blob, BLOB_LEN, blob64);
  snprintf(resp->body, sizeof resp->body, "{\"CiphertextBlob\":\"%s\",\"KeyId\":\"%s\",\"Plaintext\":\"%s\"}", blob64,
           k ? FAKE_KMS_KEY_ARN2 : FAKE_KMS_KEY_ARN, dk64);
  f->generate++;
}

static void decrypt(fake_kms *f, const cJSON *body, fas_response *resp) {
  const cJSON *blob64 = cJSON_GetObjectItemCaseSensitive(body, "CiphertextBlob");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "KeyId");
  if (!cJSON_IsString(blob64)) return error_answer(resp, 400, "ValidationException", "CiphertextBlob is required");
  unsigned char blob[512], dk[32];
  size_t n = 0, len = strlen(blob64->valuestring);
  if (dorm__b64_decoded_max(len) > sizeof blob ||
      !dorm__b64_decode(blob64->valuestring, len, blob, &n, DORM_B64_STD, NULL))
    return error_answer(resp, 400, "ValidationException", "CiphertextBlob is not base64");
  if (n != BLOB_LEN || memcmp(blob, "FKM1", 4) != 0 || blob[4] > 1 ||
      !gcm(false, f->master[blob[4]], blob + 5, blob + 17, 32, dk, blob + 49))
    return error_answer(resp, 400, "InvalidCiphertextException", "");
  int k = blob[4];
  if (cJSON_IsString(id)) {
    int want = key_index(id->valuestring);
    if (want < 0) return error_answer(resp, 400, "NotFoundException", "Key not found");
    if (want != k)
      return error_answer(resp, 400, "IncorrectKeyException",
                          "The key ID in the request does not identify a CMK that can perform this operation.");
  }
  if (f->disabled[k]) return error_answer(resp, 400, "DisabledException", "Key is disabled");
  char dk64[64];
  b64(dk, 32, dk64);
  snprintf(resp->body, sizeof resp->body,
           "{\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"KeyId\":\"%s\",\"Plaintext\":\"%s\"}",
           k ? FAKE_KMS_KEY_ARN2 : FAKE_KMS_KEY_ARN, dk64);
  f->decrypt++;
}

static void handle(void *user, const fas_request *r, fas_response *resp) {
  fake_kms *f = user;
  f->requests++;
  snprintf(resp->content_type, sizeof resp->content_type, "application/x-amz-json-1.1");
  char ctype[128] = "", target[128] = "";
  fas_header(r, "Content-Type", ctype, sizeof ctype);
  fas_header(r, "X-Amz-Target", target, sizeof target);
  if (strcmp(r->method, "POST") != 0 || strcmp(r->path, "/") != 0)
    return note_bad(f, "not POST /"), error_answer(resp, 404, "UnknownOperationException", "");
  if (strcmp(ctype, "application/x-amz-json-1.1") != 0)
    return note_bad(f, "Content-Type is not application/x-amz-json-1.1"),
           error_answer(resp, 400, "SerializationException", "");
  if (!signature_ok(f, r))
    return error_answer(resp, 400, "InvalidSignatureException",
                        "The request signature we calculated does not match the signature you provided.");
  if (f->fail_count > 0) {
    f->fail_count--;
    return error_answer(resp, f->fail_status ? f->fail_status : 400, f->fail_code, "injected");
  }
  cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
  if (!cJSON_IsObject(body)) {
    cJSON_Delete(body);
    return note_bad(f, "body is not a JSON object"), error_answer(resp, 400, "SerializationException", "");
  }
  if (!strcmp(target, "TrentService.GenerateDataKey")) generate(f, body, resp);
  else if (!strcmp(target, "TrentService.Decrypt")) decrypt(f, body, resp);
  else note_bad(f, "unknown X-Amz-Target"), error_answer(resp, 400, "UnknownOperationException", "");
  cJSON_Delete(body);
}

bool fake_kms_start(fake_kms *f) {
  RAND_bytes(f->master[0], 32);
  RAND_bytes(f->master[1], 32);
  if (!f->fail_code[0]) snprintf(f->fail_code, sizeof f->fail_code, "ThrottlingException");
  if (!f->akid[0]) snprintf(f->akid, sizeof f->akid, "AKIDKMS");
  if (!f->secret[0]) snprintf(f->secret, sizeof f->secret, "SECRETKMS");
  f->srv = fas_start(handle, f);
  return f->srv != NULL;
}

void fake_kms_stop(fake_kms *f) {
  if (f->srv) fas_stop(f->srv);
  f->srv = NULL;
}
