/* DORM__HOT: the per-request code's section (see the comment below).
 * Its own header so that core files which need nothing else of buf.h
 * (arena.c, civil.c, number.c) can mark their per-request functions. */
#ifndef DORM_CORE_HOT_H
#define DORM_CORE_HOT_H

/* Marks a function every request runs (signing, the transport's steps, the
 * writer of an item): placed in .text.hot.dorm, which the linker gathers with
 * the other .text.hot sections, so a request that starts with caches and TLB
 * emptied by the wait for its response touches a few code pages of libdorm
 * rather than one or two in each file (bench/notes/get-put.md, "Session 11").
 * Placement only: GCC's hot attribute would also optimise these functions
 * differently (SigV4's grew by 0.6 KB, five more lines fetched per request). */
#if defined(__GNUC__) && defined(__ELF__)
#define DORM__HOT __attribute__((section(".text.hot.dorm")))
#else
#define DORM__HOT
#endif

#endif
