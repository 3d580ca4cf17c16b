# 64-bit atomics on shared memory (GCC builtins) and the monotonic clock every process shares.

from libc.stdint cimport int64_t, uint64_t

cdef extern from *:
    """
    #include <stdint.h>
    #include <time.h>
    static inline int64_t aigw_load(int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
    static inline void aigw_store(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
    static inline int aigw_cas(int64_t *p, int64_t expected, int64_t desired) {
        return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    static inline int64_t aigw_add(int64_t *p, int64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
    static inline int64_t aigw_now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    static inline int64_t aigw_wall_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec;
    }
    """
    int64_t aigw_load(int64_t *p) nogil
    void aigw_store(int64_t *p, int64_t v) nogil
    bint aigw_cas(int64_t *p, int64_t expected, int64_t desired) nogil
    int64_t aigw_add(int64_t *p, int64_t v) nogil
    int64_t aigw_now_ns() nogil
    int64_t aigw_wall_s() nogil


def now_ns():
    """The clock GCRA runs on: CLOCK_MONOTONIC, shared by every process of the host."""
    return aigw_now_ns()
