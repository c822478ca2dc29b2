/* aws_xml: reading the XML that AWS's Query APIs (STS) answer with.
 *
 * The answers are small and flat; callers want the text of a few elements
 * named by their path from the root ("AssumeRoleResponse/AssumeRoleResult/
 * Credentials/AccessKeyId"). Parsing is expat's. Documents with a DOCTYPE
 * are refused (no entity expansion of any kind), as is anything that is not
 * well-formed XML. Namespaces are ignored: AWS puts one xmlns on the root.
 */
#ifndef DORM_AWS_XML_H
#define DORM_AWS_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "dorm/status.h"

#define DORM_XML_MAX_TEXT (64 * 1024) /* longest element text kept */

/* Finds the text of each of n paths ("A/B/C", element names from the root,
 * '/'-separated) in body. values[i] receives a malloc'ed copy of the first
 * match's text (NULL when absent); the caller frees them (dorm__xml_free_values,
 * which wipes them: they may be secrets). Returns DORM_ERR_BAD_RESPONSE with
 * "not well-formed XML (line L: reason)" or "XML with a DOCTYPE is refused"
 * in errbuf, or DORM_ERR_NO_MEMORY; on failure every values[i] is NULL. */
dorm_status dorm__xml_find(const char *body, size_t len, const char *const *paths, size_t n,
                          char **values, char *errbuf, size_t errcap);

void dorm__xml_free_values(char **values, size_t n);

#endif
