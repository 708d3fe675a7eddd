build-dev/obj/tests/unit/test_ring.o: tests/unit/test_ring.c \
 metrics/metrics.h
metrics/metrics.h:
