/* The streamer layer's boundary (runtime/src/streamer/): JWT verification,
 * payload codecs, the protocol, router, processor, delivery and the local
 * WebSocket server (dorm/streamer.h is its public face). The top layer:
 * nothing in libdorm includes this header but the streamer's own files and
 * its tests. */
#ifndef DORM_STREAMER_INTERNAL_H
#define DORM_STREAMER_INTERNAL_H

#include "dorm/streamer.h"
#include "model_internal.h"

#endif
