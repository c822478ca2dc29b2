#include "fake_sts.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

static void note_bad(fake_sts *f, const char *what) {
  if (!f->bad[0]) snprintf(f->bad, sizeof f->bad, "%s", what);
}

static const char *secret_of(const char *akid, char *buf, size_t cap) {
  static const char *const known[][2] = {
      {"AKIDBASE", "SECRETBASE"}, {"AKIDENV", "SECRETENV"}, {"AKIDMETA", "SECRETMETA"}};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (strcmp(akid, known[i][0]) == 0) return known[i][1];
  if (strncmp(akid, "ASIAFAKE", 8) == 0) {
    snprintf(buf, cap, "SECRET%d", atoi(akid + 8));
    return buf;
  }
  return NULL;
}

/* Recomputes the SigV4 signature of r and compares (the check STS makes). */
static bool signature_ok(fake_sts *f, const fas_request *r) {
  char auth[1024], date[32], host[256], ctype[128], token[512];
  if (!fas_header(r, "Authorization", auth, sizeof auth)) return note_bad(f, "AssumeRole without Authorization"), false;
  if (!fas_header(r, "X-Amz-Date", date, sizeof date)) return note_bad(f, "AssumeRole without X-Amz-Date"), false;
  fas_header(r, "Host", host, sizeof host);
  fas_header(r, "Content-Type", ctype, sizeof ctype);
  const char *tok = fas_header(r, "X-Amz-Security-Token", token, sizeof token);
  char akid[64] = "", day[16] = "", region[32] = "", service[32] = "", sig[80] = "";
  if (sscanf(auth, "AWS4-HMAC-SHA256 Credential=%63[^/]/%15[^/]/%31[^/]/%31[^/]/aws4_request, SignedHeaders=%*[^,], Signature=%79s",
             akid, day, region, service, sig) != 5)
    return note_bad(f, "Authorization is not SigV4"), false;
  if (strcmp(service, "sts") != 0) return note_bad(f, "signed for a service other than sts"), false;
  if (f->expect_region[0] && strcmp(region, f->expect_region) != 0) return note_bad(f, "signed for the wrong region"), false;
  snprintf(f->last_signer, sizeof f->last_signer, "%s", akid);
  snprintf(f->last_region, sizeof f->last_region, "%s", region);
  char sbuf[32];
  const char *secret = secret_of(akid, sbuf, sizeof sbuf);
  if (!secret) return false; /* unknown key: InvalidClientTokenId */
  if (strncmp(akid, "ASIAFAKE", 8) == 0) {
    char want[32];
    snprintf(want, sizeof want, "TOKEN%d", atoi(akid + 8));
    if (!tok || strcmp(tok, want) != 0) return note_bad(f, "temporary keys without their session token"), false;
  }
  int64_t t;
  if (!dorm__sigv4_parse_time(date, &t)) return note_bad(f, "bad X-Amz-Date"), false;
  dorm_sigv4_header hs[2] = {{"Host", host}, {"Content-Type", ctype}};
  dorm_sigv4_request req = {"POST", "/", NULL, hs, 2, r->body, r->body_len};
  dorm_sigv4_config cfg = {region, "sts", {akid, secret, tok}, t, 0, 0};
  dorm_sigv4_result res;
  char err[256];
  if (dorm__sigv4_sign(&req, &cfg, &res, err, sizeof err) != 0) return note_bad(f, err), false;
  bool ok = dorm__sigv4_signature_equal(res.signature, sig);
  dorm__sigv4_result_free(&res);
  if (!ok) note_bad(f, "signature does not match");
  return ok;
}

static void error_answer(fake_sts *f, fas_response *resp, int status, const char *code, const char *msg) {
  (void)f;
  resp->status = status;
  snprintf(resp->body, sizeof resp->body,
           "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
           "  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n"
           "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n",
           code, msg);
}

static const char *message_for(const char *code, const char *role) {
  static char buf[512];
  if (strcmp(code, "AccessDenied") == 0)
    snprintf(buf, sizeof buf, "User: arn:aws:iam::123456789012:user/base is not authorized to perform: "
             "sts:AssumeRole on resource: %s", role);
  else if (strcmp(code, "ExpiredToken") == 0)
    snprintf(buf, sizeof buf, "The security token included in the request is expired");
  else if (strcmp(code, "InvalidIdentityToken") == 0)
    snprintf(buf, sizeof buf, "Couldn't retrieve verification key from your identity provider");
  else if (strcmp(code, "Throttling") == 0)
    snprintf(buf, sizeof buf, "Rate exceeded");
  else
    snprintf(buf, sizeof buf, "%s happened", code);
  return buf;
}

static void handler(void *user, const fas_request *r, fas_response *resp) {
  fake_sts *f = user;
  resp->delay_ms = f->delay_ms;
  char ctype[128] = "", action[64] = "", version[32] = "";
  if (strcmp(r->method, "POST") != 0 || strcmp(r->path, "/") != 0) {
    note_bad(f, "not a POST to /");
    return error_answer(f, resp, 400, "InvalidAction", "Could not find operation");
  }
  if (!fas_header(r, "Content-Type", ctype, sizeof ctype) ||
      strncmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
    note_bad(f, "body is not form-encoded");
    return error_answer(f, resp, 400, "InvalidParameterValue", "bad content type");
  }
  fas_param(r->body, "Action", action, sizeof action);
  if (!fas_param(r->body, "Version", version, sizeof version) || strcmp(version, "2011-06-15") != 0) {
    note_bad(f, "Version is not 2011-06-15");
    return error_answer(f, resp, 400, "InvalidParameterValue", "bad version");
  }
  snprintf(f->last_action, sizeof f->last_action, "%s", action);
  if (!fas_param(r->body, "RoleArn", f->last_role, sizeof f->last_role) ||
      !fas_param(r->body, "RoleSessionName", f->last_session, sizeof f->last_session)) {
    note_bad(f, "RoleArn or RoleSessionName missing");
    return error_answer(f, resp, 400, "ValidationError", "missing parameter");
  }
  if (!fas_param(r->body, "ExternalId", f->last_external_id, sizeof f->last_external_id)) f->last_external_id[0] = '\0';
  if (!fas_param(r->body, "DurationSeconds", f->last_duration, sizeof f->last_duration)) f->last_duration[0] = '\0';
  char auth[16];
  bool web = strcmp(action, "AssumeRoleWithWebIdentity") == 0;
  if (web) {
    if (fas_header(r, "Authorization", auth, sizeof auth)) note_bad(f, "AssumeRoleWithWebIdentity was signed");
    if (!fas_param(r->body, "WebIdentityToken", f->last_token, sizeof f->last_token)) {
      note_bad(f, "no WebIdentityToken");
      return error_answer(f, resp, 400, "ValidationError", "missing token");
    }
    if (f->last_external_id[0]) note_bad(f, "ExternalId sent with web identity");
  } else if (strcmp(action, "AssumeRole") == 0) {
    if (!signature_ok(f, r))
      return error_answer(f, resp, 403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided");
  } else {
    note_bad(f, "unknown Action");
    return error_answer(f, resp, 400, "InvalidAction", "Could not find operation");
  }
  if (f->errors_left != 0) {
    if (f->errors_left > 0) f->errors_left--;
    if (f->error_body[0]) {
      resp->status = f->error_status;
      snprintf(resp->body, sizeof resp->body, "%s", f->error_body);
      return;
    }
    return error_answer(f, resp, f->error_status, f->error_code, message_for(f->error_code, f->last_role));
  }
  int n = ++f->issued;
  time_t exp = time(NULL) + f->expires_in;
  if (n < 256) f->expiry[n] = (long long)exp;
  struct tm tm;
  gmtime_r(&exp, &tm);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  /* The documented answers (STS API reference, AssumeRole and
   * AssumeRoleWithWebIdentity examples), with our numbered keys. */
  const char *extra = web ? "    <SubjectFromWebIdentityToken>system:serviceaccount:app:dorm</SubjectFromWebIdentityToken>\n"
                            "    <Audience>sts.amazonaws.com</Audience>\n"
                            "    <Provider>oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE</Provider>\n"
                          : "    <PackedPolicySize>6</PackedPolicySize>\n";
  snprintf(resp->body, sizeof resp->body,
           "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
           "  <%sResult>\n%s"
           "    <AssumedRoleUser>\n"
           "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/%s</Arn>\n"
           "      <AssumedRoleId>ARO123EXAMPLE123:%s</AssumedRoleId>\n"
           "    </AssumedRoleUser>\n"
           "    <Credentials>\n"
           "      <AccessKeyId>ASIAFAKE%012d</AccessKeyId>\n"
           "      <SecretAccessKey>SECRET%d</SecretAccessKey>\n"
           "      <SessionToken>TOKEN%d</SessionToken>\n"
           "      <Expiration>%s</Expiration>\n"
           "    </Credentials>\n"
           "  </%sResult>\n"
           "  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n  </ResponseMetadata>\n"
           "</%sResponse>\n",
           action, action, extra, f->last_session, f->last_session, n, n, n, when, action, action);
}

bool fake_sts_start(fake_sts *f) {
  memset(f, 0, sizeof *f);
  f->expires_in = 3600;
  f->error_status = 403;
  snprintf(f->error_code, sizeof f->error_code, "AccessDenied");
  f->srv = fas_start(handler, f);
  return f->srv != NULL;
}

void fake_sts_stop(fake_sts *f) {
  fas_stop(f->srv);
  f->srv = NULL;
}
