// Memory-management values older libc headers lack (Linux 5.14: the
// MADV_POPULATE_* advice; 4.4: MLOCK_ONFAULT). The one place they are
// defined: the loaders use them, `faultline trace` names them.
#pragma once

#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
