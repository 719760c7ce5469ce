/* "Never used" page bitmaps of the traced files (track_unused; one slice
 * per file, sized from its size at load, see struct fl_file):
 *   unused_bits  a page added to the page cache while tracing, not used since;
 *   member_bits  a page of a folio added while tracing (cleared at eviction);
 *   start_bits   the first page of such a folio;
 *   pmd_bits     one bit per 512 pages: a PMD-sized folio added while tracing.
 * Adds set bits with fetch_or and count the newly set ones (a SWAR popcount
 * of the old value): gate->unused_pages stays an exact running count, no
 * scan needed. Accesses clear bits with fetch_and: ranges of any length go
 * word by word through bpf_loop. Eviction counts what is still set as
 * "never used, already evicted". member/start bits give the folio around a
 * page, for fault-around, which maps whole large folios. */
#ifndef FAULTLINE_BPF_UNUSED_BPF_H
#define FAULTLINE_BPF_UNUSED_BPF_H

#include "bpf/common.bpf.h"

#define FL_BITMAP(name)                 \
  struct {                              \
    __uint(type, BPF_MAP_TYPE_ARRAY);   \
    __uint(max_entries, 1);             \
    __type(key, __u32);                 \
    __type(value, __u64);               \
  } name SEC(".maps")

FL_BITMAP(unused_bits);
FL_BITMAP(member_bits);
FL_BITMAP(start_bits);
FL_BITMAP(pmd_bits);

static __always_inline __u32 popcount64(__u64 x)
{
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return (x * 0x0101010101010101ULL) >> 56;
}

/* Bits [lo, hi] of word w (pages w*64 .. w*64+63), as a mask. */
static __always_inline __u64 word_mask(__u64 w, __u64 lo, __u64 hi)
{
  __u64 first = lo > w * 64 ? lo - w * 64 : 0;
  __u64 last = hi < w * 64 + 63 ? hi - w * 64 : 63;
  if (first > 63 || last > 63 || first > last)
    return 0;
  return (~0ULL >> (63 - last)) & (~0ULL << first);
}

static __always_inline __u64 *bitmap_word(void *map, __u32 key)
{
  return bpf_map_lookup_elem(map, &key);
}

static __always_inline void gate_add_unused(__s64 delta)
{
  struct fl_gate *g = gate_get();
  if (g && delta)
    __sync_fetch_and_add(&g->unused_pages, delta);
}

static __always_inline bool unused_pending(void)
{
  struct fl_gate *g = gate_get();
  return g && g->unused_pages > 0;
}

/* The heavy parts are global (non-inlined) functions taking scalars: the
 * verifier checks each once, whatever calls it, instead of once per
 * caller state (inlined, the fault-around program alone went past its 1M
 * instruction limit). */

struct range_ctx {
  __u32 base;     /* the file's first word */
  __u32 set;      /* 1: set (add), 0: clear (access) */
  __u64 lo, hi;   /* pages, inclusive, within the file */
  __u64 changed;  /* bits that changed in unused_bits */
};

static long range_word_cb(__u32 i, struct range_ctx *c)
{
  __u64 w = c->lo / 64 + i;
  if (w * 64 > c->hi)
    return 1;
  __u64 mask = word_mask(w, c->lo, c->hi);
  __u64 *u = bitmap_word(&unused_bits, c->base + w);
  if (!u || !mask)
    return 0;
  if (c->set) {
    __u64 old = __sync_fetch_and_or(u, mask);
    c->changed += popcount64(mask & ~old);
    __u64 *m = bitmap_word(&member_bits, c->base + w);
    if (m)
      __sync_fetch_and_or(m, mask);
  } else if (*u & mask) {
    __u64 old = __sync_fetch_and_and(u, ~mask);
    c->changed += popcount64(old & mask);
  }
  return 0;
}

/* Sets (set=1) or clears the unused bits of pages [lo, hi] of the file
 * whose slice starts at word `base`; returns how many changed. Pages past
 * the slice are left out. */
__attribute__((noinline)) __u64 fl_unused_range(__u32 base, __u64 pages, __u64 lo, __u64 hi,
                                               __u32 set)
{
  if (lo > hi || lo >= pages)
    return 0;
  if (hi >= pages)
    hi = pages - 1;
  struct range_ctx c = {.base = base, .set = set, .lo = lo, .hi = hi};
  bpf_loop(hi / 64 - lo / 64 + 1, range_word_cb, &c, 0);
  return c.changed;
}

static __always_inline bool test_bit(void *map, __u32 base, __u64 page)
{
  __u64 *w = bitmap_word(map, base + page / 64);
  return w && (*w >> (page % 64)) & 1;
}

struct folio_scan {
  __u32 base;
  __u64 page;   /* where the scan starts */
  __u64 limit;  /* the other end of its 512 block */
  __u64 found;  /* result */
};

/* Backwards from page: the nearest start bit, down to limit. */
static long first_cb(__u32 i, struct folio_scan *c)
{
  __u64 w = c->page / 64 - i;
  if (w * 64 + 63 < c->limit)
    return 1;
  __u64 *s = bitmap_word(&start_bits, c->base + w);
  if (!s)
    return 1;
  __u64 bits = *s & word_mask(w, c->limit, c->page);
  if (bits) {
    c->found = w * 64 + log2_u64(bits);
    return 1;
  }
  return 0;
}

/* Forwards from page: the first start bit or page of no traced folio, up to
 * limit; found = the page before it. */
static long last_cb(__u32 i, struct folio_scan *c)
{
  __u64 w = c->page / 64 + i;
  if (w * 64 > c->limit)
    return 1;
  __u64 *s = bitmap_word(&start_bits, c->base + w);
  __u64 *m = bitmap_word(&member_bits, c->base + w);
  if (!s || !m)
    return 1;
  __u64 bits = (*s | ~*m) & word_mask(w, c->page, c->limit);
  if (bits) {
    c->found = w * 64 + log2_u64(bits & -bits) - 1;
    return 1;
  }
  return 0;
}

/* The first page of the traced folio holding `page` (page itself when it is
 * not in one): the nearest start bit at or before it, in its 512 block. */
__attribute__((noinline)) __u64 fl_folio_first(__u32 base, __u64 pages, __u64 page)
{
  if (page >= pages || !test_bit(&member_bits, base, page))
    return page;
  struct folio_scan c = {
      .base = base, .page = page, .limit = page & ~(__u64)(FL_PMD_PAGES - 1), .found = page};
  bpf_loop(FL_PMD_PAGES / 64, first_cb, &c, 0);
  return c.found;
}

/* The last page of the traced folio holding `page`: before the next start
 * bit or the next page outside any traced folio, in its 512 block. */
__attribute__((noinline)) __u64 fl_folio_last(__u32 base, __u64 pages, __u64 page)
{
  if (page >= pages || !test_bit(&member_bits, base, page))
    return page;
  __u64 end = page | (FL_PMD_PAGES - 1);
  if (end >= pages)
    end = pages - 1;
  if (page >= end)
    return page;
  struct folio_scan c = {.base = base, .page = page + 1, .limit = end, .found = end};
  bpf_loop(FL_PMD_PAGES / 64, last_cb, &c, 0);
  return c.found;
}

static __always_inline void pmd_bit(__u32 pmd_word, __u64 index, bool set)
{
  __u64 *p = bitmap_word(&pmd_bits, pmd_word + index / FL_PMD_PAGES / 64);
  __u64 bit = 1ULL << ((index / FL_PMD_PAGES) % 64);
  struct fl_gate *g = gate_get();
  if (!p || !g)
    return;
  if (set && !(__sync_fetch_and_or(p, bit) & bit))
    __sync_fetch_and_add(&g->pmd_folios, 1);
  if (!set && (__sync_fetch_and_and(p, ~bit) & bit))
    __sync_fetch_and_add(&g->pmd_folios, -1);
}

/* A folio entered the page cache: its pages become unused and members of a
 * traced folio starting at index; returns how many became unused. */
__attribute__((noinline)) __u64 fl_unused_add(__u32 base, __u32 pmd_word, __u64 pages,
                                             __u64 index, __u64 nr)
{
  if (index >= pages)
    return 0;
  __u64 *s = bitmap_word(&start_bits, base + index / 64);
  if (s)
    __sync_fetch_and_or(s, 1ULL << (index % 64));
  if (nr == FL_PMD_PAGES)
    pmd_bit(pmd_word, index, true);
  return fl_unused_range(base, pages, index, index + nr - 1, 1);
}

static long member_clear_cb(__u32 i, struct range_ctx *c)
{
  __u64 w = c->lo / 64 + i;
  if (w * 64 > c->hi)
    return 1;
  __u64 *m = bitmap_word(&member_bits, c->base + w);
  if (m)
    __sync_fetch_and_and(m, ~word_mask(w, c->lo, c->hi));
  return 0;
}

/* A folio left the page cache: returns how many of its pages were still
 * unused (never used), and forgets it. */
__attribute__((noinline)) __u64 fl_unused_evict(__u32 base, __u32 pmd_word, __u64 pages,
                                               __u64 index, __u64 nr)
{
  if (index >= pages)
    return 0;
  __u64 n = fl_unused_range(base, pages, index, index + nr - 1, 0);
  struct range_ctx c = {.base = base, .lo = index, .hi = index + nr - 1 < pages ? index + nr - 1 : pages - 1};
  bpf_loop(c.hi / 64 - c.lo / 64 + 1, member_clear_cb, &c, 0);
  __u64 *s = bitmap_word(&start_bits, base + index / 64);
  if (s)
    __sync_fetch_and_and(s, ~(1ULL << (index % 64)));
  if (nr == FL_PMD_PAGES)
    pmd_bit(pmd_word, index, false);
  return n;
}

/* ---- what the programs call ------------------------------------------------ */

/* Pages [lo, hi] used: clear them, keep the running count. */
static __always_inline void unused_clear(struct fl_file *file, __u64 lo, __u64 hi)
{
  __u64 n = fl_unused_range(file->word, file->pages, lo, hi, 0);
  if (n)
    gate_add_unused(-(__s64)n);
}

static __always_inline __u64 folio_first(struct fl_file *file, __u64 page)
{
  return fl_folio_first(file->word, file->pages, page);
}

static __always_inline __u64 folio_last(struct fl_file *file, __u64 page)
{
  return fl_folio_last(file->word, file->pages, page);
}

/* A folio of a traced file entered the page cache: its pages are unused
 * except [skip_lo, skip_hi] (the page a fault is being served for). */
static __always_inline void unused_add_folio(struct fl_file *file, __u64 index, __u64 nr,
                                             __u64 skip_lo, __u64 skip_hi)
{
  if (index + nr > file->pages)
    count(FL_UNUSED_BEYOND, index >= file->pages ? nr : index + nr - file->pages);
  __s64 n = fl_unused_add(file->word, file->pmd_word, file->pages, index, nr);
  if (skip_lo <= skip_hi)
    n -= fl_unused_range(file->word, file->pages, skip_lo, skip_hi, 0);
  gate_add_unused(n);
}

/* A folio of a traced file left the page cache: what is still unused was
 * never used. */
static __always_inline void unused_evict_folio(struct fl_file *file, __u64 index, __u64 nr)
{
  __u64 n = fl_unused_evict(file->word, file->pmd_word, file->pages, index, nr);
  if (n) {
    gate_add_unused(-(__s64)n);
    count(FL_UNUSED_EVICTED, n);
  }
}

/* Whether the 512-page block holding `page` is a PMD-sized folio added
 * while tracing. */
static __always_inline bool pmd_folio_at(struct fl_file *file, __u64 page)
{
  if (page >= file->pages)
    return false;
  __u64 block = page / FL_PMD_PAGES;
  __u64 *p = bitmap_word(&pmd_bits, file->pmd_word + block / 64);
  return p && (*p >> (block % 64)) & 1;
}

/* The page `address` maps in the cached VMA (fl_vma_cache) and whether the
 * 2 MiB around it can be one PMD there: file offset and address congruent
 * modulo 2 MiB, the 2 MiB inside the VMA, no MADV_NOHUGEPAGE, and not a
 * write to a private mapping (that copies one page). False when the cache
 * does not cover the address or is not a traced file's mapping. */
static __always_inline bool vma_cache_page(const struct fl_vma_cache *v, __u64 address,
                                           __u32 write, __u64 *index, bool *pmd_ok)
{
  if (!(v->flags & FL_VC_VALID) || !(v->flags & FL_VC_TRACED) || address < v->start ||
      address >= v->end)
    return false;
  *index = v->pgoff + ((address - v->start) >> 12);
  __u64 huge = address & ~((__u64)FL_PMD_PAGES * 4096 - 1);
  *pmd_ok = ((v->start >> 12) - v->pgoff) % FL_PMD_PAGES == 0 && huge >= v->start &&
            huge + FL_PMD_PAGES * 4096 <= v->end && !(v->flags & FL_VC_NOHUGE) &&
            !(write && !(v->flags & FL_VC_SHARED));
  return true;
}

#endif /* FAULTLINE_BPF_UNUSED_BPF_H */
