/* gen_infra: the CloudFormation template (gen_infra.h says what is in it).
 *
 * Built as a cJSON tree and printed once: members keep the order they are
 * added in, so the text is deterministic. Logical ids come from the
 * DynamoDB table names (dorm_streamer_requests -> DormStreamerRequestsTable),
 * which are unique in a schema.
 *
 * The streamer's own tables are written as schemas/streamer.dorm declares
 * them (tests/streamer/lambda.test.mjs compares them with the tables the
 * runtime creates from that schema). The alarms name metrics of the EMF
 * lines of runtime/src/streamer/lambda.c (the same test reads them from a
 * real run). */
#include "gen_infra.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define EMF_NAMESPACE "DORM/Streamer"

/* ---- small builders ---- */

static cJSON *str(const char *s) { return cJSON_CreateString(s); }

static cJSON *ref(const char *name) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "Ref", name);
  return o;
}

static cJSON *getatt(const char *res, const char *attr) {
  cJSON *o = cJSON_CreateObject();
  cJSON *a = cJSON_AddArrayToObject(o, "Fn::GetAtt");
  cJSON_AddItemToArray(a, str(res));
  cJSON_AddItemToArray(a, str(attr));
  return o;
}

static cJSON *sub(const char *text) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "Fn::Sub", text);
  return o;
}

static cJSON *if_(const char *cond, cJSON *then, cJSON *otherwise) {
  cJSON *o = cJSON_CreateObject();
  cJSON *a = cJSON_AddArrayToObject(o, "Fn::If");
  cJSON_AddItemToArray(a, str(cond));
  cJSON_AddItemToArray(a, then);
  cJSON_AddItemToArray(a, otherwise);
  return o;
}

static cJSON *arr1(cJSON *item) {
  cJSON *a = cJSON_CreateArray();
  cJSON_AddItemToArray(a, item);
  return a;
}

/* A resource {"Type": type, "Properties": {}}; returns its Properties. */
static cJSON *resource(cJSON *resources, const char *id, const char *type) {
  cJSON *r = cJSON_AddObjectToObject(resources, id);
  cJSON_AddStringToObject(r, "Type", type);
  return cJSON_AddObjectToObject(r, "Properties");
}

static void depends_on(cJSON *resources, const char *id, const char *on) {
  cJSON *r = cJSON_GetObjectItemCaseSensitive(resources, id);
  cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "DependsOn");
  if (!d) {
    d = cJSON_CreateArray();
    /* before Properties reads better, but order only has to be fixed */
    cJSON_AddItemToObject(r, "DependsOn", d);
  }
  cJSON_AddItemToArray(d, str(on));
}

static cJSON *param(cJSON *params, const char *name, const char *type, const char *description) {
  cJSON *p = cJSON_AddObjectToObject(params, name);
  cJSON_AddStringToObject(p, "Type", type);
  cJSON_AddStringToObject(p, "Description", description);
  return p;
}

/* "dorm_streamer_requests" -> "DormStreamerRequests" (letters and digits). */
static void camel(const char *name, char *out, size_t cap) {
  size_t n = 0;
  bool up = true;
  for (const char *p = name; *p && n + 1 < cap; p++) {
    if (!isalnum((unsigned char)*p)) {
      up = true;
      continue;
    }
    out[n++] = up ? (char)toupper((unsigned char)*p) : *p;
    up = false;
  }
  out[n] = '\0';
}

static const char *key_type(dormc_key_type t) { return t == DORMC_KEY_N ? "N" : t == DORMC_KEY_B ? "B" : "S"; }

/* ---- tables ---- */

/* What a table needs, from a schema table or written for the streamer. */
typedef struct tindex {
  const char *name;
  dormc_key_attr pk, sk;
  dormc_projection projection;
  const char *const *include;
  size_t ninclude;
} tindex;

typedef struct tdef {
  const char *physical;
  dormc_key_attr pk, sk;
  bool provisioned;
  int64_t rcu, wcu;
  const char *stream; /* NULL: none */
  const char *ttl;
  const tindex *gsis;
  size_t ngsis;
  const tindex *lsis;
  size_t nlsis;
} tdef;

static void add_attr_def(cJSON *defs, const dormc_key_attr *k) {
  if (!k->attr) return;
  for (cJSON *d = defs->child; d; d = d->next)
    if (strcmp(cJSON_GetObjectItemCaseSensitive(d, "AttributeName")->valuestring, k->attr) == 0) return;
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "AttributeName", k->attr);
  cJSON_AddStringToObject(d, "AttributeType", key_type(k->type));
  cJSON_AddItemToArray(defs, d);
}

static cJSON *key_schema(const dormc_key_attr *pk, const dormc_key_attr *sk) {
  cJSON *ks = cJSON_CreateArray();
  cJSON *h = cJSON_CreateObject();
  cJSON_AddStringToObject(h, "AttributeName", pk->attr);
  cJSON_AddStringToObject(h, "KeyType", "HASH");
  cJSON_AddItemToArray(ks, h);
  if (sk->attr) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "AttributeName", sk->attr);
    cJSON_AddStringToObject(r, "KeyType", "RANGE");
    cJSON_AddItemToArray(ks, r);
  }
  return ks;
}

static cJSON *throughput(int64_t rcu, int64_t wcu) {
  cJSON *t = cJSON_CreateObject();
  cJSON_AddNumberToObject(t, "ReadCapacityUnits", (double)rcu);
  cJSON_AddNumberToObject(t, "WriteCapacityUnits", (double)wcu);
  return t;
}

static cJSON *index_json(const tindex *x, const tdef *t, bool gsi) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "IndexName", x->name);
  cJSON_AddItemToObject(o, "KeySchema", key_schema(&x->pk, &x->sk));
  cJSON *p = cJSON_AddObjectToObject(o, "Projection");
  cJSON_AddStringToObject(p, "ProjectionType", x->projection == DORMC_PROJECT_ALL         ? "ALL"
                                               : x->projection == DORMC_PROJECT_KEYS_ONLY ? "KEYS_ONLY"
                                                                                          : "INCLUDE");
  if (x->projection == DORMC_PROJECT_INCLUDE) {
    cJSON *na = cJSON_AddArrayToObject(p, "NonKeyAttributes");
    for (size_t i = 0; i < x->ninclude; i++) cJSON_AddItemToArray(na, str(x->include[i]));
  }
  if (gsi && t->provisioned) cJSON_AddItemToObject(o, "ProvisionedThroughput", throughput(t->rcu, t->wcu));
  return o;
}

/* Target tracking on one dimension of a provisioned table or GSI. */
static void autoscale(cJSON *res, const char *table_id, const char *index, const char *id_base, bool read) {
  char target[160], policy[160], resid[300];
  snprintf(target, sizeof target, "%s%sScalableTarget", id_base, read ? "Read" : "Write");
  snprintf(policy, sizeof policy, "%s%sScalingPolicy", id_base, read ? "Read" : "Write");
  cJSON *p = resource(res, target, "AWS::ApplicationAutoScaling::ScalableTarget");
  cJSON_AddItemToObject(p, "MaxCapacity", ref("AutoScalingMaxCapacity"));
  cJSON_AddItemToObject(p, "MinCapacity", ref("AutoScalingMinCapacity"));
  if (index) snprintf(resid, sizeof resid, "table/${%s}/index/%s", table_id, index);
  else snprintf(resid, sizeof resid, "table/${%s}", table_id);
  cJSON_AddItemToObject(p, "ResourceId", sub(resid));
  cJSON_AddStringToObject(p, "ScalableDimension", index ? (read ? "dynamodb:index:ReadCapacityUnits"
                                                                : "dynamodb:index:WriteCapacityUnits")
                                                        : (read ? "dynamodb:table:ReadCapacityUnits"
                                                                : "dynamodb:table:WriteCapacityUnits"));
  cJSON_AddStringToObject(p, "ServiceNamespace", "dynamodb");
  p = resource(res, policy, "AWS::ApplicationAutoScaling::ScalingPolicy");
  cJSON_AddStringToObject(p, "PolicyName", policy);
  cJSON_AddStringToObject(p, "PolicyType", "TargetTrackingScaling");
  cJSON_AddItemToObject(p, "ScalingTargetId", ref(target));
  cJSON *tt = cJSON_AddObjectToObject(p, "TargetTrackingScalingPolicyConfiguration");
  cJSON_AddItemToObject(tt, "TargetValue", ref("AutoScalingTargetUtilization"));
  cJSON *m = cJSON_AddObjectToObject(tt, "PredefinedMetricSpecification");
  cJSON_AddStringToObject(m, "PredefinedMetricType",
                          read ? "DynamoDBReadCapacityUtilization" : "DynamoDBWriteCapacityUtilization");
}

/* The table resource; its logical id in id (cap 128). */
static void table(cJSON *res, const tdef *t, char *id, size_t cap, bool *any_provisioned) {
  char base[100];
  camel(t->physical, base, sizeof base);
  snprintf(id, cap, "%sTable", base);
  cJSON *p = resource(res, id, "AWS::DynamoDB::Table");
  cJSON_AddStringToObject(p, "TableName", t->physical);
  cJSON *defs = cJSON_AddArrayToObject(p, "AttributeDefinitions");
  add_attr_def(defs, &t->pk);
  add_attr_def(defs, &t->sk);
  for (size_t i = 0; i < t->ngsis; i++) {
    add_attr_def(defs, &t->gsis[i].pk);
    add_attr_def(defs, &t->gsis[i].sk);
  }
  for (size_t i = 0; i < t->nlsis; i++) add_attr_def(defs, &t->lsis[i].sk);
  cJSON_AddItemToObject(p, "KeySchema", key_schema(&t->pk, &t->sk));
  cJSON_AddStringToObject(p, "BillingMode", t->provisioned ? "PROVISIONED" : "PAY_PER_REQUEST");
  if (t->provisioned) cJSON_AddItemToObject(p, "ProvisionedThroughput", throughput(t->rcu, t->wcu));
  if (t->ngsis) {
    cJSON *g = cJSON_AddArrayToObject(p, "GlobalSecondaryIndexes");
    for (size_t i = 0; i < t->ngsis; i++) cJSON_AddItemToArray(g, index_json(&t->gsis[i], t, true));
  }
  if (t->nlsis) {
    cJSON *l = cJSON_AddArrayToObject(p, "LocalSecondaryIndexes");
    for (size_t i = 0; i < t->nlsis; i++) cJSON_AddItemToArray(l, index_json(&t->lsis[i], t, false));
  }
  if (t->stream) {
    cJSON *s = cJSON_AddObjectToObject(p, "StreamSpecification");
    cJSON_AddStringToObject(s, "StreamViewType", t->stream);
  }
  if (t->ttl) {
    cJSON *s = cJSON_AddObjectToObject(p, "TimeToLiveSpecification");
    cJSON_AddStringToObject(s, "AttributeName", t->ttl);
    cJSON_AddBoolToObject(s, "Enabled", true);
  }
  cJSON *pitr = cJSON_AddObjectToObject(p, "PointInTimeRecoverySpecification");
  cJSON_AddBoolToObject(pitr, "PointInTimeRecoveryEnabled", true);
  if (t->provisioned) {
    *any_provisioned = true;
    autoscale(res, id, NULL, base, true);
    autoscale(res, id, NULL, base, false);
    for (size_t i = 0; i < t->ngsis; i++) {
      char ib[256], xb[100];
      camel(t->gsis[i].name, xb, sizeof xb);
      snprintf(ib, sizeof ib, "%.99s%.99sIndex", base, xb);
      autoscale(res, id, t->gsis[i].name, ib, true);
      autoscale(res, id, t->gsis[i].name, ib, false);
    }
  }
}

static const char *stream_view(dormc_stream s) {
  switch (s) {
  case DORMC_STREAM_KEYS_ONLY: return "KEYS_ONLY";
  case DORMC_STREAM_NEW_IMAGE: return "NEW_IMAGE";
  case DORMC_STREAM_OLD_IMAGE: return "OLD_IMAGE";
  case DORMC_STREAM_NEW_AND_OLD_IMAGES: return "NEW_AND_OLD_IMAGES";
  default: return NULL;
  }
}

static void copy_index(tindex *x, const dormc_index *d) {
  x->name = d->name;
  x->pk = d->pk;
  x->sk = d->sk;
  x->projection = d->projection;
  x->include = d->include;
  x->ninclude = d->ninclude;
}

/* ---- the streamer ---- */

/* A table's ARN and its indexes' (the ARN, then "/index/" and any name), for IAM. */
static void table_arns(cJSON *list, const char *id) {
  cJSON_AddItemToArray(list, getatt(id, "Arn"));
  char s[200];
  snprintf(s, sizeof s, "${%s.Arn}/index/*", id);
  cJSON_AddItemToArray(list, sub(s));
}

static cJSON *statement(const char *const *actions, cJSON *resources) {
  cJSON *st = cJSON_CreateObject();
  cJSON_AddStringToObject(st, "Effect", "Allow");
  cJSON *a = cJSON_AddArrayToObject(st, "Action");
  for (size_t i = 0; actions[i]; i++) cJSON_AddItemToArray(a, str(actions[i]));
  cJSON_AddItemToObject(st, "Resource", resources);
  return st;
}

static void function(cJSON *res, const char *id, const char *name_suffix, const char *timeout_param,
                     const char *description) {
  char s[200];
  cJSON *p = resource(res, id, "AWS::Lambda::Function");
  snprintf(s, sizeof s, "${AWS::StackName}-%s", name_suffix);
  cJSON_AddItemToObject(p, "FunctionName", sub(s));
  cJSON_AddStringToObject(p, "Description", description);
  cJSON_AddStringToObject(p, "Runtime", "provided.al2023");
  cJSON_AddStringToObject(p, "Handler", "bootstrap");
  cJSON_AddItemToObject(p, "Architectures", arr1(ref("Architecture")));
  cJSON_AddItemToObject(p, "MemorySize", ref("MemorySize"));
  cJSON_AddItemToObject(p, "Timeout", ref(timeout_param));
  cJSON_AddItemToObject(p, "Role", getatt("FunctionRole", "Arn"));
  cJSON *code = cJSON_AddObjectToObject(p, "Code");
  cJSON_AddItemToObject(code, "S3Bucket", ref("CodeS3Bucket"));
  cJSON_AddItemToObject(code, "S3Key", ref("CodeS3Key"));
  cJSON_AddItemToObject(p, "ReservedConcurrentExecutions",
                        if_("HasReservedConcurrency", ref("ReservedConcurrency"), ref("AWS::NoValue")));
  cJSON *tr = cJSON_AddObjectToObject(p, "TracingConfig");
  cJSON_AddStringToObject(tr, "Mode", "Active");
  cJSON *lc = cJSON_AddObjectToObject(p, "LoggingConfig");
  snprintf(s, sizeof s, "%sLogGroup", id);
  cJSON_AddItemToObject(lc, "LogGroup", ref(s));
  cJSON *env = cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "Environment"), "Variables");
  cJSON_AddItemToObject(env, "DORM_STREAMER_JWKS_FILE", ref("JwksFile"));
  cJSON_AddItemToObject(env, "DORM_STREAMER_JWT_ISSUER", if_("HasJwtIssuer", ref("JwtIssuer"), ref("AWS::NoValue")));
  cJSON_AddItemToObject(env, "DORM_STREAMER_JWT_AUDIENCE",
                        if_("HasJwtAudience", ref("JwtAudience"), ref("AWS::NoValue")));
  cJSON_AddItemToObject(env, "DORM_STREAMER_MAX_ATTEMPTS", ref("MaxAttempts"));
  depends_on(res, id, s);

  cJSON *lg = resource(res, s, "AWS::Logs::LogGroup");
  snprintf(s, sizeof s, "/aws/lambda/${AWS::StackName}-%s", name_suffix);
  cJSON_AddItemToObject(lg, "LogGroupName", sub(s));
  cJSON_AddItemToObject(lg, "RetentionInDays", ref("LogRetentionDays"));
}

/* An alarm on one metric of one dimension (value: a string or an intrinsic). */
static void metric_alarm(cJSON *res, const char *id, const char *description, const char *namespace_,
                         const char *metric, const char *dim_name, cJSON *dim_value, const char *stat,
                         double threshold, int periods) {
  cJSON *p = resource(res, id, "AWS::CloudWatch::Alarm");
  char s[200];
  snprintf(s, sizeof s, "${AWS::StackName}-%s", id);
  cJSON_AddItemToObject(p, "AlarmName", sub(s));
  cJSON_AddStringToObject(p, "AlarmDescription", description);
  cJSON_AddStringToObject(p, "Namespace", namespace_);
  cJSON_AddStringToObject(p, "MetricName", metric);
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "Name", dim_name);
  cJSON_AddItemToObject(d, "Value", dim_value);
  cJSON_AddItemToObject(p, "Dimensions", arr1(d));
  cJSON_AddStringToObject(p, "Statistic", stat);
  cJSON_AddNumberToObject(p, "Period", 300);
  cJSON_AddNumberToObject(p, "EvaluationPeriods", periods);
  cJSON_AddNumberToObject(p, "Threshold", threshold);
  cJSON_AddStringToObject(p, "ComparisonOperator", "GreaterThanThreshold");
  cJSON_AddStringToObject(p, "TreatMissingData", "notBreaching");
  cJSON_AddItemToObject(p, "AlarmActions", if_("HasAlarmTopic", arr1(ref("AlarmTopicArn")), ref("AWS::NoValue")));
}

/* An alarm on an EMF metric of the runtime (lambda.c), by Service: the
 * function's name. */
static void alarm(cJSON *res, const char *id, const char *description, const char *metric, const char *fn_suffix,
                  const char *stat, double threshold, int periods) {
  char s[200];
  snprintf(s, sizeof s, "${AWS::StackName}-%s", fn_suffix);
  metric_alarm(res, id, description, EMF_NAMESPACE, metric, "Service", sub(s), stat, threshold, periods);
}

static void streamer(cJSON *res, cJSON *params, cJSON *conds, cJSON *outputs, const char *const *table_ids,
                     size_t ntables, const char *requests_id) {
  (void)params;
  (void)conds;
  /* the API, its routes and stage */
  cJSON *p = resource(res, "WebSocketApi", "AWS::ApiGatewayV2::Api");
  cJSON_AddItemToObject(p, "Name", sub("${AWS::StackName}-ws"));
  cJSON_AddStringToObject(p, "ProtocolType", "WEBSOCKET");
  /* no action routes: every message goes to $default, the protocol routes */
  cJSON_AddStringToObject(p, "RouteSelectionExpression", "$request.body.action");
  p = resource(res, "WebSocketIntegration", "AWS::ApiGatewayV2::Integration");
  cJSON_AddItemToObject(p, "ApiId", ref("WebSocketApi"));
  cJSON_AddStringToObject(p, "IntegrationType", "AWS_PROXY");
  cJSON_AddItemToObject(p, "IntegrationUri",
                        sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                            "${WebSocketFunction.Arn}/invocations"));
  static const char *const routes[][2] = {{"ConnectRoute", "$connect"}, {"DisconnectRoute", "$disconnect"},
                                          {"DefaultRoute", "$default"}};
  for (size_t i = 0; i < 3; i++) {
    p = resource(res, routes[i][0], "AWS::ApiGatewayV2::Route");
    cJSON_AddItemToObject(p, "ApiId", ref("WebSocketApi"));
    cJSON_AddStringToObject(p, "RouteKey", routes[i][1]);
    /* the function verifies the JWT itself, as in local mode */
    cJSON_AddStringToObject(p, "AuthorizationType", "NONE");
    cJSON_AddItemToObject(p, "Target", sub("integrations/${WebSocketIntegration}"));
  }
  p = resource(res, "WebSocketStage", "AWS::ApiGatewayV2::Stage");
  cJSON_AddItemToObject(p, "ApiId", ref("WebSocketApi"));
  cJSON_AddItemToObject(p, "StageName", ref("StageName"));
  cJSON_AddBoolToObject(p, "AutoDeploy", true);
  cJSON *drs = cJSON_AddObjectToObject(p, "DefaultRouteSettings");
  cJSON_AddItemToObject(drs, "ThrottlingBurstLimit", ref("ThrottlingBurstLimit"));
  cJSON_AddItemToObject(drs, "ThrottlingRateLimit", ref("ThrottlingRateLimit"));
  for (size_t i = 0; i < 3; i++) depends_on(res, "WebSocketStage", routes[i][0]);
  p = resource(res, "WebSocketPermission", "AWS::Lambda::Permission");
  cJSON_AddStringToObject(p, "Action", "lambda:InvokeFunction");
  cJSON_AddItemToObject(p, "FunctionName", ref("WebSocketFunction"));
  cJSON_AddStringToObject(p, "Principal", "apigateway.amazonaws.com");
  cJSON_AddItemToObject(p, "SourceArn",
                        sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/*"));

  /* the functions: one binary, two roles by event shape */
  function(res, "WebSocketFunction", "ws", "WebSocketTimeout",
           "dorm streamer: API Gateway WebSocket $connect, $disconnect, $default");
  function(res, "StreamFunction", "stream", "StreamTimeout", "dorm streamer: the requests table's stream (jobs)");

  /* what the stream cannot process after its retries */
  p = resource(res, "StreamFailureQueue", "AWS::SQS::Queue");
  cJSON_AddNumberToObject(p, "MessageRetentionPeriod", 1209600);
  cJSON_AddBoolToObject(p, "SqsManagedSseEnabled", true);
  p = resource(res, "StreamEventSourceMapping", "AWS::Lambda::EventSourceMapping");
  char s[200];
  snprintf(s, sizeof s, "%s", requests_id);
  cJSON_AddItemToObject(p, "EventSourceArn", getatt(s, "StreamArn"));
  cJSON_AddItemToObject(p, "FunctionName", ref("StreamFunction"));
  /* from the oldest record kept (24 h): a request made before the mapping
   * was enabled (a first deploy, a replaced mapping) is run, not skipped;
   * a record of a request long ended costs one refused claim */
  cJSON_AddStringToObject(p, "StartingPosition", "TRIM_HORIZON");
  cJSON_AddItemToObject(p, "BatchSize", ref("StreamBatchSize"));
  cJSON_AddBoolToObject(p, "BisectBatchOnFunctionError", true);
  cJSON_AddItemToObject(p, "MaximumRetryAttempts", ref("StreamMaximumRetryAttempts"));
  cJSON_AddItemToObject(p, "ParallelizationFactor", ref("StreamParallelizationFactor"));
  cJSON_AddItemToObject(p, "FunctionResponseTypes", arr1(str("ReportBatchItemFailures")));
  cJSON *onf = cJSON_AddObjectToObject(cJSON_AddObjectToObject(p, "DestinationConfig"), "OnFailure");
  cJSON_AddItemToObject(onf, "Destination", getatt("StreamFailureQueue", "Arn"));

  /* one role, only what the runtime calls */
  p = resource(res, "FunctionRole", "AWS::IAM::Role");
  cJSON *trust = cJSON_AddObjectToObject(p, "AssumeRolePolicyDocument");
  cJSON_AddStringToObject(trust, "Version", "2012-10-17");
  cJSON *tst = cJSON_CreateObject();
  cJSON_AddStringToObject(tst, "Effect", "Allow");
  cJSON_AddItemToObject(cJSON_AddObjectToObject(tst, "Principal"), "Service", str("lambda.amazonaws.com"));
  cJSON_AddStringToObject(tst, "Action", "sts:AssumeRole");
  cJSON_AddItemToObject(trust, "Statement", arr1(tst));
  cJSON *pol = cJSON_CreateObject();
  cJSON_AddStringToObject(pol, "PolicyName", "dorm-streamer");
  cJSON *doc = cJSON_AddObjectToObject(pol, "PolicyDocument");
  cJSON_AddStringToObject(doc, "Version", "2012-10-17");
  cJSON *sts = cJSON_AddArrayToObject(doc, "Statement");
  static const char *const items[] = {"dynamodb:GetItem",       "dynamodb:PutItem",        "dynamodb:UpdateItem",
                                      "dynamodb:DeleteItem",    "dynamodb:Query",          "dynamodb:Scan",
                                      "dynamodb:BatchGetItem",  "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                                      "dynamodb:DescribeTable", NULL};
  /* the schema's own tables (the last three are the streamer's): what
   * handlers may call on them through dorm_stream_client */
  if (ntables > 3) {
    cJSON *tl = cJSON_CreateArray();
    for (size_t i = 0; i + 3 < ntables; i++) table_arns(tl, table_ids[i]);
    cJSON_AddItemToArray(sts, statement(items, tl));
  }
  /* The streamer's tables: the calls the runtime has (transactions need
   * their items' own actions; BatchWriteItem: a local server's batches of
   * connections and messages; the requests index: the local poller).
   * tests/streamer/lambda.test.mjs records a Lambda run's calls through a
   * proxy and checks them against this. */
  static const char *const streamer_items[] = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                               "dynamodb:Query", "dynamodb:BatchWriteItem", NULL};
  cJSON *stl = cJSON_CreateArray();
  for (size_t i = ntables - 3; i < ntables; i++) cJSON_AddItemToArray(stl, getatt(table_ids[i], "Arn"));
  snprintf(s, sizeof s, "${%s.Arn}/index/*", requests_id);
  cJSON_AddItemToArray(stl, sub(s));
  cJSON_AddItemToArray(sts, statement(streamer_items, stl));
  static const char *const streams[] = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                        "dynamodb:ListStreams", NULL};
  cJSON_AddItemToArray(sts, statement(streams, arr1(getatt(requests_id, "StreamArn"))));
  /* the management API's ARNs name the HTTP method: delivery.c POSTs
   * messages and DELETEs a connection whose token expired (GET is never
   * called) */
  static const char *const manage[] = {"execute-api:ManageConnections", NULL};
  cJSON *conns = cJSON_CreateArray();
  cJSON_AddItemToArray(conns, sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                  "${WebSocketApi}/${StageName}/POST/@connections/*"));
  cJSON_AddItemToArray(conns, sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                  "${WebSocketApi}/${StageName}/DELETE/@connections/*"));
  cJSON_AddItemToArray(sts, statement(manage, conns));
  static const char *const sqs[] = {"sqs:SendMessage", NULL};
  cJSON_AddItemToArray(sts, statement(sqs, arr1(getatt("StreamFailureQueue", "Arn"))));
  static const char *const logs[] = {"logs:CreateLogStream", "logs:PutLogEvents", NULL};
  cJSON *lgs = cJSON_CreateArray();
  cJSON_AddItemToArray(lgs, getatt("WebSocketFunctionLogGroup", "Arn"));
  cJSON_AddItemToArray(lgs, getatt("StreamFunctionLogGroup", "Arn"));
  cJSON_AddItemToArray(sts, statement(logs, lgs));
  static const char *const xray[] = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", NULL};
  /* X-Ray's actions take no resource ARN */
  cJSON_AddItemToArray(sts, statement(xray, arr1(str("*"))));
  cJSON_AddItemToObject(p, "Policies", arr1(pol));

  /* alarms on the runtime's EMF metrics */
  alarm(res, "WebSocketErrorsAlarm", "WebSocket invocations that returned an error", "InvocationErrors", "ws", "Sum",
        0, 1);
  alarm(res, "StreamErrorsAlarm", "stream batches that returned an error", "InvocationErrors", "stream", "Sum", 0, 1);
  alarm(res, "StreamBatchItemFailuresAlarm", "stream records handed back for retry", "BatchItemFailures", "stream",
        "Sum", 10, 1);
  alarm(res, "DeliveryFailuresAlarm", "management API posts that failed (410 excluded)", "DeliveryFailures", "stream",
        "Sum", 10, 1);
  alarm(res, "QueueWaitAlarm", "requests waited long before a processor started them", "QueueWait", "stream",
        "Maximum", 30000, 2);
  /* What the EMF lines cannot say: an invocation that never reached its
   * metrics line (Lambda's timeout, a crash, out of memory), and records
   * that failed every retry. Their requests stay PENDING, and no processor
   * looks at them again on Lambda (docs/streamer.md, Metrics, logs, alarms). */
  metric_alarm(res, "WebSocketFunctionErrorsAlarm",
               "WebSocket invocations Lambda counts as failed (timeouts and crashes included)", "AWS/Lambda", "Errors",
               "FunctionName", ref("WebSocketFunction"), "Sum", 0, 1);
  metric_alarm(res, "StreamFunctionErrorsAlarm",
               "stream batches Lambda counts as failed (timeouts and crashes included)", "AWS/Lambda", "Errors",
               "FunctionName", ref("StreamFunction"), "Sum", 0, 1);
  metric_alarm(res, "StreamFailureQueueAlarm",
               "stream records that failed every retry: their requests wait, PENDING, until run again", "AWS/SQS",
               "ApproximateNumberOfMessagesVisible", "QueueName", getatt("StreamFailureQueue", "QueueName"), "Maximum",
               0, 1);
  /* A shard's records wait behind its running batch (a batch lasts as long
   * as its longest job, up to StreamTimeout): more than two of the longest
   * batches behind is a stream falling behind, not a slow job. */
  metric_alarm(res, "StreamIteratorAgeAlarm",
               "the stream's records wait more than 30 minutes for the stream function (jobs start late)", "AWS/Lambda",
               "IteratorAge", "FunctionName", ref("StreamFunction"), "Maximum", 1800000, 2);

  cJSON *o = cJSON_AddObjectToObject(outputs, "WebSocketUrl");
  cJSON_AddStringToObject(o, "Description", "the clients' URL");
  cJSON_AddItemToObject(o, "Value", sub("wss://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"));
  o = cJSON_AddObjectToObject(outputs, "ManagementEndpoint");
  cJSON_AddStringToObject(o, "Description", "API Gateway's management API of the stage");
  cJSON_AddItemToObject(o, "Value",
                        sub("https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}"));
  o = cJSON_AddObjectToObject(outputs, "StreamFailureQueueUrl");
  cJSON_AddStringToObject(o, "Description", "stream records that failed every retry");
  cJSON_AddItemToObject(o, "Value", ref("StreamFailureQueue"));
}

/* The streamer's tables (schemas/streamer.dorm). */
static const char *const requests_gsi_include[] = {"sub",       "clientId",        "endpoint",
                                                   "notBefore", "cancelRequested", "leaseOwner"};
static const tindex requests_gsi[] = {{"by-live", {"liveKey", DORMC_KEY_S}, {"leaseExpires", DORMC_KEY_N},
                                       DORMC_PROJECT_INCLUDE, requests_gsi_include, 6}};
static const tdef streamer_tables[] = {
    {"dorm_streamer_connections", {"id", DORMC_KEY_S}, {NULL, DORMC_KEY_S}, false, 0, 0, NULL, "expiresAt", NULL, 0,
     NULL, 0},
    {"dorm_streamer_requests", {"PK", DORMC_KEY_S}, {NULL, DORMC_KEY_S}, false, 0, 0, "NEW_AND_OLD_IMAGES",
     "expiresAt", requests_gsi, 1, NULL, 0},
    {"dorm_streamer_messages", {"PK", DORMC_KEY_S}, {"seq", DORMC_KEY_N}, false, 0, 0, NULL, "expiresAt", NULL, 0,
     NULL, 0},
};

/* ---- parameters ---- */

static void parameters(cJSON *params, bool streamer_too, bool provisioned) {
  cJSON *p;
  if (streamer_too) {
    param(params, "CodeS3Bucket", "String", "S3 bucket of the bootstrap zip (scripts/lambda-package.sh)");
    param(params, "CodeS3Key", "String", "S3 key of the bootstrap zip");
    p = param(params, "Architecture", "String", "the binary's architecture: x86_64 or arm64 (Graviton)");
    cJSON_AddStringToObject(p, "Default", "arm64");
    cJSON *av = cJSON_AddArrayToObject(p, "AllowedValues");
    cJSON_AddItemToArray(av, str("x86_64"));
    cJSON_AddItemToArray(av, str("arm64"));
    p = param(params, "MemorySize", "Number", "memory of each function in MB (CPU grows with it)");
    cJSON_AddNumberToObject(p, "Default", 256);
    cJSON_AddNumberToObject(p, "MinValue", 128);
    cJSON_AddNumberToObject(p, "MaxValue", 10240);
    p = param(params, "WebSocketTimeout", "Number", "seconds a $connect/$default invocation may take (API Gateway waits 29)");
    cJSON_AddNumberToObject(p, "Default", 29);
    cJSON_AddNumberToObject(p, "MinValue", 3);
    cJSON_AddNumberToObject(p, "MaxValue", 29);
    p = param(params, "StreamTimeout", "Number", "seconds a stream batch may take; jobs still running 1 s before it give their requests back");
    cJSON_AddNumberToObject(p, "Default", 900);
    cJSON_AddNumberToObject(p, "MinValue", 10);
    cJSON_AddNumberToObject(p, "MaxValue", 900);
    p = param(params, "ReservedConcurrency", "Number", "reserved concurrency of each function (-1: none, the account's pool)");
    cJSON_AddNumberToObject(p, "Default", -1);
    cJSON_AddNumberToObject(p, "MinValue", -1);
    p = param(params, "StageName", "String", "the WebSocket API's stage");
    cJSON_AddStringToObject(p, "Default", "prod");
    p = param(params, "ThrottlingBurstLimit", "Number", "the stage's burst limit (messages)");
    cJSON_AddNumberToObject(p, "Default", 500);
    p = param(params, "ThrottlingRateLimit", "Number", "the stage's steady rate limit (messages per second)");
    cJSON_AddNumberToObject(p, "Default", 1000);
    p = param(params, "JwksFile", "String", "the JWKS file in the zip that verifies clients' tokens (DORM_STREAMER_JWKS_FILE)");
    cJSON_AddStringToObject(p, "Default", "/var/task/jwks.json");
    p = param(params, "JwtIssuer", "String", "required iss of tokens (empty: not checked)");
    cJSON_AddStringToObject(p, "Default", "");
    p = param(params, "JwtAudience", "String", "required aud of tokens (empty: not checked)");
    cJSON_AddStringToObject(p, "Default", "");
    p = param(params, "MaxAttempts", "Number", "runs of a job whose failure is retryable (DORM_STREAMER_MAX_ATTEMPTS)");
    cJSON_AddNumberToObject(p, "Default", 3);
    p = param(params, "StreamBatchSize", "Number", "stream records per invocation");
    cJSON_AddNumberToObject(p, "Default", 10);
    cJSON_AddNumberToObject(p, "MinValue", 1);
    cJSON_AddNumberToObject(p, "MaxValue", 1000);
    p = param(params, "StreamParallelizationFactor", "Number", "concurrent batches per stream shard");
    cJSON_AddNumberToObject(p, "Default", 4);
    cJSON_AddNumberToObject(p, "MinValue", 1);
    cJSON_AddNumberToObject(p, "MaxValue", 10);
    p = param(params, "StreamMaximumRetryAttempts", "Number", "retries of a failing record before it goes to the failure queue");
    cJSON_AddNumberToObject(p, "Default", 10);
    cJSON_AddNumberToObject(p, "MinValue", -1);
    cJSON_AddNumberToObject(p, "MaxValue", 10000);
    p = param(params, "LogRetentionDays", "Number", "days the functions' logs (and EMF metrics lines) are kept");
    cJSON_AddNumberToObject(p, "Default", 30);
    p = param(params, "AlarmTopicArn", "String", "SNS topic the alarms notify (empty: none)");
    cJSON_AddStringToObject(p, "Default", "");
  }
  if (provisioned) {
    p = param(params, "AutoScalingMinCapacity", "Number", "provisioned tables and GSIs: the least capacity units");
    cJSON_AddNumberToObject(p, "Default", 5);
    p = param(params, "AutoScalingMaxCapacity", "Number", "provisioned tables and GSIs: the most capacity units");
    cJSON_AddNumberToObject(p, "Default", 1000);
    p = param(params, "AutoScalingTargetUtilization", "Number", "percent of provisioned capacity target tracking keeps");
    cJSON_AddNumberToObject(p, "Default", 70);
  }
}

/* @encrypted fields (issue 15): the functions' role may call KMS
 * GenerateDataKey and Decrypt with the keys of the schema's models, one
 * parameter per distinct key (KmsKeyArn, KmsKeyArn2, ...): its default is the
 * schema's key when that is a key ARN; an alias, a key id or a key left to
 * configuration (@encrypted without one) must be given as the key's ARN at
 * deploy time, since IAM grants KMS use by key ARN. The functions get the
 * key configured at run time in DORM_KMS_KEY_ID (dorm_crypt_opts). */
#define MAX_KMS_KEYS 8

static bool same_key(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static void kms_access(cJSON *root, const dormc_schema *s) {
  const char *keys[MAX_KMS_KEYS];
  size_t nkeys = 0;
  for (size_t i = 0; i < s->nmodels; i++)
    for (size_t j = 0; j < s->models[i].nfields; j++) {
      const dormc_field *f = &s->models[i].fields[j];
      if (!f->encrypted) continue;
      bool known = false;
      for (size_t k = 0; k < nkeys; k++) known = known || same_key(keys[k], f->kms_key);
      if (!known && nkeys < MAX_KMS_KEYS) keys[nkeys++] = f->kms_key;
      break; /* one key per model (sema) */
    }
  if (!nkeys) return;
  cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "Resources");
  cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "Parameters");
  cJSON *role = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "FunctionRole"), "Properties");
  cJSON *pol = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(role, "Policies"), 0);
  cJSON *sts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pol, "PolicyDocument"), "Statement");
  if (!params || !sts) return;
  cJSON *arns = cJSON_CreateArray();
  /* DORM_KMS_KEY_ID: the key left to configuration when there is one, else the first */
  char env_param[32] = "KmsKeyArn";
  for (size_t k = 0; k < nkeys; k++) {
    char name[32], desc[400];
    snprintf(name, sizeof name, k ? "KmsKeyArn%zu" : "KmsKeyArn", k + 1);
    snprintf(desc, sizeof desc, "ARN of the KMS key of the @encrypted fields %s%s (kms:GenerateDataKey, kms:Decrypt)",
             keys[k] ? "under " : "whose key is configured at run time (DORM_KMS_KEY_ID)", keys[k] ? keys[k] : "");
    cJSON *p = param(params, name, "String", desc);
    cJSON_AddStringToObject(p, "AllowedPattern", "arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+");
    if (keys[k] && strstr(keys[k], ":key/")) cJSON_AddStringToObject(p, "Default", keys[k]);
    cJSON_AddItemToArray(arns, ref(name));
    if (!keys[k]) snprintf(env_param, sizeof env_param, "%s", name);
  }
  static const char *const kms[] = {"kms:GenerateDataKey", "kms:Decrypt", NULL};
  cJSON_AddItemToArray(sts, statement(kms, arns));
  static const char *const fns[] = {"WebSocketFunction", "StreamFunction"};
  for (size_t i = 0; i < 2; i++) {
    cJSON *fp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, fns[i]), "Properties");
    cJSON *vars = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(fp, "Environment"), "Variables");
    if (vars) cJSON_AddItemToObject(vars, "DORM_KMS_KEY_ID", ref(env_param));
  }
}

static cJSON *not_equals(const char *param_name, cJSON *value) {
  cJSON *eq = cJSON_CreateObject();
  cJSON *a = cJSON_AddArrayToObject(eq, "Fn::Equals");
  cJSON_AddItemToArray(a, ref(param_name));
  cJSON_AddItemToArray(a, value);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "Fn::Not", arr1(eq));
  return o;
}

int dormc_gen_infra(const dormc_schema *s, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  cJSON *root = cJSON_CreateObject();
  if (!root) return -2;
  cJSON_AddStringToObject(root, "AWSTemplateFormatVersion", "2010-09-09");
  char desc[300];
  snprintf(desc, sizeof desc, "%s: DynamoDB tables%s (dormc gen --infra; docs/streamer.md, On AWS)", s->namespace_,
           s->nendpoints ? ", the streamer on Lambda behind an API Gateway WebSocket API" : "");
  cJSON_AddStringToObject(root, "Description", desc);
  cJSON *params = cJSON_AddObjectToObject(root, "Parameters");
  cJSON *conds = cJSON_AddObjectToObject(root, "Conditions");
  cJSON *res = cJSON_AddObjectToObject(root, "Resources");
  cJSON *outputs = cJSON_AddObjectToObject(root, "Outputs");

  bool streamer_too = s->nendpoints > 0;
  size_t nids = s->ntables + (streamer_too ? 3 : 0);
  char(*ids)[128] = calloc(nids ? nids : 1, sizeof *ids);
  const char **idp = calloc(nids ? nids : 1, sizeof *idp);
  bool provisioned = false;
  int rc = 0;
  if (!ids || !idp) {
    rc = -2;
    goto out;
  }
  for (size_t i = 0; i < s->ntables; i++) {
    const dormc_table *t = &s->tables[i];
    tindex *g = calloc(t->ngsis + t->nlsis + 1, sizeof *g);
    if (!g) {
      rc = -2;
      goto out;
    }
    for (size_t k = 0; k < t->ngsis; k++) copy_index(&g[k], &t->gsis[k]);
    for (size_t k = 0; k < t->nlsis; k++) copy_index(&g[t->ngsis + k], &t->lsis[k]);
    tdef d = {t->physical_name, t->pk, t->sk, t->billing == DORMC_BILLING_PROVISIONED, t->read_capacity,
              t->write_capacity, stream_view(t->stream), t->ttl_attr, g, t->ngsis, g + t->ngsis, t->nlsis};
    table(res, &d, ids[i], sizeof ids[i], &provisioned);
    idp[i] = ids[i];
    free(g);
  }
  if (streamer_too) {
    for (size_t i = 0; i < 3; i++) {
      table(res, &streamer_tables[i], ids[s->ntables + i], sizeof ids[0], &provisioned);
      idp[s->ntables + i] = ids[s->ntables + i];
    }
    streamer(res, params, conds, outputs, idp, nids, ids[s->ntables + 1]);
    cJSON_AddItemToObject(conds, "HasReservedConcurrency", not_equals("ReservedConcurrency", cJSON_CreateNumber(-1)));
    cJSON_AddItemToObject(conds, "HasJwtIssuer", not_equals("JwtIssuer", str("")));
    cJSON_AddItemToObject(conds, "HasJwtAudience", not_equals("JwtAudience", str("")));
    cJSON_AddItemToObject(conds, "HasAlarmTopic", not_equals("AlarmTopicArn", str("")));
  }
  parameters(params, streamer_too, provisioned);
  if (streamer_too) kms_access(root, s);
  for (size_t i = 0; i < nids; i++) {
    char name[160];
    snprintf(name, sizeof name, "%sName", ids[i]);
    cJSON *o = cJSON_AddObjectToObject(outputs, name);
    cJSON_AddItemToObject(o, "Value", ref(ids[i]));
  }
  /* CloudFormation refuses empty sections */
  if (!cJSON_GetArraySize(params)) cJSON_DeleteItemFromObject(root, "Parameters");
  if (!cJSON_GetArraySize(conds)) cJSON_DeleteItemFromObject(root, "Conditions");
  char *printed = cJSON_Print(root);
  if (!printed) {
    rc = -2;
    goto out;
  }
  size_t n = strlen(printed);
  *text = malloc(n + 2);
  if (!*text) {
    cJSON_free(printed);
    rc = -2;
    goto out;
  }
  memcpy(*text, printed, n);
  (*text)[n] = '\n';
  (*text)[n + 1] = '\0';
  *len = n + 1;
  cJSON_free(printed);
out:
  free(ids);
  free(idp);
  cJSON_Delete(root);
  return rc;
}
