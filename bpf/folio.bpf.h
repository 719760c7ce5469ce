/* Folios on whatever kernel runs: where the order lives moved across 6.x,
 * so every field is guarded by a CO-RE existence check (the relocation is
 * resolved against the running kernel's BTF at load time):
 *   6.15+ (64-bit): folio->_nr_pages holds the page count of a large folio;
 *   6.6+:           the order is the low byte of folio->_flags_1;
 *   6.1-6.5:        folio->_folio_order;
 *   older:          page[1].compound_order.
 * A folio is large when PG_head is set in its flags (memdesc_flags_t in
 * 6.18, a plain unsigned long before: the first word either way). */
#ifndef FAULTLINE_BPF_FOLIO_BPF_H
#define FAULTLINE_BPF_FOLIO_BPF_H

#include "bpf/common.bpf.h"

struct folio___nr {
  unsigned int _nr_pages;
} __attribute__((preserve_access_index));

struct folio___f1 {
  unsigned long _flags_1;
} __attribute__((preserve_access_index));

struct folio___v61 {
  unsigned char _folio_order;
} __attribute__((preserve_access_index));

struct page___v5 {
  unsigned char compound_order;
} __attribute__((preserve_access_index));

struct page___head {
  unsigned long compound_head;
} __attribute__((preserve_access_index));

static __always_inline unsigned long folio_flags_word(struct folio *folio)
{
  unsigned long flags = 0;
  bpf_probe_read_kernel(&flags, sizeof(flags), &folio->flags);
  return flags;
}

static __always_inline __u32 folio_order_of(struct folio *folio)
{
  if (!(folio_flags_word(folio) & (1UL << bpf_core_enum_value(enum pageflags, PG_head))))
    return 0;
  struct folio___nr *nr_folio = (void *)folio;
  if (bpf_core_field_exists(nr_folio->_nr_pages)) {
    unsigned int nr = 0;
    bpf_probe_read_kernel(&nr, sizeof(nr), &nr_folio->_nr_pages);
    return nr > 1 ? log2_u64(nr) : 0;
  }
  struct folio___f1 *f1 = (void *)folio;
  if (bpf_core_field_exists(f1->_flags_1)) {
    unsigned long flags1 = 0;
    bpf_probe_read_kernel(&flags1, sizeof(flags1), &f1->_flags_1);
    return flags1 & 0xff;
  }
  struct folio___v61 *old = (void *)folio;
  if (bpf_core_field_exists(old->_folio_order)) {
    unsigned char order = 0;
    bpf_probe_read_kernel(&order, sizeof(order), &old->_folio_order);
    return order;
  }
  /* The first tail page, right after the head. */
  struct page___v5 *tail = (void *)((char *)folio + bpf_core_type_size(struct page));
  if (bpf_core_field_exists(tail->compound_order)) {
    unsigned char order = 0;
    bpf_probe_read_kernel(&order, sizeof(order), &tail->compound_order);
    return order;
  }
  return 0;
}

/* The folio a page belongs to: a tail page has bit 0 of compound_head set
 * and the head's address in the rest. */
static __always_inline struct folio *page_folio_of(struct page *page)
{
  struct page___head *p = (void *)page;
  if (bpf_core_field_exists(p->compound_head)) {
    unsigned long head = 0;
    bpf_probe_read_kernel(&head, sizeof(head), &p->compound_head);
    if (head & 1)
      return (struct folio *)(head - 1);
  }
  return (struct folio *)page;
}

#endif /* FAULTLINE_BPF_FOLIO_BPF_H */
