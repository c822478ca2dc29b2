/* group: group commit of the streamer's transactional writes (a request's
 * creation, a job's end).
 *
 * Many threads each have a write that must be all or nothing on its own
 * (its own condition); DynamoDB Local, and this server's CPU, pay per call
 * rather than per item (bench/notes/streamer.md, "Fourth round": TransactWriteItems
 * of 25 conditional puts stored 3-6x more items a second than one put
 * each). So a thread joins its group with its actions built; whichever
 * thread finds fewer than the group's leaders in flight leads: it gathers
 * for up to DORM__ST_GATHER_US while another commit is in flight (more are
 * coming), takes queued members while their actions fit in one transaction
 * (DORM_TX_MAX_ACTIONS, a byte budget under DynamoDB's 4 MB, never one item
 * twice) and commits them in one TransactWriteItems. A group with
 * busy_gather_us (job ends) also gathers that long while DORM__ST_BUSY_JOBS
 * or more jobs run here, with nothing in flight: under load its members come
 * a few milliseconds apart, each alone long enough for the next to miss it.
 *
 * A transaction is all or nothing: when it fails (a condition of one of
 * them, a conflict, an error), every member writes alone, exactly as it
 * would have without the group, so each sees its own outcome and its own
 * error. With nothing else going on a member goes alone at once, without
 * waiting for anybody. The members' actions live in their own arenas: they
 * wait (blocked here) while a leader uses them. The streamer's models have
 * no encrypted fields, so the actions go out as built (dorm_transact_write,
 * no sealing step). */
#include "streamer_internal.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

static bool may_lead(const dorm__st_group *g) { return g->head && g->flushing < g->leaders && !g->gathering; }

static void wake_next(dorm__st_group *g) {
  if (may_lead(g)) pthread_cond_signal(&g->head->cv);
}

/* Whether m may join the members taken so far (one item twice fails a
 * transaction; DynamoDB's action and size limits). */
static bool fits(dorm__st_member *const *taken, size_t n, size_t actions, size_t bytes, const dorm__st_member *m,
                 const dorm__st_group *g) {
  if (actions + m->n > DORM_TX_MAX_ACTIONS || bytes + m->bytes > g->max_bytes) return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(taken[i]->key, m->key) == 0) return false;
  return true;
}

/* The leader's part (g->mu held on entry and on return, released while the
 * transaction is in flight). */
static bool busy(const dorm__st_group *g) { return g->busy_gather_us > 0 && dorm__st_jobs_running() >= DORM__ST_BUSY_JOBS; }

static void flush(dorm__st_group *g, dorm_client *c) {
  long us = g->flushing > 0 ? DORM__ST_GATHER_US : busy(g) ? g->busy_gather_us : 0;
  if (us > 0 && g->len < DORM_TX_MAX_ACTIONS) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += us / 1000000;
    until.tv_nsec += (us % 1000000) * 1000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    g->gathering = true;
    pthread_cond_t nap; /* a timed nap: the queue is looked at after it */
    pthread_condattr_t at;
    pthread_condattr_init(&at);
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    pthread_cond_init(&nap, &at);
    pthread_condattr_destroy(&at);
    while (pthread_cond_timedwait(&nap, &g->mu, &until) == 0) {
    }
    pthread_cond_destroy(&nap);
    g->gathering = false;
  }
  dorm__st_member *taken[DORM_TX_MAX_ACTIONS];
  size_t n = 0, actions = 0, bytes = 0;
  while (g->head && n < DORM_TX_MAX_ACTIONS && fits(taken, n, actions, bytes, g->head, g)) {
    dorm__st_member *m = g->head;
    g->head = m->next;
    if (!g->head) g->tail = NULL;
    g->len--;
    m->state = DORM__ST_MEMBER_TAKEN;
    taken[n++] = m;
    actions += m->n;
    bytes += m->bytes;
  }
  g->flushing++;
  wake_next(g);
  pthread_mutex_unlock(&g->mu);
  bool ok = false;
  if (n > 1) {
    dorm_tx_write all[DORM_TX_MAX_ACTIONS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      memcpy(all + k, taken[i]->actions, taken[i]->n * sizeof *all);
      k += taken[i]->n;
    }
    ok = dorm_transact_write(c, all, k, NULL, NULL) == DORM_OK;
  }
  pthread_mutex_lock(&g->mu);
  if (ok) {
    g->calls++;
    g->members += n;
  }
  for (size_t i = 0; i < n; i++) {
    taken[i]->state = ok ? DORM__ST_MEMBER_DONE : DORM__ST_MEMBER_ALONE;
    pthread_cond_signal(&taken[i]->cv);
  }
  g->flushing--;
  wake_next(g);
}

bool dorm__st_group_commit(dorm__st_group *g, dorm_client *c, dorm__st_member *me) {
  me->next = NULL;
  me->state = DORM__ST_MEMBER_QUEUED;
  me->alone_in_flight = false;
  if (me->n == 0 || me->n > DORM_TX_MAX_ACTIONS || me->bytes > g->max_bytes / 4) {
    me->state = DORM__ST_MEMBER_ALONE; /* too big to share a transaction */
    return false;
  }
  pthread_cond_init(&me->cv, NULL);
  pthread_mutex_lock(&g->mu);
  if (g->tail) g->tail->next = me;
  else g->head = me;
  g->tail = me;
  g->len++;
  while (me->state == DORM__ST_MEMBER_QUEUED || me->state == DORM__ST_MEMBER_TAKEN) {
    if (me->state == DORM__ST_MEMBER_QUEUED && may_lead(g) && (g->len > 1 || g->flushing > 0 || busy(g)))
      flush(g, c);
    else if (me->state == DORM__ST_MEMBER_QUEUED && g->head == me && g->len == 1 && g->flushing == 0) {
      /* nothing else going on: this thread writes alone, at once; counted
       * in flight, so that who comes meanwhile gathers */
      g->head = g->tail = NULL;
      g->len = 0;
      me->state = DORM__ST_MEMBER_ALONE;
      g->flushing++;
      me->alone_in_flight = true;
    } else
      pthread_cond_wait(&me->cv, &g->mu);
  }
  pthread_mutex_unlock(&g->mu);
  pthread_cond_destroy(&me->cv);
  return me->state == DORM__ST_MEMBER_DONE;
}

void dorm__st_group_alone_done(dorm__st_group *g, dorm__st_member *me, bool written) {
  pthread_mutex_lock(&g->mu);
  if (written) {
    g->calls++;
    g->members++;
  }
  if (me->alone_in_flight) {
    me->alone_in_flight = false;
    g->flushing--;
    wake_next(g);
  }
  pthread_mutex_unlock(&g->mu);
}

void dorm__st_group_counts(dorm__st_group *g, size_t *calls, size_t *members) {
  pthread_mutex_lock(&g->mu);
  if (calls) *calls = g->calls;
  if (members) *members = g->members;
  pthread_mutex_unlock(&g->mu);
}
