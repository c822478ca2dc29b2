/* A loopback AWS KMS for the tests (on fake_aws_server): GenerateDataKey and
 * Decrypt the way KMS answers them (AWS JSON 1.1, {"__type","message"} error
 * bodies with KMS's codes), and checks what KMS checks: POST /, Content-Type
 * application/x-amz-json-1.1, X-Amz-Target TrentService.<op>, SigV4 for
 * service "kms" over content-type, host, x-amz-date and x-amz-target (the
 * signature recomputed with the signer proven by the AWS suite, for the key
 * pair in akid/secret, AKIDKMS/SECRETKMS by default), the operation's members. A request that is not so
 * gets KMS's error and is noted in `bad`, which tests assert empty.
 *
 * Data keys are real: each KMS key has a random 256-bit master key, and a
 * CiphertextBlob is "FKM1" || key index || nonce || AES-256-GCM(master, data
 * key), so Decrypt recovers the data key only from an intact blob of the
 * same key (else InvalidCiphertextException, IncorrectKeyException). */
#ifndef DORM_FAKE_KMS_H
#define DORM_FAKE_KMS_H

#include <stdbool.h>

#include "fake_aws_server.h"

#define FAKE_KMS_KEY_ARN "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#define FAKE_KMS_KEY_ARN2 "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"

typedef struct fake_kms {
  fas *srv;
  unsigned char master[2][32]; /* FAKE_KMS_KEY_ARN ("alias/test"), FAKE_KMS_KEY_ARN2 ("alias/other") */
  bool disabled[2];
  /* the key pair requests must be signed with; "" = AKIDKMS / SECRETKMS */
  char akid[64], secret[64];
  /* failures to inject: the next `fail_count` requests get this error */
  int fail_count;
  int fail_status;             /* 400 */
  char fail_code[64];          /* "ThrottlingException" */
  /* what it saw */
  int generate, decrypt;       /* successful calls */
  int requests;
  char bad[512];
} fake_kms;

bool fake_kms_start(fake_kms *f);
void fake_kms_stop(fake_kms *f);

#endif
