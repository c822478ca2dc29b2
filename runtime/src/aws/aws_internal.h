/* The aws layer's boundary (runtime/src/aws/): configuration, credentials, SigV4,
 * the HTTP transport, retries, AWS error bodies and the client. The ddb layer and
 * the tools see the AWS plumbing only through this header. */
#ifndef DORM_AWS_INTERNAL_H
#define DORM_AWS_INTERNAL_H

#include "core_internal.h"

#include "aws_error.h"
#include "client_internal.h"
#include "config.h"
#include "credentials.h"
#include "http.h"
#include "ini.h"
#include "kms.h"
#include "retry.h"
#include "sigv4.h"
#include "sigv4_crypto.h"

#endif
