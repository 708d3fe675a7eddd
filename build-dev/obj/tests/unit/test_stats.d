build-dev/obj/tests/unit/test_stats.o: tests/unit/test_stats.c \
 metrics/metrics.h
metrics/metrics.h:
